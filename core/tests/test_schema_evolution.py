"""Documents saved by older versions of a block class still load."""

from __future__ import annotations

import json
import warnings

import pytest
from conftest import run_python
from headwater import Block
from headwater.blocks import BlockSchemaWarning

OLD_CLASS = (
    "from headwater import Block, SecretStr\n"
    "from pydantic import Field\n"
    "class Endpoint(Block):\n"
    "    url: str = Field(description='u')\n"
    "    legacy_flag: bool = Field(default=True, description='removed later')\n"
    "    token: SecretStr = Field(description='t')\n"
    "Endpoint(url='http://old', token='tok-555555').save('e')\n"
)


def test_new_field_takes_default_and_removed_field_dropped_with_warning():
    run_python(OLD_CLASS)
    from headwater import SecretStr
    from pydantic import Field

    class Endpoint(Block):
        url: str = Field(description="u")
        timeout: int = Field(default=30, description="added later")
        token: SecretStr = Field(description="t")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = Endpoint.load("e")
    assert loaded.url == "http://old" and loaded.timeout == 30
    assert loaded.token.get_secret_value() == "tok-555555"
    messages = [str(w.message) for w in caught if issubclass(w.category, BlockSchemaWarning)]
    assert any("legacy_flag" in m for m in messages)


def test_declared_migration_upgrades_old_documents():
    run_python(OLD_CLASS)
    from headwater import SecretStr
    from pydantic import Field

    def v1_to_v2(data):
        data["endpoint_url"] = data.pop("url")
        data.pop("legacy_flag", None)
        return data

    class Endpoint(Block):
        _block_schema_version = 2
        _block_migrations = {1: v1_to_v2}
        endpoint_url: str = Field(description="renamed from url")
        token: SecretStr = Field(description="t")

    with warnings.catch_warnings():
        warnings.simplefilter("error", BlockSchemaWarning)
        loaded = Endpoint.load("e")
    assert loaded.endpoint_url == "http://old"
    loaded.save("e", overwrite=True)
    from headwater.blocks.persistence import read_document

    assert read_document("endpoint/e").schema_version == 2


