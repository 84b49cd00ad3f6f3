"""Block forms: fields generated from a block type's JSON schema, and saving what was submitted.

Secret fields are write-only: the form never holds their value (not even masked), and a blank
secret field when editing keeps the stored value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from headwater.blocks.codec import display
from headwater.cli._fields import block_fields_of, is_secret_annotation
from headwater.errors import BlockValidationError, HeadwaterError, UnknownBlockTypeError

__all__ = ["FormField", "block_type", "block_types", "form_fields", "save_from_form"]


@dataclass
class FormField:
    """One input of a block form."""

    name: str
    title: str
    kind: str  # text, number, integer, bool, select, json, secret, secret-json, block
    required: bool
    description: str = ""
    value: str = ""  # never set for secret kinds
    choices: list[str] = field(default_factory=list)
    has_value: bool = False  # a secret that is stored (edit form)


def block_types() -> dict[str, Any]:
    """The registered block types by slug (core's and the installed plugins')."""
    from headwater.plugins import block_type_registry

    return dict(sorted(block_type_registry().items()))


def block_type(slug: str) -> type:
    """The class of a registered block type.

    Raises:
        UnknownBlockTypeError: No installed plugin provides ``slug``, and no saved block of that
            type names a module that defines it.
    """
    info = block_types().get(slug)
    if info is not None:
        return info.cls
    from headwater.blocks.persistence import resolve_block_class
    from headwater.store.documents import list_documents

    saved = list_documents(slug)
    if saved:  # a block type of the user's own code: the store knows its module
        return resolve_block_class(slug, saved[0])
    raise UnknownBlockTypeError(f"unknown block type {slug!r}: see the block types page for the installed ones")


def _resolved(schema: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    ref = prop.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return schema.get("$defs", {}).get(ref.split("/")[-1], prop)
    for key in ("anyOf", "oneOf"):
        options = [o for o in prop.get(key, []) if o.get("type") != "null"]
        rest = {k: v for k, v in prop.items() if k != key}
        if len(options) == 1:
            return {**rest, **_resolved(schema, options[0])}
        if options and all(o.get("type") == "string" for o in options):  # str | Path
            return {**rest, "type": "string"}
    return prop


def form_fields(
    cls: Any, current: dict[str, Any] | None = None, stored_secrets: list[str] | None = None
) -> list[FormField]:
    """The form's inputs for ``cls``, from its JSON schema; ``current`` holds the stored document's
    fields as :func:`headwater.blocks.codec.display` shows them (secrets already masked there)."""
    from headwater.store.documents import list_documents

    schema = cls.model_json_schema()
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    out = []
    for name, info in cls.model_fields.items():
        prop = _resolved(schema, props.get(name, {}))
        f = FormField(
            name=name,
            title=prop.get("title") or name,
            kind="text",
            required=name in required,
            description=info.description or prop.get("description", ""),
        )
        value = (current or {}).get(name, prop.get("default"))
        if is_secret_annotation(info.annotation):
            f.kind = "secret-json" if prop.get("type") == "object" else "secret"
            f.has_value = name in (stored_secrets or [])
            out.append(f)  # no value: secrets are write-only
            continue
        blocks = block_fields_of(info.annotation)
        if blocks:
            f.kind = "block"
            slugs = {b.get_block_type_slug() for b in blocks}  # type: ignore[attr-defined]
            f.choices = [d.ref for d in list_documents() if d.slug in slugs]
            f.value = value[3:] if isinstance(value, str) and value.startswith("-> ") else ""
        elif "enum" in prop:
            f.kind, f.choices = "select", [str(c) for c in prop["enum"]]
        elif prop.get("type") == "boolean":
            f.kind = "bool"
        elif prop.get("type") in ("integer", "number"):
            f.kind = prop["type"]
        elif prop.get("type") in ("object", "array") or "anyOf" in prop or "allOf" in prop:
            f.kind = "json"
        if f.kind != "block" and value is not None:
            f.value = (
                json.dumps(value, indent=1)
                if f.kind == "json"
                else (str(value).lower() if f.kind == "bool" else str(value))
            )
        out.append(f)
    return out


def _value(f: FormField, raw: str) -> Any:
    from headwater.blocks.core import Block

    if f.kind == "block":
        return Block.load(raw)
    if f.kind in ("json", "secret-json"):
        try:
            return json.loads(raw)
        except ValueError as exc:
            what = f"{f.name}: not valid JSON" + (
                "" if f.kind == "secret-json" else f" ({exc.msg} at character {exc.pos})"
            )
            raise BlockValidationError(what) from None
    if f.kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise BlockValidationError(f"{f.name}: {raw!r} is not a whole number") from None
    if f.kind == "number":
        try:
            return float(raw)
        except ValueError:
            raise BlockValidationError(f"{f.name}: {raw!r} is not a number") from None
    return raw


def save_from_form(slug: str, name: str, form: dict[str, str], existing: bool) -> str:
    """Create (``existing=False``) or update a block from submitted form fields; returns its ref.

    A blank field takes the type's default (or, when editing, keeps a stored secret); a checkbox
    that is absent is false.

    Raises:
        BlockValidationError: a value does not fit its field (the message never holds a secret).
        BlockExistsError: creating a name that exists.
    """
    from headwater.blocks.core import Block
    from headwater.naming import validate_name

    cls: Any = block_type(slug)
    validate_name(name)
    fields = form_fields(cls)
    values: dict[str, Any] = {}
    old: Any = Block.load(f"{slug}/{name}") if existing else None
    for f in fields:
        if f.kind == "bool":
            values[f.name] = form.get(f.name) in ("on", "true", "1")
            continue
        raw = form.get(f.name, "")
        if f.kind not in ("secret", "secret-json", "json"):
            raw = raw.strip()
        if raw.strip() == "":
            if old is not None and f.kind in ("secret", "secret-json"):
                values[f.name] = getattr(old, f.name)  # blank on edit: keep the stored secret
            continue
        values[f.name] = _value(f, raw)
    try:
        block = cls(**values)
    except HeadwaterError:
        raise
    except Exception as exc:  # a model validator outside pydantic's errors: its text may echo input
        raise BlockValidationError(f"invalid {slug}: {type(exc).__name__}") from None
    block.save(name, overwrite=existing)
    return f"{slug}/{name}"


def shown_fields(data: dict[str, Any]) -> dict[str, Any]:
    """A stored document's fields for the inspect page (secrets masked, references as ``-> ref``)."""
    return display(data)
