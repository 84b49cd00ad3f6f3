"""``headwater run FILE.py:flow`` and ``headwater runs ls|show|logs|prune``."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from headwater.cli._output import emit, emit_object, format_time, iso_time, output_option, styled_state

__all__ = ["run", "runs"]

_LEVELS = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}


def _load_flow(target: str) -> Any:
    """``FILE.py:flow``, ``FILE.py`` (its one flow), ``package.module:flow`` or ``package.module``."""
    from headwater.runtime._errors import FlowNotFoundError

    where, sep, name = target.rpartition(":")
    if not sep:
        where, name = target, ""
    if not where or (sep and not name):
        raise FlowNotFoundError(
            f"{target!r} is not FILE.py[:flow] or package.module[:flow]: e.g. etl.py:etl, etl.py, or mypkg.flows:etl"
        )
    path = Path(where).expanduser()
    if where.endswith(".py") or path.is_file() or "/" in where or os.sep in where:
        module, label = _import_file(where, path), where
    else:
        module, label = _import_module(where), where
    flows = _flows_in(module)
    if not name:
        if len(flows) == 1:
            return next(iter(flows.values()))
        available = ", ".join(sorted(flows)) or "none"
        raise FlowNotFoundError(
            f"{label} has {len(flows) or 'no'} flows ({available}): "
            f"name one, e.g. {label}:{next(iter(sorted(flows)), 'flow')}"
            if flows else f"{label} defines no flow (no @flow function at its top level)"
        )
    found = flows.get(name) or next((f for f in flows.values() if f.name == name), None)
    if found is None:
        available = ", ".join(sorted(flows)) or "none"
        raise FlowNotFoundError(f"{label} has no flow named {name!r} (flows in it: {available})")
    return found


def _flows_in(module: Any) -> dict[str, Any]:
    from headwater.runtime.flows import Flow

    flows = {k: v for k, v in vars(module).items() if isinstance(v, Flow)}
    if "headwater.v1.flow" in sys.modules:  # Prefect 0.15-style `with Flow("name") as flow:` graphs too
        from headwater.v1.engine import as_headwater_flow
        from headwater.v1.flow import Flow as GraphFlow

        graphs = {k: v for k, v in vars(module).items() if isinstance(v, GraphFlow)}
        flows.update({k: as_headwater_flow(v) for k, v in graphs.items() if k not in flows})
    return flows


def _import_file(path_text: str, path: Path) -> Any:
    import importlib.util

    from headwater.runtime._errors import FlowNotFoundError

    if not path.is_file():
        raise FlowNotFoundError(f"flow file {path_text!r} does not exist: check the path")
    module_name = f"__headwater_flow_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise FlowNotFoundError(f"{path_text!r} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    sys.path.insert(0, str(path.resolve().parent))
    from headwater.runtime.context import loading_flows

    try:
        with loading_flows:  # a module-level 0.15 `flow.run()` / `flow.register()` does nothing here
            spec.loader.exec_module(module)
    except Exception as exc:
        raise FlowNotFoundError(f"importing {path_text} failed: {type(exc).__name__}: {exc}") from None
    return module


def _import_module(name: str) -> Any:
    import importlib

    from headwater.runtime._errors import FlowNotFoundError

    if not all(part.isidentifier() for part in name.split(".")):
        raise FlowNotFoundError(f"{name!r} is neither a file nor a module name: check the path or the module")
    if "" not in sys.path:
        sys.path.insert(0, "")  # as `python -m`: modules of the current directory
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise FlowNotFoundError(
                f"no module named {exc.name!r}: run from the folder that holds it, or install its package"
            ) from None
        raise FlowNotFoundError(f"importing {name} failed: {type(exc).__name__}: {exc}") from None
    except Exception as exc:
        raise FlowNotFoundError(f"importing {name} failed: {type(exc).__name__}: {exc}") from None


def _parse_params(flow: Any, pairs: tuple[str, ...]) -> dict[str, Any]:
    from headwater.runtime._errors import ParameterValidationError

    params: dict[str, Any] = {}
    known = list(flow.parameters)
    accepts_any = any(p.kind == p.VAR_KEYWORD for p in flow.parameters.values())
    text_params = _text_parameters(flow) if pairs else set()
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParameterValidationError(f"--param {pair!r} is not key=value")
        if key not in known and not accepts_any:
            raise ParameterValidationError(
                f"flow {flow.name!r} has no parameter {key!r} (its parameters: {', '.join(known) or 'none'})"
            )
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if key in text_params and not isinstance(value, str):  # label=123 for `label: str` is "123"
            value = raw
        params[key] = value
    return params


def _text_parameters(flow: Any) -> set[str]:
    """Names of the flow's parameters annotated ``str``, ``str | None`` or a secret string."""
    import typing

    from headwater.cli._fields import _is_str

    try:
        hints = typing.get_type_hints(flow.fn)
    except Exception:  # an annotation that does not resolve: parse values as JSON
        return set()
    return {name for name in flow.parameters if name in hints and _is_str(hints[name])}


