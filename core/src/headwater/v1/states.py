"""Prefect 0.15's states, as ``flow.run()`` returns them: ``state.result[task].result``.

Unlike Prefect 3's (and Headwater's) ``State``, a 0.15 state's ``result`` is an attribute:
the task's return value, or the exception of a failed task.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Cached", "Failed", "Mapped", "Pending", "Skipped", "State", "Success", "TimedOut", "TriggerFailed"]


class State:
    """A 0.15 task or flow state.

    Attributes:
        message: Why the run is in this state.
        result: The return value (a flow's: a dict of each task's state; a failed task's: its exception).
    """

    __slots__ = ("message", "result", "map_states")

    def __init__(self, message: str | None = None, result: Any = None, map_states: list[State] | None = None) -> None:
        self.message = message
        self.result = result
        self.map_states = map_states or []

    def is_successful(self) -> bool:
        return isinstance(self, Success)

    def is_failed(self) -> bool:
        return isinstance(self, Failed)

    def is_skipped(self) -> bool:
        return isinstance(self, Skipped)

    def is_finished(self) -> bool:
        return isinstance(self, (Success, Failed))

    def is_pending(self) -> bool:
        return isinstance(self, Pending)

    def is_mapped(self) -> bool:
        return isinstance(self, Mapped)

    def is_cached(self) -> bool:
        return isinstance(self, Cached)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.message!r}>" if self.message else f"<{type(self).__name__}>"


class Pending(State):
    """Not run yet."""


class Success(State):
    """Finished and succeeded."""


class Cached(Success):
    """Succeeded with a cached result."""


class Mapped(Success):
    """A mapped task: ``map_states`` has each child's state, ``result`` their results."""


class Skipped(Success):
    """Skipped (by ``SKIP``, a ``case`` that did not match, or a skipped upstream); a success, as in 0.15."""


class Failed(State):
    """Finished and failed; ``result`` is the exception."""


class TimedOut(Failed):
    """Failed by exceeding its timeout."""


class TriggerFailed(Failed):
    """Not run because its trigger failed (by default: an upstream task did not succeed)."""


def from_state(state: Any) -> State:
    """The 0.15 state for a Headwater run state."""
    if state.type == "COMPLETED":
        name = state.name
        if name == "Completed" and state.message is None:  # the common case, kept short
            return Success("Task run succeeded.", state.data)
        value = state._value(False)
        if name == "Skipped":
            return Skipped(state.message)
        if name == "Cached":
            return Cached(state.message, value)
        return Success(state.message or "Task run succeeded.", value)
    exc = state._value(False) if state.type in ("FAILED", "CRASHED", "CANCELLED") else None
    message = (state.message or "").strip().splitlines()[-1] if state.message else None
    if state.name == "TimedOut":
        return TimedOut(message, exc)
    return Failed(message, exc)
