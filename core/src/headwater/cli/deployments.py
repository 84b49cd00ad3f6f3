"""``headwater deployment ...``, ``headwater deploy`` and ``headwater scheduler``."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from typing import Any

import click

from headwater.cli._output import emit, emit_object, format_time, output_option

__all__ = ["deploy", "deployment", "scheduler"]

_FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def _when(text: str, option: str) -> float:
    """An ISO date-time (local time when it has no offset) as epoch seconds."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO 8601 date-time such as 2026-12-31T09:00", param_hint=option
        ) from None
    return value.timestamp()


def _params(pairs: tuple[str, ...]) -> dict[str, Any]:
    import json

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="--param")
        try:
            out[key.strip()] = json.loads(raw)
        except ValueError:
            out[key.strip()] = raw
    return out


def _schedule_text(dep: Any) -> str:
    parts = []
    for s, active in zip(dep.schedules, dep.schedule_active, strict=False):
        parts.append(s.describe() + ("" if active else " (paused)"))
    return "; ".join(parts)


@click.group("deployment")
def deployment() -> None:
    """List, inspect, run and delete deployments; pause and resume their schedules."""


@deployment.command("ls")
@click.option("--pool", default=None, help="Only deployments of this work pool.")
@output_option
def ls(pool: str | None, output: str) -> None:
    """List deployments."""
    from headwater.orchestration.deployments import list_deployments

    rows = []
    for d in list_deployments(pool):
        rows.append(
            {
                "name": d.full_name,
                "id": d.id,
                "pool": d.work_pool_name or "(served)",
                "schedules": _schedule_text(d),
                "paused": d.paused,
                "tags": d.tags,
                "entrypoint": d.entrypoint,
            }
        )
    emit(
        rows,
        ["name", "pool", "schedules", "paused"],
        output,
        empty="no deployments yet: flow.serve(), flow.deploy() or headwater deploy",
    )


@deployment.command("inspect")
@click.argument("name")
@output_option
def inspect(name: str, output: str) -> None:
    """Show a deployment (NAME is flow-name/deployment-name) and its next runs."""
    from headwater.orchestration.deployments import get_deployment
    from headwater.orchestration.sources import describe_source
    from headwater.store.engine import db_read

    d = get_deployment(name)
    with db_read() as tx:
        upcoming = tx.execute(
            "SELECT id, scheduled_time, state FROM scheduled_runs WHERE deployment_id = :d AND "
            "state_type = 'SCHEDULED' ORDER BY scheduled_time LIMIT 5",
            {"d": d.id},
        )
    obj = {
        "name": d.full_name,
        "id": d.id,
        "entrypoint": d.entrypoint,
        "source": describe_source(d.source),
        "work_pool": d.work_pool_name,
        "parameters": d.parameters,
        "tags": d.tags,
        "description": d.description,
        "version": d.version,
        "paused": d.paused,
        "concurrency_limit": d.concurrency_limit,
        "collision_strategy": d.collision_strategy,
        "crash_retries": d.crash_retries,
        "schedules": [
            s.to_dict() | {"id": sid, "active": a}
            for s, sid, a in zip(d.schedules, d.schedule_ids, d.schedule_active, strict=False)
        ],
        "next_runs": [format_time(r.scheduled_time) for r in upcoming],
    }
    emit_object(obj, output)


