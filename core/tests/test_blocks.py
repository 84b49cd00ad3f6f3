from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
from blockdefs import Warehouse, WarehouseCredentials
from conftest import run_python
from headwater import Block, LocalFileSystem, Secret, SecretStr
from headwater.errors import (
    BlockExistsError,
    BlockNotFoundError,
    BlockValidationError,
    InvalidBlockNameError,
    StoreError,
)
from pydantic import Field


def make_warehouse(password: str = "pw-hunter2-xyz") -> Warehouse:
    return Warehouse(host="db.local", credentials=WarehouseCredentials(username="ann", password=password))


def test_slug_from_class_name_and_override():
    class S3Bucket(Block):
        pass

    class AWSThing(Block):
        _block_type_slug = "custom-slug"

    assert S3Bucket.get_block_type_slug() == "s3-bucket"
    assert WarehouseCredentials.get_block_type_slug() == "warehouse-credentials"
    assert AWSThing.get_block_type_slug() == "custom-slug"


def test_save_and_load_round_trip_with_nested_secrets():
    wh = make_warehouse()
    wh.extra = {"token": "tok-abcdef-123"}
    wh.save("prod")
    loaded = Warehouse.load("prod")
    assert loaded == wh
    assert loaded.credentials.password.get_secret_value() == "pw-hunter2-xyz"
    assert loaded.extra.get_secret_value() == {"token": "tok-abcdef-123"}
    assert loaded.block_document_name == "prod"


def test_load_by_slug_and_name_on_base_class_and_bare_name():
    make_warehouse().save("prod")
    assert isinstance(Block.load("warehouse/prod"), Warehouse)
    assert isinstance(Block.load("prod"), Warehouse)


def test_bare_name_ambiguous_between_types_says_how_to_disambiguate():
    make_warehouse().save("prod")
    Secret(value="abcd1234").save("prod")
    with pytest.raises(BlockNotFoundError, match=r"ambiguous.*secret/prod.*warehouse/prod"):
        Block.load("prod")


def test_saving_over_existing_name_needs_overwrite():
    make_warehouse().save("prod")
    with pytest.raises(BlockExistsError, match="warehouse/prod"):
        make_warehouse("other-password").save("prod")
    make_warehouse("other-password").save("prod", overwrite=True)
    assert Warehouse.load("prod").credentials.password.get_secret_value() == "other-password"


def test_missing_block_error_says_how_to_create():
    with pytest.raises(BlockNotFoundError, match="headwater block create"):
        Warehouse.load("nope")


@pytest.mark.parametrize("name", ["", "a/b", "has space", "-lead", "x" * 200, None])
def test_invalid_names_are_rejected_before_anything_is_written(name, headwater_home):
    with pytest.raises(InvalidBlockNameError):
        make_warehouse().save(name)
    from headwater.blocks.persistence import list_documents

    assert list_documents() == []


def test_saved_nested_block_is_stored_as_reference_and_resolved_at_load(headwater_home):
    creds = WarehouseCredentials(username="ann", password="first-password")
    creds.save("ann")
    Warehouse(host="h", credentials=creds).save("prod")
    doc = json.loads(_row(headwater_home, "prod")["data"])
    assert doc["credentials"] == {"$ref": {"slug": "warehouse-credentials", "name": "ann"}}
    # updating the referenced block changes what the parent loads
    WarehouseCredentials(username="ann", password="rotated-password").save("ann", overwrite=True)
    assert Warehouse.load("prod").credentials.password.get_secret_value() == "rotated-password"


def test_unsaved_nested_block_is_embedded(headwater_home):
    make_warehouse().save("prod")
    doc = json.loads(_row(headwater_home, "prod")["data"])
    assert doc["credentials"]["$block"] == "warehouse-credentials"
    assert doc["credentials"]["data"]["password"] == {"$secret": "str"}


def test_delete_removes_document_and_secrets(headwater_home):
    make_warehouse().save("prod")
    Warehouse.delete("prod")
    with pytest.raises(BlockNotFoundError):
        Warehouse.load("prod")
    con = sqlite3.connect(headwater_home / "headwater.db")
    assert con.execute("SELECT COUNT(*) FROM block_secrets").fetchone()[0] == 0


def test_validation_error_does_not_echo_secret_input():
    with pytest.raises(BlockValidationError) as info:
        WarehouseCredentials(username="ann", password=["s3cr3t-in-a-list"])
    assert "s3cr3t-in-a-list" not in str(info.value)
    assert "password" in str(info.value)


def test_async_twins():
    async def go():
        await make_warehouse().asave("a")
        return await Warehouse.aload("a")

    assert asyncio.run(go()).host == "db.local"


def test_user_defined_block_loads_in_another_process_defining_the_same_class():
    run_python(
        "from headwater import Block, SecretStr\n"
        "from pydantic import Field\n"
        "class Notifier(Block):\n"
        "    url: str = Field(description='u')\n"
        "    token: SecretStr = Field(description='t')\n"
        "Notifier(url='http://x', token='tok-987654').save('ops')\n"
    )
    out = run_python(
        "from headwater import Block, SecretStr\n"
        "from pydantic import Field\n"
        "class Notifier(Block):\n"
        "    url: str = Field(description='u')\n"
        "    token: SecretStr = Field(description='t')\n"
        "n = Notifier.load('ops'); print(n.url, n.token.get_secret_value())\n"
    )
    assert out.stdout.split() == ["http://x", "tok-987654"]


