"""Shared output helpers for CLI commands: tables for people, ``-o json`` for programs."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import click

from headwater.redaction import redact

__all__ = ["emit", "emit_object", "format_time", "output_option"]


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
         empty: str = "nothing to show") -> None:
    """Print ``rows`` as a table (only ``columns``) or as a JSON list (every key)."""
    if output == "json":
        click.echo(redact(json.dumps(list(rows), indent=2, default=_json_default)))
        return
    if not rows:
        click.echo(empty)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_edge=False, header_style="bold")
    for col in columns:
        table.add_column(col.replace("_", " "))
    for row in rows:
        table.add_row(*(redact("" if row.get(c) is None else str(row.get(c))) for c in columns))
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
