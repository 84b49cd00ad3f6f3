"""Process-wide caches that depend on settings, cleared together by ``reset_settings``."""

from __future__ import annotations

from collections.abc import Callable

_resetters: list[Callable[[], None]] = []
_late: list[Callable[[], None]] = []


def on_reset(fn: Callable[[], None]) -> Callable[[], None]:
    """Register ``fn`` to run when settings are reset."""
    _resetters.append(fn)
    return fn


def on_reset_late(fn: Callable[[], None]) -> Callable[[], None]:
    """Register ``fn`` to run after every :func:`on_reset` function, whatever the import order
    (closing the database, which those may still be using, e.g. the history writer's thread)."""
    _late.append(fn)
    return fn


def reset() -> None:
    for fn in [*_resetters, *_late]:
        fn()
