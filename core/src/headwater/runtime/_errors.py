"""Errors raised by the flow runtime (all :class:`headwater.errors.HeadwaterError` children)."""

from __future__ import annotations

from headwater.errors import HeadwaterError

__all__ = [
    "FlowNotFoundError",
    "FlowRunCancelled",
    "ParameterValidationError",
    "ResultPersistenceError",
    "RunError",
    "TaskTimeoutError",
    "UnknownStateError",
]


class RunError(HeadwaterError):
    """A flow or task could not be run as asked."""


class ParameterValidationError(RunError, ValueError):
    """A flow's parameters do not match its signature or type hints."""


class FlowNotFoundError(RunError, LookupError):
    """``headwater run FILE.py:flow`` named a file or flow that does not exist."""


class ResultPersistenceError(RunError):
    """A result could not be serialized, written or read back."""


class UnknownStateError(RunError, ValueError):
    """A state name that Headwater does not know."""


class TaskTimeoutError(RunError, TimeoutError):
    """A task or flow exceeded its ``timeout_seconds``."""


class FlowRunCancelled(BaseException):
    """Raised inside a flow run's process when the run is cancelled (``headwater runs cancel``).

    A ``BaseException`` so that the flow's own ``except Exception`` blocks do not swallow it;
    the engine ends the run Cancelled and calls its ``on_cancellation`` hooks.
    """
