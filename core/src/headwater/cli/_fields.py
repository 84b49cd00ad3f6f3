"""Turning ``--set field=value`` arguments into block field values."""

from __future__ import annotations

import json
import re
import types
import typing
from typing import Any

from pydantic import BaseModel

from headwater.blocks.types import SECRET_TYPES
from headwater.errors import BlockValidationError

__all__ = [
    "block_fields_of",
    "describe_fields",
    "is_secret_annotation",
    "parse_assignments",
    "secret_fields",
    "secret_paths",
]


def _args(annotation: Any) -> tuple[Any, ...]:
    return typing.get_args(annotation) or ()


def is_secret_annotation(annotation: Any) -> bool:
    if annotation in SECRET_TYPES:
        return True
    return any(is_secret_annotation(a) for a in _args(annotation))


def _is_str(annotation: Any) -> bool:
    """Whether ``--set`` takes the text as it is: ``str``, a secret string, or an optional one
    (``list[str]`` and ``dict[str, str]`` are not: their text is JSON)."""
    if annotation is str or annotation in SECRET_TYPES:
        return True
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return False
    args = [a for a in _args(annotation) if a is not type(None)]
    return bool(args) and all(_is_str(a) for a in args)


def block_fields_of(annotation: Any) -> list[type]:
    """Block classes an annotation accepts (``AwsCredentials | None`` -> [AwsCredentials])."""
    from headwater.blocks.core import Block

    if isinstance(annotation, type) and issubclass(annotation, Block):
        return [annotation]
    out: list[type] = []
    for arg in _args(annotation):
        out.extend(block_fields_of(arg))
    return out


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in _args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def secret_fields(cls: type[BaseModel]) -> dict[str, bool]:
    """Top-level secret fields of ``cls``: name -> required."""
    return {n: f.is_required() for n, f in cls.model_fields.items() if is_secret_annotation(f.annotation)}


def secret_paths(cls: type[BaseModel], _prefix: str = "", _depth: int = 0) -> dict[str, bool]:
    """Every secret field of ``cls`` by dotted path, nested models and inline blocks included:
    path -> required (a nested one only when every field above it is required too)."""
    out: dict[str, bool] = {}
    for name, field in cls.model_fields.items():
        if is_secret_annotation(field.annotation):
            out[f"{_prefix}{name}"] = field.is_required()
            continue
        model = _model_of(field.annotation)
        if model is not None and _depth < 8:
            for path, required in secret_paths(model, f"{_prefix}{name}.", _depth + 1).items():
                out[path] = required and field.is_required()
    return out


def _convert(annotation: Any, raw: str) -> Any:
    from headwater.blocks.core import Block

    if _is_str(annotation):
        return raw
    blocks = block_fields_of(annotation)
    # "slug/name" is a reference; a URL ("dialect://...") for a ``Block | str`` field is a value.
    if blocks and "/" in raw and "://" not in raw and not raw.lstrip().startswith("{"):
        return Block.load(raw)
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_assignments(cls: type[BaseModel], assignments: list[str]) -> dict[str, Any]:
    """``["bucket_name=x", "client.endpoint_url=http://..", "credentials=aws-credentials/prod"]``
    -> a dict of field values; nested fields use dots."""
    values: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BlockValidationError(f"--set {item!r} is not FIELD=VALUE (for example --set bucket_name=raw-data)")
        parts = key.split(".")
        model: type[BaseModel] | None = cls
        target = values
        for depth, part in enumerate(parts):
            if model is None or part not in model.model_fields:
                where = ".".join(parts[:depth]) or cls.__name__
                known = ", ".join(model.model_fields) if model is not None else ""
                raise BlockValidationError(f"--set {key}: {where} has no field {part!r} (fields: {known})")
            annotation = model.model_fields[part].annotation
            here = ".".join(parts[: depth + 1])
            if depth == len(parts) - 1:
                value = _convert(annotation, raw)
                if isinstance(target.get(part), dict) and not isinstance(value, dict):
                    raise _both(key, here, value)
                target[part] = value
            else:
                current = target.setdefault(part, {})
                if not isinstance(current, dict):
                    raise _both(key, here, current)
                target = current
                model = _model_of(annotation)
    return values


def _both(key: str, field: str, whole: Any) -> BlockValidationError:
    """``--set a=slug/name`` together with ``--set a.b=...``: refuse rather than guess."""
    from headwater.blocks.core import Block

    if isinstance(whole, Block) and whole.block_document_name is not None:
        what = f"a reference to the saved block {whole.get_block_type_slug()}/{whole.block_document_name}"
    else:
        what = "a whole value"
    return BlockValidationError(
        f"--set {key}: {field} is given both as {what} and field by field ({field}.FIELD=...); a field cannot be "
        f"both: drop one (to change a saved block's field, change that block and refer to it)"
    )


def _type_name(annotation: Any) -> str:
    """``Optional[AwsCredentials]`` -> ``AwsCredentials | None``; ``pathlib.Path`` -> ``Path``."""
    if annotation is type(None):
        return "None"
    args = _args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(json.dumps(a) for a in args)
    if args and origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(_type_name(a) for a in args)}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return re.sub(r"\b(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)", r"\1", str(annotation))


def _default_text(field: Any, secret: bool) -> str:
    from headwater.blocks.core import Block

    if field.is_required():
        return "(required)"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "None"
    if secret:
        return "**********"
    if isinstance(value, BaseModel) and not isinstance(value, Block):
        changed = value.model_dump(exclude_defaults=True)
        return f"{type(value).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"
    if isinstance(value, Block):
        return f"{type(value).__name__}()"
    return json.dumps(value, default=str)


def describe_fields(cls: type[BaseModel]) -> list[dict[str, Any]]:
    """One row per field of ``cls``: name, type, default, required, secret, description; a
    field holding a block also names the block type(s) it takes (``--set field=SLUG/NAME``)."""
    rows = []
    for name, field in cls.model_fields.items():
        secret = is_secret_annotation(field.annotation)
        blocks = [b.get_block_type_slug() for b in block_fields_of(field.annotation)]  # type: ignore[attr-defined]
        model = _model_of(field.annotation)
        nested = list(model.model_fields) if model is not None and not blocks else []
        rows.append({
            "field": name, "type": _type_name(field.annotation), "default": _default_text(field, secret),
            "required": field.is_required(), "secret": secret, "blocks": blocks, "nested_fields": nested,
            "description": field.description or "",
        })
    return rows
