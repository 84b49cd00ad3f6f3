"""Headwater plugin hooks of headwater-ui: the ``headwater ui`` command (web imports stay lazy)."""

from __future__ import annotations

from typing import Any

from headwater import hookimpl


@hookimpl
def register_commands(cli: Any) -> None:
    from headwater_ui.cli import ui

    cli.add_command(ui)