@click.command("run")
@click.argument("target", metavar="FILE.py[:FLOW] | MODULE[:FLOW]")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="A flow parameter; the value is parsed as JSON when it parses (kept as text for str parameters). "
                   "Repeatable.")
@output_option
def run(target: str, params: tuple[str, ...], output: str) -> None:
    """Run a flow: headwater run FILE.py:flow --param key=value

    TARGET is FILE.py:flow, FILE.py when the file has one flow, or package.module:flow
    (imported as `python -m` would, from the current directory or the installed packages).
    """
    from headwater.errors import HeadwaterError

    flow = _load_flow(target)
    kwargs = _parse_params(flow, params)
    if flow.validate_parameters:  # bad input stops here, before a run is recorded
        from headwater.runtime.params import bind_parameters, validate_parameters

        validate_parameters(flow, bind_parameters(flow, (), kwargs))
    if flow.is_async:
        import asyncio

        state = asyncio.run(flow(return_state=True, **kwargs))
    else:
        state = flow(return_state=True, **kwargs)
    fr = flow.last_flow_run
    run_id = fr.id if fr is not None else None
    if output == "json":
        result = state.data if state.is_completed() else None
        try:
            json.dumps(result)
        except (TypeError, ValueError):
            result = repr(result)
        emit_object({"id": run_id, "flow_name": flow.name, "state": state.name, "message": state.message,
                     "result": result}, output)
    else:
        from headwater.redaction import redact

        click.echo(redact(f"Flow run {fr.name if fr else '?'} ({run_id}) finished in state {state!r}"), err=True)
    if not state.is_completed():
        exc = state.exception
        if isinstance(exc, HeadwaterError):
            raise exc
        sys.exit(1)


@click.group("runs")
def runs() -> None:
    """List and inspect flow runs, their task runs and logs."""


# The state names runs are recorded with (``--state`` takes any, in any case).
STATE_NAMES = (
    "Scheduled", "Pending", "Running", "Retrying", "Paused", "Completed", "Cached", "Skipped",
    "Failed", "TimedOut", "Crashed", "Cancelling", "Cancelled",
    "Late", "AwaitingRetry", "AwaitingConcurrencySlot",  # a deployment's queued runs
)


def _complete_run_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    from click.shell_completion import CompletionItem

    try:
        from headwater.history.reader import list_flow_runs

        rows = list_flow_runs(limit=200)
    except Exception:  # completion must never print an error into the user's shell
        return []
    return [CompletionItem(r["id"], help=f"{r['flow_name']} {r['state']}")
            for r in rows if r["id"].startswith(incomplete.lower())]


