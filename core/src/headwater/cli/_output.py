"""Shared output helpers for CLI commands: tables for people, ``-o json`` for programs."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import click

from headwater.redaction import redact

__all__ = ["colour_enabled", "emit", "emit_object", "format_time", "iso_time", "output_option", "styled_state"]

STATE_STYLES = {
    "COMPLETED": "green", "FAILED": "red", "CRASHED": "bold red", "CANCELLED": "yellow", "CANCELLING": "yellow",
    "RUNNING": "cyan", "PENDING": "blue", "SCHEDULED": "blue", "PAUSED": "yellow",
}


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


def iso_time(ts: float | None) -> str | None:
    """An epoch timestamp as ISO 8601 with its UTC offset (``2026-12-04T18:21:02.120000+00:00``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


def colour_enabled(err: bool = False) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org)."""
    import os
    import sys

    if os.environ.get("NO_COLOR"):
        return False
    stream = sys.stderr if err else sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def styled_state(name: str, state_type: str | None) -> str:
    """A state name, coloured by its type when colour is enabled."""
    style = STATE_STYLES.get((state_type or "").upper())
    if not style or not colour_enabled():
        return name
    return click.style(name, fg=style.split()[-1], bold=style.startswith("bold"))


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
    from rich.text import Text

    colour = colour_enabled()
    table = Table(title=title, show_edge=False, header_style="bold" if colour else "")
    for col in columns:
        widest = max(len(col), *(len(str(r.get(col) or "")) for r in rows))
        if col in _FOLDED:  # a long name wraps onto more lines instead of being cut with "…"
            table.add_column(col.replace("_", " "), overflow="fold", min_width=min(widest, 16))
        else:  # short facts (ids, states, times) stay on one line
            table.add_column(col.replace("_", " "), no_wrap=True, min_width=widest)
    for row in rows:
        cells = []
        for c in columns:
            text = redact("" if row.get(c) is None else str(row.get(c)))
            style = STATE_STYLES.get(str(row.get("state_type") or "").upper(), "") if c == "state" and colour else ""
            cells.append(Text(text, style=style))
        table.add_row(*cells)
    import sys

    on_terminal = bool(getattr(sys.stdout, "isatty", lambda: False)())
    console = Console(no_color=not colour, highlight=False, width=None if on_terminal else _pipe_width())
    console.print(table, crop=False)  # a row wider than the screen wraps; it is never cut


_FOLDED = {"flow", "name", "ref", "provided_by", "description", "note", "message", "slug"}


def _pipe_width() -> int:
    """Piped output has no terminal width: use $COLUMNS or a wide default so rows stay whole."""
    import os

    try:
        return max(40, int(os.environ.get("COLUMNS", "")))
    except ValueError:
        return 160


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
