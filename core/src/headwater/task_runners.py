"""Prefect's ``prefect.task_runners`` (``DaskTaskRunner`` is in ``headwater_dask``)."""

from headwater.runtime.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

PrefectTaskRunner = ThreadPoolTaskRunner  # Prefect's in-process default

__all__ = ["PrefectTaskRunner", "ProcessPoolTaskRunner", "TaskRunner", "ThreadPoolTaskRunner"]

_ELSEWHERE = {
    "DaskTaskRunner": "it is in the headwater-dask plugin: from headwater_dask import DaskTaskRunner",
    "RayTaskRunner": "Ray is not supported: use ProcessPoolTaskRunner or headwater_dask.DaskTaskRunner",
}


def __getattr__(name: str) -> object:
    from headwater._compat import unsupported

    return unsupported(__name__, name, _ELSEWHERE)