def _check_state(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    for known in STATE_NAMES:
        if value.strip().lower() == known.lower():
            return known
    raise click.BadParameter(f"{value!r} is not a state: use one of {', '.join(STATE_NAMES)}")


def _run_json(r: dict[str, Any]) -> dict[str, Any]:
    """A run (flow or task) for machines: timestamps in ISO 8601 with offset, durations in seconds."""
    out = dict(r)
    for key in ("started", "ended", "scheduled_time"):
        if key in out and out[key] is not None:
            out[key] = iso_time(out[key])
    if "transitions" in out:
        out["transitions"] = [{"state": t[0], "timestamp": iso_time(t[1])} for t in out["transitions"] or []]
    return out


@runs.command("ls")
@click.option("--limit", "-n", default=20, show_default=True, help="How many runs to show (newest first).")
@click.option("--flow", "flow_name", default=None, help="Only runs of this flow.")
@click.option("--state", default=None, callback=_check_state,
              help="Only runs in this state (e.g. Failed, Scheduled, Late).",
              shell_complete=lambda ctx, param, incomplete: [
                  s for s in STATE_NAMES if s.lower().startswith(incomplete.lower())])
@click.option("--deployment", default=None, help="Only runs of this deployment (flow-name/deployment-name).")
@output_option
def ls(limit: int, flow_name: str | None, state: str | None, deployment: str | None, output: str) -> None:
    """List flow runs, newest first (with deployment runs that have not started yet)."""
    from headwater.history.reader import list_flow_runs
    from headwater.orchestration.history import resolve_deployment_name, unstarted_runs

    if deployment:
        deployment = resolve_deployment_name(deployment)
    rows = list_flow_runs(limit=limit, flow_name=flow_name, state=state, deployment=deployment)
    queued = unstarted_runs(limit=limit, flow_name=flow_name, state=state, deployment=deployment)
    if queued:
        key = lambda r: r.get("started") or r.get("scheduled_time") or r.get("created") or 0  # noqa: E731
        rows = sorted([*rows, *queued], key=key, reverse=True)[:limit]
    if output == "json":
        emit([_run_json(r) for r in rows], [], output)
        return
    for r in rows:
        r["run"] = r["id"][:8]
        r["flow"] = r["flow_name"]
        r["start"] = _short_time(r["started"] or r.get("scheduled_time"))
        r["took"] = _fmt_duration(r["duration"])
        r["tasks"] = r["task_runs"]
        r["deployment"] = (r.get("deployment") or "").partition("/")[2]  # its own name, next to the flow's
    columns = ["run", "flow", "name", "state", "start", "took", "tasks"]
    if any(r.get("deployment") for r in rows):
        columns.insert(2, "deployment")
    empty = f"no {state} flow runs" if state else "no flow runs yet"
    emit(rows, columns, output, empty=empty)


@runs.command("cancel")
@click.argument("run_id")
def cancel(run_id: str) -> None:
    """Cancel a deployment's run: a queued one now; a running one is stopped (SIGTERM, then SIGKILL
    after the grace period) and ends Cancelled, running its on_cancellation hooks."""
    from headwater.orchestration.queue import cancel_run

    run = cancel_run(run_id)
    if run["state"] == "Cancelled":
        click.echo(f"cancelled run {run['id']} ({run['deployment']}) before it started")
    else:
        click.echo(f"cancelling run {run['id']} ({run['deployment']}): its worker stops it")


def _short_time(ts: float | None) -> str:
    return "" if ts is None else time.strftime("%m-%d %H:%M:%S", time.localtime(ts))


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.1f}ms"
    if seconds < 120:
        return f"{seconds:.2f}s"
    return time.strftime("%H:%M:%S", time.gmtime(seconds))


@runs.command("show")
@click.argument("run_id", shell_complete=_complete_run_ids)
@output_option
def show(run_id: str, output: str) -> None:
    """Show a flow run and its task runs (states and durations)."""
    from headwater.history.reader import RunNotFoundError, get_flow_run, list_flow_runs, list_task_runs

    try:
        fr = get_flow_run(run_id)
    except RunNotFoundError:  # a deployment's run that has not started has no history yet
        from headwater.orchestration.queue import get_run

        try:
            queued = get_run(run_id)
        except RunNotFoundError:
            raise RunNotFoundError(
                f"no flow run with id {run_id.strip()!r}: see `headwater runs ls` for run ids"
            ) from None
        keys = ("id", "deployment", "flow_name", "name", "state", "message", "work_pool", "worker", "attempts")
        shown = {k: queued[k] for k in keys}
        shown["scheduled"] = format_time(queued["scheduled_time"])
        shown["parameters"] = json.loads(queued["parameters"] or "{}")
        emit_object(shown, output)
        return
    tasks = list_task_runs(fr["id"])
    subflows = list_flow_runs(limit=1000, parent_id=fr["id"])
    if output == "json":
        from headwater.cli.objects_cmd import artifact_json

        emit_object({**_run_json(fr), "task_runs": [_run_json(t) for t in tasks],
                     "subflow_runs": [_run_json(r) for r in subflows],
                     "artifacts": [artifact_json(a) for a in _artifacts_of(fr["id"])]}, output)
        return
    summary = {
        "id": fr["id"], "flow": fr["flow_name"], "name": fr["name"],
        "state": styled_state(fr["state"], fr["state_type"]),
        "started": format_time(fr["started"]), "duration": _fmt_duration(fr["duration"]),
        "parameters": fr["parameters"], "task runs": len(tasks),
    }
    if fr["message"] and fr["state_type"] != "COMPLETED":
        summary["message"] = fr["message"].strip().splitlines()[-1]
    emit_object(summary, output)
    click.echo("")
    for t in tasks:
        t["took"] = _fmt_duration(t["duration"])
        t["tries"] = t["run_count"]
        t["start"] = _short_time(t["started"])
    emit(tasks, ["name", "state", "start", "took", "tries"], output, empty="no task runs")
    if subflows:
        click.echo("")
        for r in subflows:
            r["run"], r["flow"], r["took"] = r["id"][:8], r["flow_name"], _fmt_duration(r["duration"])
        emit(subflows, ["run", "flow", "name", "state", "took"], output, title="subflow runs")
    made = _artifacts_of(fr["id"])
    if made:
        from headwater.cli.objects_cmd import artifact_row

        click.echo("")
        emit([artifact_row(a) for a in made], ["key", "type", "preview"], output, title="artifacts")


