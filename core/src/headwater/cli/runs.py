"""``headwater run FILE.py:flow`` and ``headwater runs ls|show|logs|prune``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from headwater.cli._output import emit, emit_object, format_time, output_option

__all__ = ["run", "runs"]

_LEVELS = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}


def _load_flow(target: str) -> Any:
    from headwater.runtime._errors import FlowNotFoundError
    from headwater.runtime.flows import Flow

    path_text, sep, name = target.rpartition(":")
    if not sep or not path_text or not name:
        raise FlowNotFoundError(f"{target!r} is not FILE.py:flow_name: name the file and the flow, e.g. etl.py:etl")
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise FlowNotFoundError(f"flow file {path_text!r} does not exist: check the path")
    import importlib.util

    module_name = f"__headwater_flow_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise FlowNotFoundError(f"{path_text!r} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    sys.path.insert(0, str(path.resolve().parent))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise FlowNotFoundError(f"importing {path_text} failed: {type(exc).__name__}: {exc}") from None
    flows = {k: v for k, v in vars(module).items() if isinstance(v, Flow)}
    if "headwater.v1.flow" in sys.modules:  # Prefect 0.15-style `with Flow("name") as flow:` graphs too
        from headwater.v1.engine import as_headwater_flow
        from headwater.v1.flow import Flow as GraphFlow

        graphs = {k: v for k, v in vars(module).items() if isinstance(v, GraphFlow)}
        flows.update({k: as_headwater_flow(v) for k, v in graphs.items() if k not in flows})
    found = flows.get(name) or next((f for f in flows.values() if f.name == name), None)
    if found is None:
        available = ", ".join(sorted(flows)) or "none"
        raise FlowNotFoundError(f"{path_text} has no flow named {name!r} (flows in it: {available})")
    return found


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
@click.argument("target")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="A flow parameter; the value is parsed as JSON when it parses (kept as text for str parameters). Repeatable.")
@output_option
def run(target: str, params: tuple[str, ...], output: str) -> None:
    """Run a flow from a file: headwater run FILE.py:flow_name --param key=value"""
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


@runs.command("ls")
@click.option("--limit", "-n", default=20, show_default=True, help="How many runs to show (newest first).")
@click.option("--flow", "flow_name", default=None, help="Only runs of this flow.")
@click.option("--state", default=None, help="Only runs in this state (e.g. Failed).")
@output_option
def ls(limit: int, flow_name: str | None, state: str | None, output: str) -> None:
    """List flow runs, newest first."""
    from headwater.history.reader import list_flow_runs

    rows = list_flow_runs(limit=limit, flow_name=flow_name, state=state)
    for r in rows:
        r["start"] = _short_time(r["started"])
        r["took"] = _fmt_duration(r["duration"])
    for r in rows:
        r["run"] = r["id"][:8]
        r["flow"] = r["flow_name"]
        r["tasks"] = r["task_runs"]
    emit(rows, ["run", "flow", "name", "state", "start", "took", "tasks"], output, empty="no flow runs yet")


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
@click.argument("run_id")
@output_option
def show(run_id: str, output: str) -> None:
    """Show a flow run and its task runs (states and durations)."""
    from headwater.history.reader import get_flow_run, list_flow_runs, list_task_runs

    fr = get_flow_run(run_id)
    tasks = list_task_runs(fr["id"])
    subflows = list_flow_runs(limit=1000, parent_id=fr["id"])
    if output == "json":
        emit_object({**fr, "task_runs": tasks, "subflow_runs": subflows, "artifacts": _artifacts_of(fr["id"])}, output)
        return
    summary = {
        "id": fr["id"], "flow": fr["flow_name"], "name": fr["name"], "state": fr["state"],
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
        click.echo("")
        emit(made, ["key", "type", "preview"], output, title="artifacts")


def _artifacts_of(flow_run_id: str) -> list[dict[str, Any]]:
    from headwater.artifacts import list_artifacts
    from headwater.cli.objects_cmd import artifact_row

    return [artifact_row(a) for a in list_artifacts(flow_run_id, limit=1000)]


@runs.command("resume")
@click.argument("run_id")
def resume(run_id: str) -> None:
    """Resume a paused flow run (one waiting in pause_flow_run)."""
    from headwater.flow_runs import resume_flow_run

    resume_flow_run(run_id)
    click.echo(f"resumed flow run {run_id}")


@runs.command("logs")
@click.argument("run_id")
@output_option
def logs(run_id: str, output: str) -> None:
    """Print the logs of a flow run and its task runs."""
    from headwater.history.reader import get_flow_run, list_logs

    fr = get_flow_run(run_id)
    rows = list_logs(fr["id"])
    if output == "json":
        emit(rows, [], output)
        return
    from headwater.redaction import redact

    for r in rows:
        kind = "Task" if r["task_run_id"] else "Flow"
        stamp = time.strftime("%H:%M:%S", time.localtime(r["ts"]))
        click.echo(redact(f"{stamp} {_LEVELS.get(r['level'], r['level'])} | {kind} {r['logger']!r} - {r['message']}"))


@runs.command("prune")
@click.option("--older-than", "older_than", required=True, help="Age, e.g. 30d, 12h, 90m.")
@output_option
def prune(older_than: str, output: str) -> None:
    """Delete finished runs older than the given age (with their task runs and logs)."""
    from headwater.history.reader import parse_age
    from headwater.history.reader import prune as do_prune

    counts = do_prune(parse_age(older_than))
    if output == "json":
        emit_object(counts, output)
    else:
        click.echo(f"deleted {counts['flow_runs']} flow run(s) and {counts['task_runs']} task run(s) older than {older_than}")
