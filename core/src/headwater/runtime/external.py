"""Recording runs of work that is not a Python function (a dbt node, a shell step, ...)."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from headwater.runtime import _record
from headwater.runtime._errors import UnknownStateError
from headwater.runtime.context import TaskRun, _flow_run_var, new_id
from headwater.runtime.states import STATE_BY_NAME, Running, State

__all__ = ["ExternalTaskRun", "start_task_run"]

_BY_LOWER = {name.lower(): factory for name, factory in STATE_BY_NAME.items()}


def _ts(value: float | datetime | None) -> float:
    if value is None:
        return time.time()
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


class ExternalTaskRun:
    """Handle returned by :func:`start_task_run`; call :meth:`finish` exactly once."""

    __slots__ = ("_tr", "_finished")

    def __init__(self, tr: TaskRun) -> None:
        self._tr = tr
        self._finished = False

    @property
    def id(self) -> str:
        """The task run's id (use it in ``upstream_ids`` of downstream runs)."""
        return self._tr.id

    @property
    def name(self) -> str:
        return self._tr.name

    @property
    def state(self) -> State:
        return self._tr.state

    def finish(self, state: str | State = "Completed", message: str | None = None,
               ended_at: float | datetime | None = None, metadata: dict[str, Any] | None = None) -> State:
        """Record the run's final state.

        Args:
            state: ``"Completed"``, ``"Failed"``, ``"Cancelled"``, ``"Skipped"``, ``"Crashed"``,
                ``"Cached"``, ``"TimedOut"`` (any case) or a :class:`State`.
            message: Why it ended so (an error text, for example); secrets are redacted.
            ended_at: When it ended (epoch seconds or datetime); now by default.
            metadata: Small JSON-able facts to keep with the run, e.g. ``{"rows_affected": 12}``.

        Returns:
            The recorded state.

        Raises:
            UnknownStateError: ``state`` is not a known state name.
        """
        if isinstance(state, State):
            final = state
            if message is not None:
                final.message = message
        else:
            factory = _BY_LOWER.get(str(state).lower())
            if factory is None:
                raise UnknownStateError(
                    f"unknown state {state!r} for task run {self._tr.name!r}: use one of {', '.join(STATE_BY_NAME)}"
                )
            final = factory(message=message)
        tr = self._tr
        tr.ended = _ts(ended_at)
        final.timestamp = tr.ended
        if metadata:
            tr.metadata = dict(metadata)
        self._finished = True
        _record.set_task_state(tr, final)
        level = logging.INFO if final.type in ("COMPLETED", "CANCELLED") else logging.ERROR
        _record.log(tr, level, f"Finished in state {final!r}")
        return final

    def __enter__(self) -> ExternalTaskRun:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if not self._finished:
            if exc is None:
                self.finish("Completed")
            else:
                self.finish("Failed", message=f"{type(exc).__name__}: {exc}")

    def __repr__(self) -> str:
        return f"ExternalTaskRun(id={self.id!r}, name={self.name!r}, state={self._tr.state!r})"


def start_task_run(
    name: str,
    *,
    task_key: str | None = None,
    tags: tuple[str, ...] | list[str] = (),
    parameters: dict[str, Any] | None = None,
    upstream_ids: tuple[str, ...] | list[str] = (),
    started_at: float | datetime | None = None,
) -> ExternalTaskRun:
    """Record a task run for work that is not a Headwater task (a dbt node, for example).

    The run belongs to the current flow run (a standalone run outside any flow) and is
    recorded in history with lineage edges ``upstream_ids -> run.id``.

    Args:
        name: The run's name (shown in ``headwater runs show``).
        task_key: A stable key for the kind of work (e.g. ``model.shop.orders``); ``name`` by default.
        tags: Tags of the run.
        parameters: Parameters to record (secret values masked).
        upstream_ids: Ids of task runs this one depends on.
        started_at: When it started (epoch seconds or datetime); now by default.

    Returns:
        An :class:`ExternalTaskRun` with ``.id``; call ``.finish(state, ...)`` when it ends.

    Example:
        >>> tr = start_task_run("model.shop.orders", upstream_ids=[seed.id])
        >>> tr.finish("Completed", metadata={"rows_affected": 12})
    """
    fr = _flow_run_var.get()
    sink = fr.sink if fr is not None else _record.default_sink()
    tr = TaskRun(new_id(), name, name, task_key or name, fr.id if fr else None, parameters or {}, tuple(tags), sink)
    tr.hparams = parameters or None
    tr.run_count = 1
    tr.started = _ts(started_at)
    tr.upstream = tuple(upstream_ids)
    for up in tr.upstream:
        _record.edge(sink, up, tr.id, tr.flow_run_id)
    running = Running()
    running.timestamp = tr.started
    _record.set_task_state(tr, running)
    return ExternalTaskRun(tr)
