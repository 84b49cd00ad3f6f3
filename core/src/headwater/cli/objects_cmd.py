"""``headwater artifacts``, ``headwater variable`` and ``headwater global-concurrency-limit``."""

from __future__ import annotations

import json
from typing import Any

import click

from headwater.cli._output import emit, format_time, iso_time, output_option

__all__ = ["artifacts", "concurrency_limit", "variable"]


@click.group("artifacts")
def artifacts() -> None:
    """List the artifacts flows created (create_markdown_artifact, create_table_artifact, ...)."""


@artifacts.command("ls")
@click.option("--key", default=None, help="Only artifacts with this key.")
@click.option("--flow-run", "flow_run", default=None, help="Only this flow run's artifacts (id or prefix).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="At most this many.")
@output_option
def artifacts_ls(key: str | None, flow_run: str | None, limit: int, output: str) -> None:
    """List artifacts, newest first."""
    from headwater.artifacts import list_artifacts

    flow_run_id = None
    if flow_run:
        from headwater.history.reader import get_flow_run

        flow_run_id = get_flow_run(flow_run)["id"]
    found = list_artifacts(flow_run_id, key, limit)
    rows = [artifact_json(a) for a in found] if output == "json" else [artifact_row(a) for a in found]
    emit(rows, ["key", "type", "run", "created", "preview"], output, empty="no artifacts yet")


def artifact_json(a: Any) -> dict[str, Any]:
    """One artifact for machines: every fact under one key, ``created`` in ISO 8601."""
    return {"id": a.id, "key": a.key, "type": a.type, "description": a.description, "data": a.data,
            "flow_run_id": a.flow_run_id, "task_run_id": a.task_run_id, "created": iso_time(a.created)}


def artifact_row(a: Any) -> dict[str, Any]:
    """One artifact for a table: its key, type, run, time and the first line of its content."""
    data = str(a.data).strip()
    first = data.splitlines()[0] if data else ""
    return {"key": a.key, "type": a.type, "run": (a.flow_run_id or "")[:8], "created": format_time(a.created),
            "preview": first if len(first) <= 60 else first[:57] + "..."}


@click.group("variable")
def variable() -> None:
    """Set, read, list and delete variables (Variable.set/get in flows)."""


@variable.command("set")
@click.argument("name")
@click.argument("value")
@click.option("--overwrite", is_flag=True, help="Replace the variable if it exists.")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
def variable_set(name: str, value: str, overwrite: bool, tags: tuple[str, ...]) -> None:
    """Set NAME to VALUE (JSON when it parses as JSON, else the text)."""
    from headwater.variables import Variable

    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    Variable.set(name, parsed, list(tags), overwrite=overwrite)
    click.echo(f"set variable {name!r}")


@variable.command("get")
@click.argument("name")
def variable_get(name: str) -> None:
    """Print NAME's value (JSON for anything but text)."""
    from headwater.errors import ObjectNotFound
    from headwater.variables import Variable

    missing = object()
    value = Variable.get(name, missing)
    if value is missing:
        raise ObjectNotFound(f"no variable named {name!r} (see `headwater variable ls`)")
    click.echo(value if isinstance(value, str) else json.dumps(value))


@variable.command("ls")
@output_option
def variable_ls(output: str) -> None:
    """List variables."""
    from headwater.variables import Variable

    if output == "json":
        emit([{"name": v.name, "value": v.value, "tags": v.tags} for v in Variable.list()], [], output)
        return
    rows = [{"name": v.name, "value": json.dumps(v.value), "tags": ", ".join(v.tags)} for v in Variable.list()]
    emit(rows, ["name", "value", "tags"], output, empty="no variables yet")


@variable.command("unset")
@click.argument("name")
def variable_unset(name: str) -> None:
    """Delete NAME."""
    from headwater.errors import ObjectNotFound
    from headwater.variables import Variable

    if not Variable.unset(name):
        raise ObjectNotFound(f"no variable named {name!r} (see `headwater variable ls`)")
    click.echo(f"deleted variable {name!r}")


@click.group("global-concurrency-limit")
def concurrency_limit() -> None:
    """Create, list and delete global concurrency and rate limits."""


@concurrency_limit.command("create")
@click.argument("name")
@click.option("--limit", required=True, type=click.IntRange(1), help="How many slots the limit has.")
@click.option("--slot-decay-per-second", default=0.0, type=click.FloatRange(0), show_default=True,
              help="Slots freed per second (a rate limit, for rate_limit()).")
@click.option("--inactive", is_flag=True, help="Create it inactive (it limits nothing).")
def limit_create(name: str, limit: int, slot_decay_per_second: float, inactive: bool) -> None:
    """Create (or update) the limit NAME."""
    from headwater.concurrency import create_limit

    create_limit(name, limit, slot_decay_per_second, not inactive)
    click.echo(f"concurrency limit {name!r}: {limit} slot(s)"
               + (f", {slot_decay_per_second:g} freed per second" if slot_decay_per_second else ""))


@concurrency_limit.command("ls")
@output_option
def limit_ls(output: str) -> None:
    """List limits with the slots in use now."""
    from headwater.concurrency import list_limits

    rows = list_limits()
    if output == "json":
        emit(rows, [], output)
        return
    for r in rows:
        r["in use"] = f"{r['active_slots']:g}/{r['limit']}"
        r["decay/s"] = f"{r['slot_decay_per_second']:g}"
    emit(rows, ["name", "in use", "active", "decay/s"], output, empty="no concurrency limits yet")


@concurrency_limit.command("delete")
@click.argument("name")
def limit_delete(name: str) -> None:
    """Delete the limit NAME."""
    from headwater.concurrency import delete_limit

    delete_limit(name)
    click.echo(f"deleted concurrency limit {name!r}")



