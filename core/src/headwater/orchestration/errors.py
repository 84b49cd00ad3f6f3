"""Errors raised by orchestration: schedules, deployments, work pools, workers."""

from __future__ import annotations

from headwater.errors import HeadwaterError

__all__ = [
    "DeploymentError",
    "DeploymentNotFoundError",
    "InvalidScheduleError",
    "SourceError",
    "WorkPoolError",
    "WorkPoolNotFoundError",
]


class InvalidScheduleError(HeadwaterError, ValueError):
    """A cron expression, rrule, interval or timezone is not valid."""


class DeploymentError(HeadwaterError):
    """A deployment cannot be created or run as asked."""


class DeploymentNotFoundError(DeploymentError, LookupError):
    """No deployment with that name exists."""


class WorkPoolError(HeadwaterError):
    """A work pool or worker cannot be created or started as asked."""


class WorkPoolNotFoundError(WorkPoolError, LookupError):
    """No work pool with that name exists."""


class SourceError(DeploymentError):
    """A deployment's code source cannot be reached or does not hold the entrypoint."""
