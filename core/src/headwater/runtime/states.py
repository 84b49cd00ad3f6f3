"""Run states: Pending, Running, Completed, Failed, Crashed, Cancelled, Cached, Retrying, TimedOut.

A :class:`State` carries its type, a display name, a message, a timestamp and (for final
states) the run's result or exception. ``state.result()`` returns the result or raises the
run's exception.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from headwater.errors import HeadwaterError

__all__ = [
    "Cached",
    "Cancelled",
    "CancelledRun",
    "Completed",
    "Crashed",
    "CrashedRun",
    "Failed",
    "FailedRun",
    "Paused",
    "Pending",
    "Retrying",
    "Running",
    "Scheduled",
    "Skipped",
    "State",
    "StateType",
    "TimedOut",
    "UnfinishedRun",
    "get_state_exception",
    "raise_state_exception",
]


class StateType:
    """The kinds of state (strings, so they are cheap to compare and store)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CRASHED = "CRASHED"
    CANCELLED = "CANCELLED"
    SCHEDULED = "SCHEDULED"
    PAUSED = "PAUSED"


_FINAL = frozenset({StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED})
_NO_RESULT = object()


class FailedRun(HeadwaterError):
    """Raised by ``state.result()`` when the state failed without an exception of its own."""


class CrashedRun(FailedRun):
    """``state.result()`` of a Crashed state without an exception of its own (Prefect's name)."""


class CancelledRun(FailedRun):
    """``state.result()`` of a Cancelled state without an exception of its own (Prefect's name)."""


class UnfinishedRun(FailedRun):
    """``state.result()`` of a state that is not final (Pending, Running, Paused), as in Prefect."""


class State:
    """The state of a flow or task run.

    Attributes:
        type: One of :class:`StateType`.
        name: Display name: ``Completed``, ``Cached``, ``TimedOut``, ``Retrying``, ...
        message: Why the run is in this state (a failure's traceback, for example).
        timestamp: When the state was entered (seconds since the epoch).
    """

    __slots__ = ("type", "name", "message", "timestamp", "_data", "exception")

    def __init__(
        self,
        type: str,
        name: str | None = None,
        message: str | None = None,
        data: Any = _NO_RESULT,
        exception: BaseException | None = None,
        timestamp: float | None = None,
    ) -> None:
        self.type = type
        self.name = name or type.capitalize()
        self.message = message
        self.timestamp = time.time() if timestamp is None else timestamp
        self._data = data
        self.exception = exception

    def result(self, raise_on_failure: bool = True, _sync: bool | None = None) -> Any:
        """The run's return value; in async code an awaitable of it (``await state.result()``).

        As in Prefect, "async code" is an async flow or task run, or, outside any run, a
        running event loop; ``_sync=True`` asks for the value there too, and
        :meth:`aresult` is the awaitable anywhere.

        Args:
            raise_on_failure: When the state is Failed/Crashed/Cancelled, raise the run's
                exception (True) or return it (False).

        Raises:
            The run's exception when the state is not Completed and ``raise_on_failure``;
            :class:`UnfinishedRun` when the run has not finished.
        """
        if _sync is None and _in_async_context():
            return self.aresult(raise_on_failure)
        return self._value(raise_on_failure)

    async def aresult(self, raise_on_failure: bool = True) -> Any:
        """The run's return value, awaited (see :meth:`result`)."""
        return self._value(raise_on_failure)

    def _value(self, raise_on_failure: bool = True) -> Any:
        if self.type == StateType.COMPLETED:
            return None if self._data is _NO_RESULT else self._data
        if self.type in (StateType.FAILED, StateType.CRASHED, StateType.CANCELLED):
            if self.exception is not None:
                exc = self.exception
            else:
                kind = {StateType.CRASHED: CrashedRun, StateType.CANCELLED: CancelledRun}.get(self.type, FailedRun)
                exc = kind(self.message or f"run finished in state {self!r}")
            if raise_on_failure:
                raise exc
            return exc
        if raise_on_failure:
            raise UnfinishedRun(f"the run has not finished: it is in state {self!r}")
        return None

    @property
    def data(self) -> Any:
        return None if self._data is _NO_RESULT else self._data

    def is_pending(self) -> bool:
        return self.type == StateType.PENDING

    def is_running(self) -> bool:
        return self.type == StateType.RUNNING

    def is_completed(self) -> bool:
        return self.type == StateType.COMPLETED

    def is_failed(self) -> bool:
        return self.type == StateType.FAILED

    def is_crashed(self) -> bool:
        return self.type == StateType.CRASHED

    def is_cancelled(self) -> bool:
        return self.type == StateType.CANCELLED

    def is_scheduled(self) -> bool:
        return self.type == StateType.SCHEDULED

    def is_final(self) -> bool:
        return self.type in _FINAL

    def is_cached(self) -> bool:
        return self.name == "Cached"

    def is_timed_out(self) -> bool:
        return self.name == "TimedOut"

    def is_retrying(self) -> bool:
        return self.name == "Retrying"

    def __repr__(self) -> str:
        if self.message and self.type != StateType.COMPLETED:
            first = self.message.strip().splitlines()[-1] if self.message.strip() else ""
            return f"{self.name}({first!r})" if first else f"{self.name}()"
        return f"{self.name}()"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, State) and other.type == self.type and other.name == self.name

    __hash__ = object.__hash__

    def __reduce__(self) -> Any:
        return (_rebuild, (self.type, self.name, self.message, self._data, self.exception, self.timestamp))


