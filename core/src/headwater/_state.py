"""Process-wide caches that depend on settings, cleared together by ``reset_settings``."""

from __future__ import annotations

from collections.abc import Callable

_resetters: list[Callable[[], None]] = []


def on_reset(fn: Callable[[], None]) -> Callable[[], None]:
    """Register ``fn`` to run when settings are reset."""
    _resetters.append(fn)
    return fn


def reset() -> None:
    for fn in list(_resetters):
        fn()
