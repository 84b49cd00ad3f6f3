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