def _rebuild(type: str, name: str, message: str | None, data: Any, exception: Any, timestamp: float) -> State:
    return State(type, name, message, data, exception, timestamp)


def Pending(message: str | None = None) -> State:
    """A run that has been created and has not started."""
    return State(StateType.PENDING, "Pending", message)


def Running(message: str | None = None) -> State:
    """A run that is executing."""
    return State(StateType.RUNNING, "Running", message)


def Completed(data: Any = None, message: str | None = None) -> State:
    """A run that returned ``data``."""
    return State(StateType.COMPLETED, "Completed", message, data)


def Cached(data: Any = None, message: str | None = None) -> State:
    """A completed run whose result came from the cache."""
    return State(StateType.COMPLETED, "Cached", message, data)


def Skipped(message: str | None = None) -> State:
    """A completed run that did no work (for externally recorded runs such as dbt nodes)."""
    return State(StateType.COMPLETED, "Skipped", message)


def Failed(message: str | None = None, exception: BaseException | None = None, data: Any = None) -> State:
    """A run whose code raised (after any retries)."""
    return State(StateType.FAILED, "Failed", message, exception=_exception(exception, data))


def TimedOut(message: str | None = None, exception: BaseException | None = None, data: Any = None) -> State:
    """A failed run that exceeded its ``timeout_seconds``."""
    return State(StateType.FAILED, "TimedOut", message, exception=_exception(exception, data))


def Crashed(message: str | None = None, exception: BaseException | None = None, data: Any = None) -> State:
    """A run stopped by something outside its code (process killed, interrupt, system exit)."""
    return State(StateType.CRASHED, "Crashed", message, exception=_exception(exception, data))


def Cancelled(message: str | None = None, exception: BaseException | None = None, data: Any = None) -> State:
    """A run that was cancelled."""
    return State(StateType.CANCELLED, "Cancelled", message, exception=_exception(exception, data))


def _exception(exception: BaseException | None, data: Any) -> BaseException | None:
    """Prefect writes ``Failed(data=exc)``: the exception may come as ``data``."""
    return exception if exception is not None or not isinstance(data, BaseException) else data


def Retrying(message: str | None = None) -> State:
    """A failed attempt that will be retried."""
    return State(StateType.SCHEDULED, "Retrying", message)


def Scheduled(message: str | None = None) -> State:
    """A run that is waiting for its start time."""
    return State(StateType.SCHEDULED, "Scheduled", message)


def Paused(message: str | None = None) -> State:
    """A flow run waiting for ``resume_flow_run`` (see :func:`headwater.flow_runs.pause_flow_run`)."""
    return State(StateType.PAUSED, "Paused", message)


def get_state_exception(state: State) -> BaseException:
    """The exception a failed, crashed or cancelled state holds (or stands for), as Prefect's helper.

    Raises:
        ValueError: The state is Completed or not final.
    """
    if state.type not in (StateType.FAILED, StateType.CRASHED, StateType.CANCELLED):
        raise ValueError(f"{state!r} is not a failed, crashed or cancelled state: it holds no exception")
    return state._value(raise_on_failure=False)


def raise_state_exception(state: State) -> None:
    """Raise the exception of a failed, crashed or cancelled state; do nothing for any other."""
    if state.type in (StateType.FAILED, StateType.CRASHED, StateType.CANCELLED):
        raise get_state_exception(state)


STATE_BY_NAME = {
    "Pending": Pending,
    "Running": Running,
    "Completed": Completed,
    "Cached": Cached,
    "Skipped": Skipped,
    "Failed": Failed,
    "TimedOut": TimedOut,
    "Crashed": Crashed,
    "Cancelled": Cancelled,
    "Retrying": Retrying,
    "Scheduled": Scheduled,
    "Paused": Paused,
}


def _in_async_context() -> bool:
    """Whether ``state.result()`` is called from async code, decided as Prefect does: the
    current task or flow run is async; outside a run, an event loop is running."""
    from headwater.runtime.context import _flow_run_var, _task_run_var

    tr = _task_run_var.get()
    if tr is not None:
        call = tr._call
        return bool(call is not None and call[0].is_async)
    fr = _flow_run_var.get()
    if fr is not None:
        return bool(getattr(fr.flow, "is_async", False))
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
