"""Headwater plugin hooks of headwater-gcs (no google import at load time)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headwater import hookimpl


@hookimpl
def register_block_types(register: Callable[[type], None]) -> None:
    from headwater_gcs._bucket import GcsBucket
    from headwater_gcs.credentials import GcpCredentials

    register(GcpCredentials)
    register(GcsBucket)


@hookimpl
def register_commands(cli: Any) -> None:
    from headwater_gcs._cli import gcs

    cli.add_command(gcs)