@deployment.command("run")
@click.argument("name")
@click.option(
    "--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="A parameter (JSON when it parses). Repeatable."
)
@click.option("--start-in", default=None, help="Start after this delay, e.g. 10m, 2h, 30s.")
@click.option("--start-at", default=None, help="Start at this ISO 8601 date-time (local time unless it has an offset).")
@click.option("--watch", is_flag=True, help="Stream the run's logs and exit with its final state (0 when Completed).")
@click.option("--watch-timeout", type=float, default=None, help="With --watch: give up after this many seconds.")
@output_option
def run(
    name: str,
    params: tuple[str, ...],
    start_in: str | None,
    start_at: str | None,
    watch: bool,
    watch_timeout: float | None,
    output: str,
) -> None:
    """Queue a run of a deployment now (or later): headwater deployment run flow/deployment --param k=v"""
    from headwater.orchestration.deployments import get_deployment
    from headwater.orchestration.queue import create_run

    if start_in and start_at:
        raise click.UsageError("pass --start-in or --start-at, not both")
    when = None
    if start_in:
        from headwater.history.reader import parse_age

        when = time.time() + parse_age(start_in if start_in[-1:].isalpha() else start_in + "s")
    elif start_at:
        when = _when(start_at, "--start-at")
    dep = get_deployment(name)
    values = _params(params)
    if dep.enforce_parameter_schema:
        _check_run_parameters(dep, values)
    run_id = create_run(dep, values, when)
    assert run_id is not None
    info = {
        "id": run_id,
        "deployment": dep.full_name,
        "scheduled": format_time(when or time.time()),
        "work_pool": dep.work_pool_name,
    }
    if output == "json" and not watch:
        emit_object(info, output)
        return
    click.echo(f"Created run {run_id} of {dep.full_name}, scheduled {info['scheduled']}", err=True)
    if watch:
        sys.exit(_watch(run_id, watch_timeout))


def _check_run_parameters(dep: Any, values: dict[str, Any]) -> None:
    """Check a run's parameters against the flow's signature saved with the deployment (the flow
    is not imported here; the run itself validates values against the flow's type hints)."""
    from headwater.orchestration.entrypoints import check_with_schema

    if dep.parameter_schema:
        check_with_schema(dep.parameter_schema, {**dep.parameters, **values})


def _watch(run_id: str, timeout: float | None) -> int:
    from headwater.orchestration.queue import get_run
    from headwater.redaction import redact
    from headwater.store.engine import db_read

    last_log = 0
    deadline = None if timeout is None else time.time() + timeout
    levels = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}
    state_shown = None
    while True:
        run = get_run(run_id)
        if run["state"] != state_shown:
            state_shown = run["state"]
            click.echo(f"{time.strftime('%H:%M:%S')} run {run_id[:8]} is {state_shown}", err=True)
        with db_read() as tx:
            rows = tx.execute(
                "SELECT id, task_run_id, ts, level, logger, message FROM run_logs WHERE flow_run_id = :f "
                "AND id > :last ORDER BY id",
                {"f": run_id, "last": last_log},
            )
        for r in rows:
            last_log = r.id
            kind = "Task" if r.task_run_id else "Flow"
            stamp = time.strftime("%H:%M:%S", time.localtime(r.ts))
            click.echo(redact(f"{stamp} {levels.get(r.level, r.level)} | {kind} {r.logger!r} - {r.message}"))
        if run["state_type"] in _FINAL and not rows:
            if run["message"] and run["state_type"] != "COMPLETED":
                click.echo(redact(f"run {run_id[:8]} ended {run['state']}: {run['message']}"), err=True)
            return 0 if run["state_type"] == "COMPLETED" else 1
        if deadline is not None and time.time() > deadline:
            click.echo(f"run {run_id[:8]} is still {run['state']} after {timeout:g} s; stopped watching", err=True)
            return 2
        time.sleep(0.2)


@deployment.command("delete")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def delete(name: str, yes: bool) -> None:
    """Delete a deployment, its schedules and its runs that have not started."""
    from headwater.orchestration.deployments import delete_deployment, get_deployment

    full = get_deployment(name).full_name
    if not yes and sys.stdin.isatty():
        click.confirm(f"Delete deployment {full}?", abort=True)
    delete_deployment(full)
    click.echo(f"deleted deployment {full}")


@deployment.command("backfill")
@click.argument("name")
@click.option("--from", "start", required=True, help="ISO 8601 date-time to start from (inclusive).")
@click.option("--to", "end", required=True, help="ISO 8601 date-time to end at (inclusive).")
def backfill_cmd(name: str, start: str, end: str) -> None:
    """Create the runs the deployment's schedules would have made between --from and --to."""
    from headwater.orchestration.scheduler import backfill

    n = backfill(name, _when(start, "--from"), _when(end, "--to"))
    click.echo(f"created {n} run(s) of {name} (runs that already existed were kept)")