def _artifacts_of(flow_run_id: str) -> list[Any]:
    from headwater.artifacts import list_artifacts

    return list_artifacts(flow_run_id, limit=1000)


@runs.command("resume")
@click.argument("run_id")
def resume(run_id: str) -> None:
    """Resume a paused flow run (one waiting in pause_flow_run)."""
    from headwater.flow_runs import resume_flow_run

    resume_flow_run(run_id)
    click.echo(f"resumed flow run {run_id}")


_FINAL_TYPES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@runs.command("logs")
@click.argument("run_id", shell_complete=_complete_run_ids)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until the run finishes.")
@click.option("--interval", default=0.5, show_default=True, type=click.FloatRange(0.05, 60),
              help="With --follow: seconds between checks for new lines.")
@output_option
def logs(run_id: str, follow: bool, interval: float, output: str) -> None:
    """Print the logs of a flow run and its task runs (--follow: as they come, until it ends).

    With -o json, a JSON list of lines (timestamp, level, logger, message, task_run_id); with
    --follow, one JSON object per output line as they come.
    """
    from headwater.history.reader import get_flow_run, list_logs
    from headwater.redaction import redact

    fr = get_flow_run(run_id)
    last_id: int | None = None
    collected: list[dict[str, Any]] = []
    while True:
        done = fr["state_type"] in _FINAL_TYPES  # read before the lines, so none written before the end is missed
        rows = list_logs(fr["id"], after_id=last_id)
        for r in rows:
            last_id = max(last_id or 0, r["id"])
            level = _LEVELS.get(r["level"], str(r["level"]))
            if output == "json":
                line = {"timestamp": iso_time(r["ts"]), "level": level, "logger": r["logger"],
                        "message": r["message"], "task_run_id": r["task_run_id"]}
                if follow:
                    click.echo(redact(json.dumps(line)))
                else:
                    collected.append(line)
                continue
            kind = "Task" if r["task_run_id"] else "Flow"
            stamp = time.strftime("%H:%M:%S", time.localtime(r["ts"]))
            click.echo(redact(f"{stamp} {level} | {kind} {r['logger']!r} - {r['message']}"))
        if not follow or done:
            break
        time.sleep(interval)
        fr = get_flow_run(fr["id"])
    if output == "json" and not follow:
        emit(collected, [], output)


@runs.command("prune")
@click.option("--older-than", "older_than", required=True, help="Age, e.g. 30d, 12h, 90m.")
@click.option("-y", "--yes", is_flag=True, help="Delete without asking.")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@output_option
def prune(older_than: str, yes: bool, dry_run: bool, output: str) -> None:
    """Delete finished runs older than the given age (with their task runs and logs).

    Asks first; --yes deletes without asking (needed when not on a terminal), --dry-run
    only counts.
    """
    from headwater.history.reader import parse_age
    from headwater.history.reader import prune as do_prune

    age = parse_age(older_than)
    counts = do_prune(age, dry_run=True)
    if not dry_run and not yes and counts["flow_runs"] + counts["task_runs"] > 0:
        what = f"{counts['flow_runs']} flow run(s) and {counts['task_runs']} task run(s) older than {older_than}"
        if not sys.stdin.isatty():
            raise click.UsageError(f"this would delete {what}: pass --yes to delete them, or --dry-run to only count")
        click.confirm(f"delete {what}?", abort=True, err=True)
    if not dry_run:
        counts = do_prune(age)
    if output == "json":
        emit_object({**counts, "dry_run": dry_run}, output)
    else:
        verb = "would delete" if dry_run else "deleted"
        click.echo(
            f"{verb} {counts['flow_runs']} flow run(s) and {counts['task_runs']} task run(s) older than {older_than}"
        )
