"""Prefect's ``prefect.states``: the state constructors and ``State`` (see :mod:`headwater.runtime.states`)."""

from headwater.runtime.states import (
    Cached,
    Cancelled,
    Completed,
    Crashed,
    Failed,
    Paused,
    Pending,
    Retrying,
    Running,
    Scheduled,
    Skipped,
    State,
    StateType,
    TimedOut,
    get_state_exception,
    raise_state_exception,
)

AwaitingRetry = Retrying

_NOT_OFFERED = {
    name: "Headwater's states are Pending, Running, Completed, Cached, Failed, TimedOut, Crashed, Cancelled, "
          "Retrying, Scheduled, Paused"
    for name in ("Suspended", "Cancelling", "AwaitingConcurrencySlot", "InfrastructurePending", "Late", "Submitting")
}


def __getattr__(name: str) -> object:
    from headwater._compat import unsupported

    return unsupported(__name__, name, _NOT_OFFERED)

__all__ = [
    "AwaitingRetry",
    "Cached",
    "Cancelled",
    "Completed",
    "Crashed",
    "Failed",
    "Paused",
    "Pending",
    "Retrying",
    "Running",
    "Scheduled",
    "Skipped",
    "State",
    "StateType",
    "TimedOut",
    "get_state_exception",
    "raise_state_exception",
]
