"""Turning a block into a storable document and back.

A document's ``data`` is plain JSON in which
- a secret value is replaced by ``{"$secret": kind}`` (its plaintext goes to the secret backend,
  keyed by the field's dotted path),
- a nested block that was saved is ``{"$ref": {"slug": ..., "name": ...}}``, resolved at load,
- a nested block that was not saved is ``{"$block": slug, "data": {...}}``, embedded.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic_core import to_jsonable_python

from headwater.blocks.types import SecretDict

if TYPE_CHECKING:
    from headwater.blocks.core import Block

__all__ = ["decode", "encode"]

SECRET, REF, EMBED = "$secret", "$ref", "$block"


def encode(block: Block) -> tuple[dict[str, Any], dict[str, str]]:
    """Return ``(data, secrets)``: the JSON document and the plaintext secrets by field path."""
    secrets: dict[str, str] = {}
    return _fields(block, "", secrets), secrets


def _fields(model: BaseModel, prefix: str, secrets: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        out[name] = _value(getattr(model, name), f"{prefix}{name}", secrets)
    return out


def _value(value: Any, path: str, secrets: dict[str, str]) -> Any:
    from headwater.blocks.core import Block

    if isinstance(value, SecretStr):
        secrets[path] = value.get_secret_value()
        return {SECRET: "str"}
    if isinstance(value, SecretBytes):
        secrets[path] = base64.b64encode(value.get_secret_value()).decode()
        return {SECRET: "bytes"}
    if isinstance(value, SecretDict):
        secrets[path] = json.dumps(value.get_secret_value())
        return {SECRET: "json"}
    if isinstance(value, Block):
        if value._block_document_name is not None:
            return {REF: {"slug": value.get_block_type_slug(), "name": value._block_document_name}}
        return {EMBED: value.get_block_type_slug(), "data": _fields(value, f"{path}.", secrets)}
    if isinstance(value, BaseModel):
        return _fields(value, f"{path}.", secrets)
    if isinstance(value, dict):
        return {str(k): _value(v, f"{path}.{k}", secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_value(v, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    return to_jsonable_python(value)


def decode(
    data: dict[str, Any],
    secrets: dict[str, str],
    resolve_ref: Callable[[str, str], Block],
    resolve_slug: Callable[[str], type[Block]],
) -> dict[str, Any]:
    """Inverse of :func:`encode`: field values ready for ``model_validate``."""
    return {k: _restore(v, k, secrets, resolve_ref, resolve_slug) for k, v in data.items()}


def _restore(value: Any, path: str, secrets: dict[str, str], resolve_ref: Any, resolve_slug: Any) -> Any:
    if isinstance(value, dict):
        if SECRET in value and len(value) == 1:
            kind = value[SECRET]
            text = secrets.get(path)
            if text is None:
                return None
            if kind == "bytes":
                return SecretBytes(base64.b64decode(text))
            if kind == "json":
                return SecretDict(json.loads(text))
            return SecretStr(text)
        if REF in value and len(value) == 1:
            return resolve_ref(value[REF]["slug"], value[REF]["name"])
        if EMBED in value and set(value) == {EMBED, "data"}:
            cls = resolve_slug(value[EMBED])
            fields = {k: _restore(v, f"{path}.{k}", secrets, resolve_ref, resolve_slug) for k, v in value["data"].items()}
            return cls._from_document_fields(fields)
        return {k: _restore(v, f"{path}.{k}", secrets, resolve_ref, resolve_slug) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v, f"{path}[{i}]", secrets, resolve_ref, resolve_slug) for i, v in enumerate(value)]
    return value
