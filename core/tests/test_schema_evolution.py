"""Documents saved by older versions of a block class still load."""

from __future__ import annotations

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
    from headwater.blocks.store import read_document

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
