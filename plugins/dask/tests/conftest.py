"""Fixtures: a real LocalCluster (worker processes on 127.0.0.1) shared by the session."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).parent


@pytest.fixture(autouse=True)
def _isolated_home(headwater_home: Any) -> Any:
    return headwater_home


@pytest.fixture(autouse=True)
def _tasks_by_value(request: pytest.FixtureRequest) -> None:
    # Test modules are imported with --import-mode=importlib under names the workers cannot
    # import, so their functions travel to the workers by value.
    import cloudpickle

    module = getattr(request, "module", None)
    if module is not None and module.__name__ in sys.modules:
        cloudpickle.register_pickle_by_value(module)


@pytest.fixture(scope="session")
def dask_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DASK_TEMPORARY_DIRECTORY for every cluster the tests start (workers inherit it)."""
    path = tmp_path_factory.mktemp("dask-tmp")
    os.environ["DASK_TEMPORARY_DIRECTORY"] = str(path)
    import dask.config

    dask.config.set({"temporary-directory": str(path)})
    return path


@pytest.fixture(scope="session")
def worker_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HEADWATER_HOME the shared cluster's workers use (where they persist results)."""
    return tmp_path_factory.mktemp("worker-home")


@pytest.fixture(scope="session")
def dask_cluster(dask_tmp: Path, worker_home: Path) -> Iterator[Any]:
    """A real ``LocalCluster``: 2 worker processes with 1 thread each, on 127.0.0.1.

    ``allowed_failures=0``: a task whose worker dies is not silently re-run by Dask, so the
    task's own ``retries`` decide (as with a cluster the runner starts itself).
    """
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
        silence_logs=50, scheduler_kwargs={"allowed_failures": 0, "dashboard_address": "127.0.0.1:0"},
        env={"HEADWATER_HOME": str(worker_home)},
    )
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def dask_address(dask_cluster: Any) -> str:
    """The scheduler address of the shared cluster (``tcp://127.0.0.1:PORT``)."""
    return dask_cluster.scheduler_address


@pytest.fixture
def same_home_as_workers(worker_home: Path, monkeypatch: pytest.MonkeyPatch, headwater_home: Any) -> Path:
    """Point this process at the workers' HEADWATER_HOME (for results persisted on workers)."""
    from headwater.settings import reset_settings

    monkeypatch.setenv("HEADWATER_HOME", str(worker_home))
    reset_settings()
    yield worker_home
    reset_settings()


@pytest.fixture
def dask_client(dask_address: str) -> Iterator[Any]:
    """A client of the shared cluster, closed after the test."""
    from distributed import Client

    client = Client(dask_address, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
