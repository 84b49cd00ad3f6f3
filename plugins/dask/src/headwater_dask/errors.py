"""Errors raised by headwater-dask."""

from __future__ import annotations

from headwater.errors import ConfigError, ConnectionFailedError

__all__ = ["DaskClusterConfigError", "DaskConnectionError"]


class DaskClusterConfigError(ConfigError):
    """The Dask runner or DaskCluster block is configured in a way that cannot work."""


class DaskConnectionError(ConnectionFailedError):
    """The Dask scheduler could not be reached, or the cluster did not start."""
