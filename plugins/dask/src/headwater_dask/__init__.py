"""headwater-dask: run a Headwater flow's tasks on a Dask cluster.

Example:
    >>> from headwater import flow, task
    >>> from headwater_dask import DaskTaskRunner
    >>> @flow(task_runner=DaskTaskRunner(cluster_kwargs={"n_workers": 2}))   # doctest: +SKIP
    ... def pipeline(): ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.lazy import lazy_exports

__all__ = ["DaskCluster", "DaskClusterConfigError", "DaskConnectionError", "DaskTaskRunner", "WorkerDiedError"]

_EXPORTS = {
    "DaskCluster": "headwater_dask.blocks",
    "DaskTaskRunner": "headwater_dask.task_runners",
    "DaskClusterConfigError": "headwater_dask.errors",
    "DaskConnectionError": "headwater_dask.errors",
    "WorkerDiedError": "headwater_dask.errors",
}

if TYPE_CHECKING:
    from headwater_dask.blocks import DaskCluster
    from headwater_dask.errors import DaskClusterConfigError, DaskConnectionError, WorkerDiedError
    from headwater_dask.task_runners import DaskTaskRunner


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
