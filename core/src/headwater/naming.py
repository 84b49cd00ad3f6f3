"""Block type slugs and document names."""

from __future__ import annotations

import re
from functools import lru_cache

from headwater.errors import InvalidBlockNameError

__all__ = ["slug_from_class_name", "split_reference", "validate_name"]

_BOUNDARY_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_BOUNDARY_2 = re.compile(r"([a-z0-9])([A-Z])")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")


@lru_cache(maxsize=1024)
def slug_from_class_name(name: str) -> str:
    """``S3Bucket`` -> ``s3-bucket``, ``AWSCredentials`` -> ``aws-credentials``."""
    text = _BOUNDARY_1.sub(r"\1-\2", name)
    text = _BOUNDARY_2.sub(r"\1-\2", text)
    return text.replace("_", "-").lower()


def validate_name(name: object) -> str:
    """Return ``name`` if it is a valid block document name, else raise with what is allowed."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidBlockNameError(
            f"invalid block name {name!r}: use 1-128 letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    return name


def split_reference(ref: str) -> tuple[str | None, str]:
    """Split ``"slug/name"`` into its parts; a bare name gives ``(None, name)``."""
    if not isinstance(ref, str):
        raise InvalidBlockNameError(f"expected a block name or 'slug/name', got {type(ref).__name__}")
    if "/" in ref:
        slug, _, name = ref.partition("/")
        if not _SLUG.match(slug):
            raise InvalidBlockNameError(
                f"invalid block type slug {slug!r} in {ref!r}: expected lowercase words joined by '-'"
            )
        return slug, validate_name(name)
    return None, validate_name(ref)
