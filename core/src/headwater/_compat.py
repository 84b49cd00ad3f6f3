"""Clear answers for the Prefect names Headwater does not offer (used by the twin modules)."""

from __future__ import annotations

from typing import Any

from headwater.errors import HeadwaterError

__all__ = ["UnsupportedFeatureError", "unsupported"]


class UnsupportedFeatureError(HeadwaterError, ImportError):
    """A Prefect name that Headwater does not offer; the message says what to use instead.

    An ``ImportError``, so that ``from headwater.x import Name`` shows this message rather
    than Python's bare "cannot import name".
    """


def unsupported(module: str, name: str, hints: dict[str, str]) -> Any:
    """Raise for ``module.name``: the hint when ``name`` is a known Prefect name, else the
    plain ``AttributeError`` Python gives for a missing attribute."""
    hint = hints.get(name)
    if hint is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    prefect = module.replace("headwater", "prefect", 1)
    raise UnsupportedFeatureError(f"{prefect}.{name} has no Headwater equivalent: {hint}", name=name)