def test_loading_user_block_without_its_class_says_what_to_do():
    run_python(
        "from headwater import Block\nfrom pydantic import Field\n"
        "class Gadget(Block):\n    size: int = Field(description='s')\n"
        "Gadget(size=3).save('g')\n"
    )
    proc = run_python("from headwater import Block\nBlock.load('gadget/g')\n", check=False)
    assert proc.returncode != 0
    assert "define that class before loading" in proc.stderr


def test_corrupted_document_is_reported_not_half_loaded(headwater_home):
    make_warehouse().save("prod")
    con = sqlite3.connect(headwater_home / "headwater.db")
    con.execute("UPDATE block_documents SET data = replace(data, 'db.local', 'evil.host')")
    con.commit()
    with pytest.raises(StoreError, match="corrupted"):
        Warehouse.load("prod")


def test_secret_block_string_and_json():
    Secret(value="plain-secret-1").save("s1")
    Secret(value={"user": "u", "password": "p4ssw0rd!"}).save("s2")
    assert Secret.load("s1").get() == "plain-secret-1"
    assert Secret.load("s2").get() == {"user": "u", "password": "p4ssw0rd!"}
    assert "p4ssw0rd!" not in repr(Secret.load("s2"))


def test_model_dump_masks_secrets_unless_asked():
    wh = make_warehouse()
    assert "pw-hunter2-xyz" not in wh.model_dump_json()
    assert "pw-hunter2-xyz" not in str(wh.model_dump())


def test_check_default_and_local_filesystem_check(tmp_path):
    with pytest.raises(NotImplementedError):
        make_warehouse().check()
    LocalFileSystem(basepath=str(tmp_path)).check()


def test_secret_field_typed_as_str_is_flagged_by_conformance_suite():
    from headwater.testing.conformance import BlockConformanceSuite

    class Leaky(Block):
        api_token: str = Field(description="oops")

    suite = type("T", (BlockConformanceSuite,), {"block_cls": Leaky})()
    with pytest.raises(AssertionError, match="api_token"):
        suite.test_secret_looking_fields_are_secret_types()


def _row(home, name):
    con = sqlite3.connect(home / "headwater.db")
    con.row_factory = sqlite3.Row
    return dict(con.execute("SELECT * FROM block_documents WHERE name = ?", (name,)).fetchone())




def test_a_user_class_sharing_a_plugin_slug_does_not_shadow_the_plugin_type():
    from headwater.plugins import block_type_registry

    assert block_type_registry()["local-file-system"].cls is LocalFileSystem

    class LocalFileSystem_(Block):  # noqa: N801 - same slug as core's type, on purpose
        _block_type_slug = "local-file-system"

    assert block_type_registry()["local-file-system"].cls is LocalFileSystem
    LocalFileSystem(basepath="/tmp").save("lfs")
    assert type(Block.load("local-file-system/lfs")) is LocalFileSystem


def test_loading_a_block_whose_reference_was_deleted_names_the_referring_block():
    from headwater.errors import BlockNotFoundError

    creds = WarehouseCredentials(username="a", password="pw-deleted-ref")
    creds.save("gone")
    Warehouse(host="h", credentials=creds).save("parent")
    WarehouseCredentials.delete("gone", force=True)
    with pytest.raises(BlockNotFoundError) as info:
        Warehouse.load("parent")
    assert "warehouse/parent refers to 'warehouse-credentials/gone', which does not exist" in str(info.value).replace(
        "'warehouse/parent'", "warehouse/parent"
    )


def test_secret_marked_json_must_hold_json():
    from headwater.errors import BlockValidationError

    with pytest.raises(BlockValidationError, match="not valid JSON") as info:
        Secret(value="not json at all", is_json=True)
    assert "not json at all" not in str(info.value)
    assert Secret(value='{"a": 1}', is_json=True).get() == {"a": 1}
    bad = Secret.model_construct(value=SecretStr("still not json"), is_json=True)  # not validated
    bad._block_document_name = "legacy"
    with pytest.raises(BlockValidationError, match="secret/legacy has is_json=true"):
        bad.get()


def test_stored_secret_wrongly_marked_json_fails_to_load_clearly(headwater_home):
    from headwater.blocks.persistence import _checksum
    from headwater.errors import BlockValidationError

    Secret(value="plain-text-9191").save("legacy")
    con = sqlite3.connect(headwater_home / "headwater.db")
    text = con.execute("SELECT data FROM block_documents WHERE name = 'legacy'").fetchone()[0]
    text = text.replace('"is_json":false', '"is_json":true')
    con.execute("UPDATE block_documents SET data = ?, checksum = ? WHERE name = 'legacy'", (text, _checksum(text)))
    con.commit()
    con.close()
    with pytest.raises(BlockValidationError, match="secret/legacy.*not valid JSON") as info:
        Secret.load("legacy")
    assert "plain-text-9191" not in str(info.value)
