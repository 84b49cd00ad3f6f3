"""Headwater plugin hooks of headwater-dask (imports stay lazy: no dask at load time)."""

from __future__ import annotations

from collections.abc import Callable

from headwater import hookimpl


@hookimpl
def register_block_types(register: Callable[[type], None]) -> None:
    from headwater_dask.blocks import DaskCluster

    register(DaskCluster)


@hookimpl
def register_task_runners(register: Callable[[str, type], None]) -> None:
    from headwater_dask.task_runners import DaskTaskRunner

    register("dask", DaskTaskRunner)


@hookimpl
def register_worker_types(register: Callable[[str, type], None]) -> None:
    from headwater_dask.work_pool import DaskWorker

    register("dask", DaskWorker)
