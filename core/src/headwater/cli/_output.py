"""Shared output helpers for CLI commands: tables for people, ``-o json`` for programs."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import click

from headwater.redaction import redact

__all__ = ["STATE_COLOURS", "emit", "emit_object", "format_time", "output_option", "state_colour"]

# One colour per kind of state, shared by the CLI's tables and the web UI (headwater-ui).
STATE_COLOURS = {
    "COMPLETED": "#2f9e44",
    "FAILED": "#e03131",
    "CRASHED": "#c2255c",
    "CANCELLED": "#868e96",
    "RUNNING": "#1c7ed6",
    "PENDING": "#f08c00",
    "SCHEDULED": "#7048e8",
}


def state_colour(state_type: str | None) -> str:
    """The colour (``#rrggbb``) of a state type such as ``FAILED``; grey for unknown ones."""
    return STATE_COLOURS.get((state_type or "").upper(), "#868e96")


def output_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``-o/--output [table|json]`` to a command (parameter name ``output``)."""
    return click.option(
        "-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True,
        help="Output format.",
    )(fn)


def format_time(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[str], output: str, title: str | None = None,
         empty: str = "nothing to show", state_column: str | None = None) -> None:
    """Print ``rows`` as a table (only ``columns``) or as a JSON list (every key).

    ``state_column`` is coloured by each row's ``state_type`` (see :data:`STATE_COLOURS`).
    """
    if output == "json":
        click.echo(redact(json.dumps(list(rows), indent=2, default=_json_default)))
        return
    if not rows:
        click.echo(empty)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, show_edge=False, header_style="bold")
    for col in columns:
        table.add_column(col.replace("_", " "))
    for row in rows:
        cells = [Text(redact("" if row.get(c) is None else str(row.get(c)))) for c in columns]
        if state_column in columns and row.get("state_type"):
            cells[columns.index(state_column)].stylize(state_colour(row["state_type"]))
        table.add_row(*cells)
    Console(soft_wrap=True).print(table)


def emit_object(obj: dict[str, Any], output: str) -> None:
    """Print one object as ``key: value`` lines or JSON."""
    if output == "json":
        click.echo(redact(json.dumps(obj, indent=2, default=_json_default)))
        return
    width = max((len(k) for k in obj), default=0)
    for key, value in obj.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, default=_json_default)
        click.echo(redact(f"{key.ljust(width)}  {'' if value is None else value}"))
