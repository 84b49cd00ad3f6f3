"""The process that runs one deployment run: ``python -m headwater.orchestration._child``.

It reads the run's spec (one JSON line) on stdin, pulls the code, loads the flow, waits for
the scheduled instant (so process start-up is not on the clock), records the start, runs the
flow under the run's id and records the final state. SIGTERM means "cancel": before the
flow starts the run ends Cancelled at once; while it runs the engine ends it Cancelled and
calls its ``on_cancellation`` hooks.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

__all__ = ["execute", "main"]


def _on_term(signum: int, frame: Any) -> None:
    from headwater.runtime._errors import FlowRunCancelled
    from headwater.runtime.context import defer_cancel

    if defer_cancel():  # inside a store transaction: raised when it ends
        return

    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the engine's cleanup must not be interrupted again
    raise FlowRunCancelled("the flow run was cancelled")


def _record_flow_run(tx: Any, spec: dict[str, Any], flow: Any, params: dict[str, Any]) -> None:
    """Create the run's history row with its deployment fields before the engine writes the rest."""
    from headwater.history.writer import encode_parameters, host_name

    now = time.time()
    row = {
        "id": spec["id"],
        "name": spec.get("name") or spec["id"][:8],
        "flow_name": flow.name,
        "state_type": "PENDING",
        "state": "Pending",
        "parameters": encode_parameters(params),
        "run_count": 0,
        "created": now,
        "pid": os.getpid(),
        "host": host_name(),
        "heartbeat": now,
        "deployment": spec.get("deployment"),
        "scheduled_time": spec.get("scheduled_time"),
        "worker": spec.get("worker"),
        "work_pool": spec.get("work_pool"),
    }
    cols = ", ".join(row)
    marks = ", ".join(f":{c}" for c in row)
    tx.execute(
        f"INSERT INTO flow_runs ({cols}) VALUES ({marks}) ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, "
        "host = excluded.host, heartbeat = excluded.heartbeat, worker = excluded.worker, state_type = 'PENDING', "
        "state = 'Pending', ended = NULL",
        row,
    )


def _deployment_info(spec: dict[str, Any]) -> dict[str, Any] | None:
    """What ``headwater.runtime.deployment`` answers in this run (the saved deployment is read
    only if the flow asks for more than its id and name)."""
    dep_id = spec.get("deployment_id")
    if not dep_id:
        return None

    def load() -> Any:
        from headwater.orchestration.deployments import get_deployment

        return get_deployment(dep_id)

    return {"id": dep_id, "name": spec.get("deployment"), "flow_run_id": spec["id"], "load": load,
            "scheduled_time": spec.get("scheduled_time"), "job_variables": spec.get("job_variables") or {}}


def execute(spec: dict[str, Any]) -> int:
    """Run one claimed deployment run to its final state; returns a process exit code."""
    from headwater.errors import HeadwaterError
    from headwater.orchestration import queue
    from headwater.runtime._errors import FlowRunCancelled

    run_id, worker = spec["id"], spec["worker"]
    started = False
    try:
        from headwater.orchestration.entrypoints import load_flow
        from headwater.orchestration.sources import pull

        try:
            code = pull(spec.get("source"))
            flow = load_flow(spec["entrypoint"], code)
            params = dict(spec.get("parameters") or {})  # the flow call validates them (a bad one: Failed)
        except HeadwaterError as exc:
            from headwater.redaction import redact

            queue.finish_run(run_id, worker, "FAILED", "Failed", redact(str(exc)))
            return 1
        os.chdir(code)
        wait = float(spec.get("scheduled_time") or 0) - time.time()
        if wait > 0:
            time.sleep(wait)
        if not queue.mark_started(run_id, worker, os.getpid(), lambda tx: _record_flow_run(tx, spec, flow, params)):
            run = queue.get_run(run_id)
            if run["cancel_requested"]:
                queue.finish_run(run_id, worker, "CANCELLED", "Cancelled", "cancelled before it started")
            return 0
        started = True
        from headwater.runtime.context import preset_flow_run_id, set_current_deployment

        preset_flow_run_id(run_id, spec.get("name"))
        set_current_deployment(_deployment_info(spec))
        if flow.is_async:
            import asyncio

            state = asyncio.run(flow(return_state=True, **params))
        else:
            state = flow(return_state=True, **params)
        from headwater.history.writer import flush

        flush()
        if getattr(flow, "flow_run_name", None) is not None:
            _adopt_rendered_name(run_id)
        message = (state.message or "").strip().splitlines()[-1:] if state.type != "COMPLETED" else []
        queue.finish_run(run_id, worker, state.type, state.name, message[0] if message else None)
        return 0 if state.type == "COMPLETED" else 1
    except FlowRunCancelled:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _flush_quietly()
        queue.finish_run(
            run_id,
            worker,
            "CANCELLED",
            "Cancelled",
            "cancelled while running" if started else "cancelled before it started",
        )
        return 143


def _adopt_rendered_name(run_id: str) -> None:
    """A flow with its own ``flow_run_name`` renames its run when it starts; the queue row follows,
    so the run has one name everywhere."""
    from headwater.store.engine import db_write

    with db_write() as tx:
        tx.execute(
            "UPDATE scheduled_runs SET name = (SELECT name FROM flow_runs WHERE flow_runs.id = :id) "
            "WHERE id = :id AND EXISTS (SELECT 1 FROM flow_runs WHERE flow_runs.id = :id)",
            {"id": run_id},
        )


def _flush_quietly() -> None:
    try:
        from headwater.history.writer import flush

        flush()
    except Exception:
        pass


def main() -> None:
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the serve/worker process, which decides
    line = sys.stdin.readline()
    if not line:
        sys.exit(2)
    spec = json.loads(line)
    sys.exit(execute(spec))


if __name__ == "__main__":
    main()
