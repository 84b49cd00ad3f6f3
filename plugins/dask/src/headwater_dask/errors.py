"""Errors raised by headwater-dask."""

from __future__ import annotations

from headwater.errors import ConfigError, ConnectionFailedError, HeadwaterError

__all__ = ["DaskClusterConfigError", "DaskConnectionError", "WorkerDiedError"]


class DaskClusterConfigError(ConfigError):
    """The Dask runner or DaskCluster block is configured in a way that cannot work."""


class DaskConnectionError(ConnectionFailedError):
    """The Dask scheduler could not be reached, or the cluster did not start."""


class WorkerDiedError(HeadwaterError):
    """The Dask worker process running a task died (killed, out of memory, segfault)."""
