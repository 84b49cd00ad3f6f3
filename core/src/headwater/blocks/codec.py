"""Turning a block into a storable document and back.

A document's ``data`` is plain JSON holding the block's fields, in which
- a secret value is replaced by ``{"$secret": kind}`` (its plaintext goes to the secret backend,
  keyed by the field's dotted path),
- a nested block that was saved is ``{"$ref": {"slug": ..., "name": ...}}``, resolved at load,
- a nested block that was not saved is ``{"$block": slug, "version": N, "data": {...}}``,
  embedded with its own schema version (migrated on load like a top-level document),
- a key of the user's own data that starts with ``$`` is stored with one more ``$`` in front
  (``"$ref"`` -> ``"$$ref"``), so user data never looks like one of the markers above,
- the top-level key ``"$format": 2`` says the document uses these rules. Documents without it
  were saved before keys were escaped; they are read with the old rules, taking a dict for a
  marker only when it has exactly a marker's shape.

Loading runs in two steps around the block's migrations: :func:`parse` turns the stored JSON
into fields in which secrets, references and embedded blocks are placeholders
(:class:`SecretValue`, :class:`BlockRef`, :class:`EmbeddedBlock`) that a migration can move to
another field; :func:`resolve` then turns the placeholders into values.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.blocks.core import Block

__all__ = ["BlockRef", "EmbeddedBlock", "SecretValue", "decode", "display", "encode", "parse", "resolve"]

SECRET, REF, EMBED, FORMAT_KEY = "$secret", "$ref", "$block", "$format"
FORMAT = 2
SECRET_KINDS = ("str", "bytes", "json")


# -- encoding -----------------------------------------------------------------------------------


def encode(block: Block) -> tuple[dict[str, Any], dict[str, str]]:
    """Return ``(data, secrets)``: the JSON document and the plaintext secrets by field path."""
    secrets: dict[str, str] = {}
    data = _fields(block, "", secrets)
    data[FORMAT_KEY] = FORMAT
    return data, secrets


def _escape(key: str) -> str:
    return "$" + key if key.startswith("$") else key


def _unescape(key: str) -> str:
    return key[1:] if key.startswith("$$") else key


def _escape_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {_escape(str(k)): _escape_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape_plain(v) for v in value]
    return value


def _fields(model: Any, prefix: str, secrets: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        out[name] = _value(getattr(model, name), f"{prefix}{name}", secrets)
    return out


def _value(value: Any, path: str, secrets: dict[str, str]) -> Any:
    from pydantic import BaseModel, SecretBytes, SecretStr
    from pydantic_core import to_jsonable_python

    from headwater.blocks.core import Block
    from headwater.blocks.types import SecretDict

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
        return {EMBED: value.get_block_type_slug(), "version": type(value)._block_schema_version,
                "data": _fields(value, f"{path}.", secrets)}
    if isinstance(value, BaseModel):
        return _fields(value, f"{path}.", secrets)
    if isinstance(value, dict):
        return {_escape(str(k)): _value(v, f"{path}.{k}", secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_value(v, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    return _escape_plain(to_jsonable_python(value))


# -- placeholders -------------------------------------------------------------------------------


class SecretValue:
    """A secret field's value while a document is being migrated.

    ``path`` is where the secret was stored; move the placeholder to rename the field.
    """

    __slots__ = ("kind", "path", "text")

    def __init__(self, kind: str, path: str, text: str | None) -> None:
        self.kind, self.path, self.text = kind, path, text

    def __repr__(self) -> str:
        return f"SecretValue({self.kind!r}, stored at {self.path!r})"


class BlockRef:
    """A reference to another saved block while a document is being migrated."""

    __slots__ = ("name", "slug")

    def __init__(self, slug: str, name: str) -> None:
        self.slug, self.name = slug, name

    def __repr__(self) -> str:
        return f"BlockRef({self.slug}/{self.name})"


class EmbeddedBlock(dict):
    """A nested block saved inside its parent: its fields (already migrated to its class's
    current version), and the class it is loaded as."""

    def __init__(self, block_class: type[Block], fields: dict[str, Any]) -> None:
        super().__init__(fields)
        self.block_class = block_class


# -- decoding -----------------------------------------------------------------------------------

Migrate = Callable[["type[Block]", dict[str, Any], int, str], dict[str, Any]]


class _Parser:
    def __init__(self, escaped: bool, secrets: dict[str, str], resolve_slug: Callable[[str], type[Block]],
                 migrate: Migrate):
        self.escaped, self.secrets, self.resolve_slug, self.migrate = escaped, secrets, resolve_slug, migrate

    def marker(self, value: dict[str, Any], path: str) -> Any:
        keys = set(value)
        if keys == {SECRET} and value[SECRET] in SECRET_KINDS and (self.escaped or path in self.secrets):
            return SecretValue(value[SECRET], path, self.secrets.get(path))
        if keys == {REF}:
            ref = value[REF]
            if isinstance(ref, dict) and isinstance(ref.get("slug"), str) and isinstance(ref.get("name"), str):
                return BlockRef(ref["slug"], ref["name"])
        embedded = keys in ({EMBED, "data"}, {EMBED, "version", "data"})
        if embedded and isinstance(value[EMBED], str) and isinstance(value["data"], dict):
            cls = self.resolve_slug(value[EMBED])
            fields = {self.key(k): self.value(v, f"{path}.{self.key(k)}") for k, v in value["data"].items()}
            # Embedded blocks saved before their version was recorded are taken as version 1.
            version = value.get("version", 1)
            if isinstance(version, int) and version < cls._block_schema_version:
                fields = self.migrate(cls, fields, version, path)
            return EmbeddedBlock(cls, fields)
        return None

    def key(self, key: str) -> str:
        return _unescape(key) if self.escaped else key

    def value(self, value: Any, path: str) -> Any:
        if isinstance(value, dict):
            found = self.marker(value, path)
            if found is not None:
                return found
            return {self.key(k): self.value(v, f"{path}.{self.key(k)}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value


def parse(
    data: dict[str, Any],
    secrets: dict[str, str],
    resolve_slug: Callable[[str], type[Block]],
    migrate: Migrate,
) -> dict[str, Any]:
    """A stored document's fields, with placeholders for secrets, references and embedded blocks.

    ``migrate(cls, fields, from_version, path)`` upgrades an embedded block's fields.
    """
    parser = _Parser(data.get(FORMAT_KEY) == FORMAT, secrets, resolve_slug, migrate)
    return {k: parser.value(v, k) for k, v in data.items() if k != FORMAT_KEY}


def resolve(fields: dict[str, Any], resolve_ref: Callable[[str, str], Block],
            label: str | None = None) -> dict[str, Any]:
    """Field values ready for ``model_validate``: placeholders turned into values.

    ``label`` (e.g. ``"job/nightly"``) names the document in errors about embedded blocks.
    """
    return {k: _resolve(v, resolve_ref, label, k) for k, v in fields.items()}


def _resolve(value: Any, resolve_ref: Callable[[str, str], Block], label: str | None, path: str) -> Any:
    if isinstance(value, SecretValue):
        return _secret(value)
    if isinstance(value, BlockRef):
        return resolve_ref(value.slug, value.name)
    if isinstance(value, EmbeddedBlock):
        inner = {k: _resolve(v, resolve_ref, label, f"{path}.{k}") for k, v in value.items()}
        where = f"{label} field {path} ({value.block_class.get_block_type_slug()})" if label else None
        return value.block_class._from_document_fields(inner, where)
    if isinstance(value, dict):
        return {k: _resolve(v, resolve_ref, label, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, resolve_ref, label, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _secret(value: SecretValue) -> Any:
    from pydantic import SecretBytes, SecretStr

    from headwater.blocks.types import SecretDict
    from headwater.errors import SecretBackendError

    if value.text is None:
        return None
    try:
        if value.kind == "bytes":
            return SecretBytes(base64.b64decode(value.text, validate=True))
        if value.kind == "json":
            return SecretDict(json.loads(value.text))
    except ValueError:
        raise SecretBackendError(f"the stored secret {value.path} is corrupted (not valid {value.kind}): re-save the "
                                 "block") from None
    return SecretStr(value.text)


def decode(
    data: dict[str, Any],
    secrets: dict[str, str],
    resolve_ref: Callable[[str, str], Block],
    resolve_slug: Callable[[str], type[Block]],
) -> dict[str, Any]:
    """Inverse of :func:`encode` without migrations: field values ready for ``model_validate``."""
    return resolve(parse(data, secrets, resolve_slug, lambda cls, fields, version, path: fields), resolve_ref)


# -- showing ------------------------------------------------------------------------------------


def display(data: dict[str, Any], mask: str = "**********") -> dict[str, Any]:
    """A stored document's fields for people: secrets masked, references as ``-> slug/name``,
    embedded blocks as their fields, user keys unescaped. Needs no block class."""
    escaped = data.get(FORMAT_KEY) == FORMAT

    def show(value: Any) -> Any:
        if isinstance(value, dict):
            keys = set(value)
            if keys == {SECRET}:
                return mask
            if keys == {REF} and isinstance(value[REF], dict):
                return f"-> {value[REF].get('slug')}/{value[REF].get('name')}"
            if keys in ({EMBED, "data"}, {EMBED, "version", "data"}) and isinstance(value["data"], dict):
                return show(value["data"])
            return {(_unescape(k) if escaped else k): show(v) for k, v in value.items()}
        if isinstance(value, list):
            return [show(v) for v in value]
        return value

    return {k: show(v) for k, v in data.items() if k != FORMAT_KEY}
