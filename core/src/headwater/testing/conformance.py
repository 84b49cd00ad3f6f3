"""``BlockConformanceSuite``: the checks every block type must pass.

Subclass it in a plugin's tests, once per block class::

    class TestS3Bucket(BlockConformanceSuite):
        block_cls = S3Bucket
        plugin_name = "aws"

        def make_block(self):
            return S3Bucket(bucket_name="b", credentials=AwsCredentials(aws_secret_access_key="s3cr3t-value"))

``make_block`` should set every secret field to a recognisable value, so that the suite can
check that none of them leaks.
"""

from __future__ import annotations

import re
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from headwater.blocks.core import Block
from headwater.blocks.types import SECRET_TYPES

__all__ = ["BlockConformanceSuite", "secret_values_of"]

_SECRET_NAME = re.compile(r"(password|passwd|secret|token|(^|_)key($|_)|private|credential_json)", re.I)
_NOT_SECRET = re.compile(r"(_id|_ids|_path|_file|_name|_arn|_url|_env|_kwargs|_folder)$", re.I)


def _annotation_mentions_secret(annotation: Any) -> bool:
    if annotation in SECRET_TYPES:
        return True
    return any(_annotation_mentions_secret(arg) for arg in typing.get_args(annotation))


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    found = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(annotation)
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _walk_classes(cls: type[BaseModel], seen: set[type]) -> list[type[BaseModel]]:
    if cls in seen:
        return []
    seen.add(cls)
    out = [cls]
    for field in cls.model_fields.values():
        for model in _models_in(field.annotation):
            out.extend(_walk_classes(model, seen))
    return out


def secret_values_of(model: BaseModel) -> list[str]:
    """Every secret plaintext inside ``model`` (nested models included), as strings."""
    values: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name, None)
        if isinstance(value, SECRET_TYPES):
            raw = value.get_secret_value()
            if isinstance(raw, dict):
                values.extend(str(v) for v in raw.values() if isinstance(v, str) and len(v) >= 4)
            elif isinstance(raw, bytes):
                values.append(raw.decode(errors="replace"))
            else:
                values.append(str(raw))
        elif isinstance(value, BaseModel):
            values.extend(secret_values_of(value))
    return [v for v in values if len(v) >= 4]


class BlockConformanceSuite:
    """Base class of per-block conformance tests (see the module docstring)."""

    block_cls: type[Block]
    plugin_name: str | None = None

    def make_block(self) -> Block:
        raise NotImplementedError("subclasses return a valid instance of block_cls")

    @pytest.fixture
    def _hw_home(self, headwater_home: Any) -> Any:
        return headwater_home

    def test_every_field_has_a_description(self) -> None:
        missing = [
            f"{cls.__name__}.{name}"
            for cls in _walk_classes(self.block_cls, set())
            for name, field in cls.model_fields.items()
            if not (field.description or "").strip()
        ]
        assert not missing, f"fields without Field(description=...): {missing}"

    def test_secret_looking_fields_are_secret_types(self) -> None:
        plain = [
            f"{cls.__name__}.{name}"
            for cls in _walk_classes(self.block_cls, set())
            for name, field in cls.model_fields.items()
            if _SECRET_NAME.search(name) and not _NOT_SECRET.search(name)
            and not _annotation_mentions_secret(field.annotation) and field.annotation is not bool
        ]
        assert not plain, f"fields that look secret but are not SecretStr/SecretBytes/SecretDict: {plain}"

    def test_slug_is_valid(self) -> None:
        slug = self.block_cls.get_block_type_slug()
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug), slug

    def test_schema_is_stable(self) -> None:
        first = self.block_cls.schema_checksum()
        assert first.startswith("sha256:")
        assert self.block_cls.model_json_schema() == self.block_cls.model_json_schema()

    def test_registered_by_its_plugin(self) -> None:
        if self.plugin_name is None:
            pytest.skip("plugin_name not set: this block is not provided by a plugin")
        from headwater.plugins import block_type_registry

        info = block_type_registry().get(self.block_cls.get_block_type_slug())
        assert info is not None, "block type is not registered by any loaded plugin"
        assert info.plugin == self.plugin_name
        assert info.cls is self.block_cls

    def test_round_trip(self, _hw_home: Any) -> None:
        block = self.make_block()
        block.save("conformance")
        loaded = type(block).load("conformance")
        assert loaded == block
        again = Block.load(f"{self.block_cls.get_block_type_slug()}/conformance")
        assert type(again) is type(block) and again == block

    def test_secrets_never_reach_the_store_or_repr(self, _hw_home: Any) -> None:
        block = self.make_block()
        secrets = secret_values_of(block)
        shown = [repr(block), str(block), block.model_dump_json(), repr(block.model_dump())]
        for text in shown:
            for secret in secrets:
                assert secret not in text, "a secret value appears in repr/str/model_dump"
        block.save("conformance-secrets")
        db = _hw_home / "headwater.db"
        blob = b"".join(p.read_bytes() for p in db.parent.glob("headwater.db*") if p.is_file())
        for secret in secrets:
            assert secret.encode() not in blob, "a secret value is stored in plaintext"
