"""headwater-ui: a local web UI for Headwater (``headwater ui``).

Server-rendered pages over a JSON API under ``/api``; see docs/ui.md. The web stack is
imported only when the app is created, so ``headwater --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

__all__ = ["UIConfigError", "check_bind", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from headwater_ui.app import create_app

        return create_app
    if name in ("UIConfigError", "check_bind"):
        from headwater_ui import cli

        return getattr(cli, name)
    raise AttributeError(f"module 'headwater_ui' has no attribute {name!r}")
