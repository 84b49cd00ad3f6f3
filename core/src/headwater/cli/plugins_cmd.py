"""``headwater plugin ls``."""

from __future__ import annotations

import click

from headwater.cli._output import emit, output_option

__all__ = ["plugin"]


@click.group()
def plugin() -> None:
    """Installed plugins and what they provide."""


@plugin.command("ls")
@output_option
def ls(output: str) -> None:
    """List plugins: name, distribution, version, what each provides, and load errors."""
    from headwater.cli import cli
    from headwater.plugins import list_plugins

    cli._load_plugin_commands()  # so that a failing register_commands hook shows below
    rows = []
    for info in list_plugins():
        status = "not installed" if info.missing else "error" if info.error else (
            "not allowed" if info.skipped else ("loaded" if info.loaded else "-")
        )
        provided = info.provides()  # {"block_types": [...], "secret_backends": [...], ...}
        rows.append({
            "name": info.name, "distribution": info.dist, "version": info.version, "status": status,
            **provided, "error": info.error, "provides": ", ".join(n for names in provided.values() for n in names),
        })
    if output == "json":  # "provides" is the three lists joined for the table
        rows = [{k: v for k, v in r.items() if k != "provides"} for r in rows]
    emit(rows, ["name", "distribution", "version", "status", "provides", "error"], output)
