"""Errors raised by the flow runtime (all :class:`headwater.errors.HeadwaterError` children)."""

from __future__ import annotations

from headwater.errors import HeadwaterError

__all__ = [
    "FlowNotFoundError",
    "FlowRunCancelled",
    "FlowRunTimeoutError",
    "GraphError",
    "MappingLengthMismatch",
    "MappingMissingIterable",
    "MissingContextError",
    "ParameterBindError",
    "ParameterTypeError",
    "ParameterValidationError",
    "ResultPersistenceError",
    "RunError",
    "TaskRunTimeoutError",
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
class TaskRunTimeoutError(TaskTimeoutError):
    """A task run exceeded its ``timeout_seconds`` (Prefect's name; a ``TimeoutError``)."""


class FlowRunTimeoutError(TaskTimeoutError):
    """A flow run exceeded its ``timeout_seconds`` (Prefect's name; a ``TimeoutError``)."""


class ParameterBindError(ParameterValidationError, TypeError):
    """A flow was called with arguments that do not fit its signature (a ``TypeError``, as in Prefect)."""


class ParameterTypeError(ParameterValidationError):
    """A flow's parameters do not validate against its type hints (Prefect's name)."""


class MappingLengthMismatch(RunError, ValueError):  # noqa: N818 (Prefect's name)
    """``task.map()`` got iterables of different lengths."""


class MappingMissingIterable(RunError, ValueError):  # noqa: N818 (Prefect's name)
    """``task.map()`` got no iterable argument to map over."""


class MissingContextError(RunError, RuntimeError):
    """Something that needs a flow or task run (``get_run_logger()``) was used outside one."""


class GraphError(RunError, ValueError):
    """A Prefect 0.15 construct used where it cannot work; the message says what to use instead."""