def test_document_invalid_for_new_class_is_a_clear_error():
    run_python(OLD_CLASS)
    from headwater.errors import BlockValidationError
    from pydantic import Field

    class Endpoint(Block):
        url: int = Field(description="now an int")

    with pytest.raises(BlockValidationError, match="endpoint/e"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Endpoint.load("e")


def test_user_dict_keys_that_look_like_codec_markers_round_trip_exactly():
    from typing import Any

    from conftest import run_cli
    from pydantic import Field

    class JsonSchemaHolder(Block):
        schema_: dict[str, Any] = Field(description="a JSON schema")
        items: list[Any] = Field(default_factory=list, description="anything")

    value = {
        "properties": {"a": {"$ref": "#/definitions/A"}, "b": {"$ref": {"slug": "x", "name": "y"}}},
        "literal_secret": {"$secret": "str"},
        "literal_block": {"$block": "x", "data": {}},
        "$$double": 1, "$format": 2, "$secret": "not a marker either",
    }
    JsonSchemaHolder(schema_=value, items=[{"$secret": "json"}, {"$ref": "#"}]).save("js")
    loaded = JsonSchemaHolder.load("js")
    assert loaded.schema_ == value and loaded.items == [{"$secret": "json"}, {"$ref": "#"}]
    shown = json.loads(run_cli("block", "inspect", "json-schema-holder/js", "-o", "json").stdout)
    assert shown["fields"]["schema_"] == value


def test_documents_saved_before_keys_were_escaped_still_load(headwater_home):
    import sqlite3

    from blockdefs import Warehouse, WarehouseCredentials
    from headwater.blocks.persistence import _checksum

    Warehouse(host="h", credentials=WarehouseCredentials(username="ann", password="pw-old-format-1")).save("old")
    old_format = {  # exactly what the previous codec wrote (no "$format", no embedded "version")
        "host": "h", "port": 5432, "cert": None, "extra": None,
        "credentials": {"$block": "warehouse-credentials", "data": {"username": "ann", "password": {"$secret": "str"}}},
    }
    text = json.dumps(old_format, sort_keys=True, separators=(",", ":"))
    con = sqlite3.connect(headwater_home / "headwater.db")
    con.execute("UPDATE block_documents SET data = ?, checksum = ? WHERE name = 'old'", (text, _checksum(text)))
    con.commit()
    con.close()
    loaded = Warehouse.load("old")
    assert loaded.credentials.username == "ann"
    assert loaded.credentials.password.get_secret_value() == "pw-old-format-1"


NESTED_V1 = (
    "from headwater import Block\n"
    "from pydantic import Field\n"
    "class Conn(Block):\n"
    "    url: str = Field(description='u')\n"
    "class Job(Block):\n"
    "    conn: Conn = Field(description='c')\n"
    "Job(conn=Conn(url='http://127.0.0.1:9')).save('embedded')\n"
    "Conn(url='http://127.0.0.1:8').save('shared')\n"
    "Job(conn=Conn.load('shared')).save('by-ref')\n"
)


def test_nested_block_saved_inline_is_migrated_by_its_own_class():
    run_python(NESTED_V1)
    from pydantic import Field

    class Conn(Block):
        _block_schema_version = 2
        _block_migrations = {1: lambda d: {"endpoint_url": d.pop("url")}}
        endpoint_url: str = Field(description="renamed from url")

    class Job(Block):
        conn: Conn = Field(description="c")

    assert Job.load("embedded").conn.endpoint_url == "http://127.0.0.1:9"
    assert Job.load("by-ref").conn.endpoint_url == "http://127.0.0.1:8"
    Job.load("embedded").save("embedded", overwrite=True)
    assert Job.load("embedded").conn.endpoint_url == "http://127.0.0.1:9"


SECRET_V1 = (
    "from headwater import Block, SecretStr\n"
    "from pydantic import BaseModel, Field\n"
    "class Login(BaseModel):\n"
    "    token: SecretStr = Field(description='t')\n"
    "class Service(Block):\n"
    "    url: str = Field(description='u')\n"
    "    pw: SecretStr = Field(description='p')\n"
    "    login: Login = Field(description='l')\n"
    "Service(url='http://x', pw='pw-renamed-777', login=Login(token='tok-moved-888')).save('s')\n"
)


def test_migration_can_rename_a_secret_field_and_move_a_field_holding_secrets():
    run_python(SECRET_V1)
    from headwater import SecretStr
    from pydantic import BaseModel, Field

    class Login(BaseModel):
        token: SecretStr = Field(description="t")

    def v1_to_v2(data):
        data["password"] = data.pop("pw")
        data["credentials"] = data.pop("login")
        return data

    class Service(Block):
        _block_schema_version = 2
        _block_migrations = {1: v1_to_v2}
        url: str = Field(description="u")
        password: SecretStr = Field(description="renamed from pw")
        credentials: Login = Field(description="renamed from login")

    loaded = Service.load("s")
    assert loaded.password.get_secret_value() == "pw-renamed-777"
    assert loaded.credentials.token.get_secret_value() == "tok-moved-888"
    loaded.save("s", overwrite=True)
    from headwater.blocks.persistence import read_document

    assert read_document("service/s").secret_fields == ["credentials.token", "password"]
    again = Service.load("s")
    assert again.password.get_secret_value() == "pw-renamed-777"
    assert again.credentials.token.get_secret_value() == "tok-moved-888"


def test_a_migration_that_raises_is_a_headwater_error_naming_block_versions_and_cause():
    run_python(OLD_CLASS)
    from headwater.blocks import BlockMigrationError
    from headwater.errors import HeadwaterError
    from pydantic import Field

    class Endpoint(Block):
        _block_schema_version = 3
        _block_migrations = {2: lambda d: {"endpoint_url": d.pop("uri")}}
        endpoint_url: str = Field(description="u")

    with pytest.raises(BlockMigrationError) as info:
        Endpoint.load("e")
    message = str(info.value)
    assert isinstance(info.value, HeadwaterError)
    for part in ("endpoint/e", "Endpoint", "version 2 to 3", "KeyError", "uri"):
        assert part in message, message
