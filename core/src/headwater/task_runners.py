"""Prefect's ``prefect.task_runners`` (``DaskTaskRunner`` is in ``headwater_dask``)."""

from headwater.runtime.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

PrefectTaskRunner = ThreadPoolTaskRunner  # Prefect's in-process default

__all__ = ["PrefectTaskRunner", "ProcessPoolTaskRunner", "TaskRunner", "ThreadPoolTaskRunner"]
