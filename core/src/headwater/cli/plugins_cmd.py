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
        status = "not installed" if info.missing else "error" if info.error else ("not allowed" if info.skipped else ("loaded" if info.loaded else "-"))
        rows.append({
            "name": info.name, "distribution": info.dist, "version": info.version, "status": status,
            "block_types": info.block_types, "secret_backends": info.secret_backends,
            "task_runners": info.task_runners, "worker_types": info.worker_types, "error": info.error,
            "provides": ", ".join(info.block_types + info.secret_backends + info.task_runners
                                  + [f"{w} (work pool)" for w in info.worker_types]),
        })
    emit(rows, ["name", "distribution", "version", "status", "provides", "error"], output)
