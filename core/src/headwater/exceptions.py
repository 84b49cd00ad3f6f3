"""Prefect's ``prefect.exceptions`` names, so ``except`` clauses keep working.

Each is Headwater's own exception class (or an alias of it) with Prefect's bases:
``PrefectException`` is :class:`~headwater.errors.HeadwaterError`, the base of everything.
"""

from headwater._compat import UnsupportedFeatureError
from headwater.errors import HeadwaterError, ObjectAlreadyExists, ObjectNotFound
from headwater.flow_runs import FlowPauseTimeout, NotPausedError
from headwater.runtime._errors import (
    FlowRunTimeoutError,
    MappingLengthMismatch,
    MappingMissingIterable,
    MissingContextError,
    ParameterBindError,
    ParameterTypeError,
    TaskRunTimeoutError,
)
from headwater.runtime.calls import UpstreamTaskError
from headwater.runtime.states import CancelledRun, CrashedRun, FailedRun, UnfinishedRun

PrefectException = HeadwaterError
MissingResult = UnfinishedRun

__all__ = [
    "CancelledRun",
    "CrashedRun",
    "FailedRun",
    "FlowPauseTimeout",
    "FlowRunTimeoutError",
    "MappingLengthMismatch",
    "MappingMissingIterable",
    "MissingContextError",
    "MissingResult",
    "NotPausedError",
    "ObjectAlreadyExists",
    "ObjectNotFound",
    "ParameterBindError",
    "ParameterTypeError",
    "PrefectException",
    "TaskRunTimeoutError",
    "UnfinishedRun",
    "UnsupportedFeatureError",
    "UpstreamTaskError",
]
