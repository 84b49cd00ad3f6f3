"""Where the runner gets its cluster: a temporary one, a saved DaskCluster block, the plugin registry."""

from __future__ import annotations

import os
from typing import Any

import pytest
from headwater import flow, task
from headwater.runtime import flow_run
from headwater_dask import DaskCluster, DaskClusterConfigError, DaskConnectionError, DaskTaskRunner


@task
def where(x: int) -> tuple[int, int]:
    return x, os.getpid()


def _scheduler_reachable(address: str) -> bool:
    from distributed import Client

    try:
        Client(address, timeout="1s", set_as_default=False).close()
    except OSError:
        return False
    return True


@pytest.mark.usefixtures("dask_tmp")
def test_temporary_cluster_from_a_saved_block_lives_for_the_flow_run() -> None:
    DaskCluster(
        cluster_kwargs={"n_workers": 1, "threads_per_worker": 1, "silence_logs": 50},
        cluster_secrets={"name": "kept-Secret-cluster-name"},
    ).save("one-worker")

    @flow(task_runner=DaskTaskRunner.from_block("one-worker"))
    def on_temporary_cluster() -> dict[str, Any]:
        client = flow_run.task_runner.client
        info = client.scheduler_info()
        return {
            "pids": {pid for _, pid in (f.result() for f in where.map(range(4)))},
            "address": client.scheduler.address,
            "workers": len(info["workers"]),
            "name": client.cluster.name if client.cluster is not None else None,
        }

    out = on_temporary_cluster()
    assert len(out["pids"]) == 1 and os.getpid() not in out["pids"]
    assert out["workers"] == 1
    assert out["address"].startswith("tcp://127.0.0.1:"), "a temporary LocalCluster binds loopback only"
    assert out["name"] == "kept-Secret-cluster-name", "secret cluster kwargs reach the cluster class"
    assert not _scheduler_reachable(out["address"]), "the temporary cluster is closed with the flow run"


def test_runner_repr_never_shows_cluster_kwargs() -> None:
    block = DaskCluster(cluster_kwargs={"n_workers": 1}, cluster_secrets={"password": "pw-Secret-31337"})
    runner = DaskTaskRunner(cluster=block)
    assert "pw-Secret-31337" not in repr(runner)
    assert "pw-Secret-31337" not in repr(runner.duplicate())


def test_unreachable_scheduler_is_one_clear_error() -> None:
    from headwater.testing.process import free_port

    address = f"tcp://127.0.0.1:{free_port()}"

    @flow(task_runner=DaskTaskRunner(address=address, client_kwargs={"timeout": "1s"}))
    def nowhere() -> int:
        return where.submit(1).result()[0]

    with pytest.raises(DaskConnectionError, match=f"cannot reach the Dask scheduler at {address}"):
        nowhere()
    state = nowhere(return_state=True)
    assert state.is_crashed()


def test_address_and_cluster_settings_are_exclusive() -> None:
    with pytest.raises(DaskClusterConfigError, match="either address"):
        DaskTaskRunner(address="tcp://127.0.0.1:8786", cluster_kwargs={"n_workers": 2})
    with pytest.raises(DaskClusterConfigError, match="takes every setting from the block"):
        DaskTaskRunner(address="tcp://127.0.0.1:8786", cluster=DaskCluster())


def test_bad_cluster_class_fails_the_flow_with_what_to_fix() -> None:
    @flow(task_runner=DaskTaskRunner(cluster_class="no_such_package_xyz.Cluster"))
    def never() -> None:
        pass

    with pytest.raises(DaskClusterConfigError, match="'no_such_package_xyz' cannot be imported"):
        never()


def test_registered_under_the_name_dask() -> None:
    from headwater.plugins import task_runner_classes

    plugin, cls = task_runner_classes()["dask"]
    assert plugin == "dask" and cls is DaskTaskRunner
