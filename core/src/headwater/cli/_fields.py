"""Turning ``--set field=value`` arguments into block field values."""

from __future__ import annotations

import json
import typing
from typing import Any

from pydantic import BaseModel

from headwater.blocks.types import SECRET_TYPES
from headwater.errors import BlockValidationError

__all__ = ["block_fields_of", "is_secret_annotation", "parse_assignments", "secret_fields"]


def _args(annotation: Any) -> tuple[Any, ...]:
    return typing.get_args(annotation) or ()


def is_secret_annotation(annotation: Any) -> bool:
    if annotation in SECRET_TYPES:
        return True
    return any(is_secret_annotation(a) for a in _args(annotation))


def _is_str(annotation: Any) -> bool:
    if annotation is str or annotation in SECRET_TYPES:
        return True
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
            if depth == len(parts) - 1:
                target[part] = _convert(annotation, raw)
            else:
                target = target.setdefault(part, {})
                model = _model_of(annotation)
    return values
