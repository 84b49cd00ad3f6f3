"""What runs on the Dask workers: the runtime's ``run_payload`` with task objects cached.

A flow that maps one task over 1,000 inputs ships the task (its function, pickled by value
when defined in ``__main__``) once per worker instead of once per call: each payload refers
to the task by a token, and the pickled task travels alongside as bytes that each worker
unpickles only the first time it sees the token.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

_MAX_TASKS = 512
_tasks: OrderedDict[str, Any] = OrderedDict()
_lock = threading.Lock()
_MAX_CANCELLED = 256
_cancelled: OrderedDict[str, str] = OrderedDict()  # session token -> why its calls must not start
_EXECUTING = ("executing", "long-running")


class TaskRef:
    """Stands in for a task inside a payload; unpickles to the worker's cached task."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (_cached_task, (self.token,))


class UpstreamValue:
    """Stands in for an upstream future's result inside a chained payload."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __reduce__(self) -> tuple[Any, tuple[int]]:
        return (_upstream_value, (self.index,))


_local = threading.local()
RESOLVE_IN_FLOW = "headwater-dask:resolve-inputs-in-the-flow-process"


def _upstream_value(index: int) -> Any:
    return _local.values[index]


def _completed_value(raw: Any) -> tuple[bool, Any]:
    """(True, value) when ``raw`` (an upstream's outcome) is a Completed state."""
    import cloudpickle
    from headwater.runtime.states import State

    try:
        decoded = cloudpickle.loads(raw) if isinstance(raw, bytes) else raw
    except Exception:
        return False, None
    state = decoded[0] if isinstance(decoded, tuple) and decoded else decoded
    if isinstance(state, State) and state.is_completed():
        return True, state.result()
    return False, None


def mark_cancelled(session: str, message: str, dask_worker: Any = None) -> list[str]:
    """Run on every worker when a flow run is interrupted: from now on, calls of ``session``
    end ``Cancelled(message)`` instead of starting. Returns the keys of the tasks this worker
    is executing (they started, so they run to their end)."""
    with _lock:
        _cancelled[session] = message
        while len(_cancelled) > _MAX_CANCELLED:
            _cancelled.popitem(last=False)
    if dask_worker is None:
        return []
    return [str(key) for key, ts in list(dask_worker.state.tasks.items()) if ts.state in _EXECUTING]


def run_chained(payload: bytes, token: str, task_blob: bytes, upstream: list[Any], _waits: list[Any],
                session: str | None = None) -> Any:
    """Worker entry point of a chained call: ``upstream`` holds the upstream outcomes (Dask
    resolved the futures); run only if every one completed, else ask the flow to take over."""
    if session is not None and session in _cancelled:
        return run_remote(payload, token, task_blob, session)
    values = []
    for raw in upstream:
        ok, value = _completed_value(raw)
        if not ok:
            return RESOLVE_IN_FLOW
        values.append(value)
    _local.values = values
    try:
        return run_remote(payload, token, task_blob, session)
    finally:
        _local.values = None


def _cached_task(token: str) -> Any:
    with _lock:
        return _tasks[token]


def run_remote(payload: bytes, token: str | None = None, task_blob: bytes | None = None,
               session: str | None = None) -> Any:
    """Worker entry point: make the task of ``token`` available, then run the payload (or, when
    ``session``'s flow run was interrupted, record it Cancelled without running it).

    Returns the runtime's outcome bytes (which carry the secret values this worker knows,
    so that the flow's process redacts them too).
    """
    from headwater.runtime.calls import run_payload

    if token is not None:
        with _lock:
            known = token in _tasks
            if known:
                _tasks.move_to_end(token)
        if not known:
            import cloudpickle

            task = cloudpickle.loads(task_blob)  # type: ignore[arg-type]
            with _lock:
                _tasks[token] = task
                while len(_tasks) > _MAX_TASKS:
                    _tasks.popitem(last=False)
    return run_payload(payload, _cancelled.get(session) if session is not None else None)