@deployment.command("pause")
@click.argument("name")
def pause(name: str) -> None:
    """Pause a deployment: its schedules create no runs."""
    from headwater.orchestration.deployments import set_paused

    click.echo(f"paused {set_paused(name, True)}")


@deployment.command("resume")
@click.argument("name")
def resume(name: str) -> None:
    """Resume a paused deployment."""
    from headwater.orchestration.deployments import set_paused

    click.echo(f"resumed {set_paused(name, False)}")


@deployment.group("schedule")
def schedule() -> None:
    """List, pause and resume a deployment's schedules."""


@schedule.command("ls")
@click.argument("name")
@output_option
def schedule_ls(name: str, output: str) -> None:
    """List a deployment's schedules with their next run times."""
    from headwater.orchestration.deployments import get_deployment

    d = get_deployment(name)
    rows = []
    for i, (s, sid, active) in enumerate(zip(d.schedules, d.schedule_ids, d.schedule_active, strict=False), 1):
        nxt = s.next_dates(1)
        rows.append(
            {
                "#": i,
                "id": sid[:8],
                "schedule": s.describe(),
                "active": active,
                "next": nxt[0].isoformat(timespec="minutes") if nxt and active else "",
                **s.to_dict(),
            }
        )
    emit(rows, ["#", "id", "schedule", "active", "next"], output, empty=f"{d.full_name} has no schedules")


@schedule.command("pause")
@click.argument("name")
@click.argument("schedule_id", required=False)
def schedule_pause(name: str, schedule_id: str | None) -> None:
    """Pause one schedule (by id or position) or all of them; their future runs are removed."""
    from headwater.orchestration.deployments import set_schedule_active

    ids = set_schedule_active(name, schedule_id, False)
    click.echo(f"paused {len(ids)} schedule(s) of {name}")


@schedule.command("resume")
@click.argument("name")
@click.argument("schedule_id", required=False)
def schedule_resume(name: str, schedule_id: str | None) -> None:
    """Resume one schedule (by id or position) or all of them."""
    from headwater.orchestration.deployments import set_schedule_active

    ids = set_schedule_active(name, schedule_id, True)
    click.echo(f"resumed {len(ids)} schedule(s) of {name}")


@click.command("deploy")
@click.option("--file", "path", default="headwater.yaml", show_default=True, help="The project file.")
@click.option("--name", "-n", "names", multiple=True, help="Only this deployment (repeatable); default: all.")
@click.option("--all", "all_", is_flag=True, help="Deploy every deployment in the file (the default).")
def deploy(path: str, names: tuple[str, ...], all_: bool) -> None:
    """Create or update the deployments of a headwater.yaml project file.

    Every deployment is checked first (schedules, work pool, source, entrypoint, parameters);
    if one is wrong nothing is saved.
    """
    from headwater.orchestration.deployments import save_deployment
    from headwater.orchestration.errors import DeploymentError
    from headwater.orchestration.project import load_project

    deps = load_project(path, names)
    for d in deps:
        try:
            d.validate()
        except DeploymentError as exc:
            raise DeploymentError(f"deployment {d.name!r}: {exc}") from None
    for d in deps:
        save_deployment(d)
        pool = f" (work pool {d.work_pool_name})" if d.work_pool_name else ""
        click.echo(f"deployed {d.full_name}{pool}")


@click.command("scheduler")
@click.option("--interval", type=float, default=10.0, show_default=True, help="Seconds between scheduling passes.")
@click.option("--once", is_flag=True, help="Run one scheduling pass and exit.")
def scheduler(interval: float, once: bool) -> None:
    """Create the scheduled runs of every deployment ahead of time (any number may run at once)."""
    from headwater.orchestration.queue import mark_late, reap_expired
    from headwater.orchestration.scheduler import Scheduler

    s = Scheduler()
    if once:
        n = s.tick()
        mark_late(s.settings.late_after_seconds)
        reap_expired()
        click.echo(f"scheduled {n} run(s)")
        return
    import signal

    signal.signal(signal.SIGTERM, lambda *_: s.stop())
    click.echo(f"scheduler running every {interval:g} s; stop with Ctrl-C", err=True)
    try:
        s.run(interval)
    except KeyboardInterrupt:
        s.stop()
