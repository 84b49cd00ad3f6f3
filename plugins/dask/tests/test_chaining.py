"""Futures passed between tasks stay on the cluster: the downstream call depends on the
upstream Dask future, so the value moves worker to worker, not through the flow's process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from headwater import flow, task
from headwater.runtime import flow_run, unmapped
from headwater_dask import DaskTaskRunner


def history() -> Any:
    from headwater.history import reader
    from headwater.history.writer import flush

    flush()
    return reader


@task
def produce(release: str) -> list[int]:
    deadline = time.monotonic() + 30
    while not Path(release).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return list(range(1000))


@task
def consume(values: list[int], offset: int = 0) -> int:
    return sum(values) + offset


@task
def broken() -> list[int]:
    raise RuntimeError("source is down")


@task
def must_not_run(values: list[int], marker: str) -> int:
    Path(marker).write_text("ran")
    return len(values)


def _dependencies(dask_scheduler: Any, needle: str) -> list[str]:
    for key, ts in dask_scheduler.tasks.items():
        if needle in str(key):
            return [str(dep.key) for dep in ts.dependencies]
    return ["<not on the scheduler>"]


def test_downstream_is_on_the_cluster_before_its_upstream_finishes(dask_address: str, dask_client: Any,
                                                                    tmp_path: Path) -> None:
    release = tmp_path / "release"

    @flow(task_runner=DaskTaskRunner(address=dask_address))
    def pipeline() -> dict[str, Any]:
        up = produce.submit(str(release))
        down = consume.submit(up, offset=1)
        both = consume.submit(up, offset=2)
        deps = ["<not on the scheduler>"]
        deadline = time.monotonic() + 10  # the submission reaches the scheduler asynchronously
        while deps == ["<not on the scheduler>"] and time.monotonic() < deadline:
            deps = dask_client.run_on_scheduler(_dependencies, needle=down.task_run_id)
        assert not up.done()
        release.write_text("go")
        return {"deps": deps, "up": up.task_run_id, "down": down.result(), "both": both.result(),
                "down_id": down.task_run_id, "id": flow_run.id}

    out = pipeline()
    assert out["down"] == sum(range(1000)) + 1 and out["both"] == sum(range(1000)) + 2
    assert len(out["deps"]) == 1 and out["up"] in out["deps"][0], out["deps"]
    runs = {r["id"]: r for r in history().list_task_runs(out["id"])}
    assert runs[out["down_id"]]["upstream"] == [out["up"]]
    assert runs[out["down_id"]]["state"] == "Completed"


def test_failed_upstream_fails_its_chained_downstream_without_running_it(dask_address: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    @flow(task_runner=DaskTaskRunner(address=dask_address))
    def pipeline() -> tuple[Any, str, str]:
        up = broken.submit()
        down = must_not_run.submit(up, str(marker))
        down.wait()
        return down.state, down.task_run_id, flow_run.id

    state, down_id, run_id = pipeline()
    assert state.is_failed()
    assert "upstream task run 'broken' did not complete" in state.message
    assert not marker.exists()
    runs = {r["id"]: r for r in history().list_task_runs(run_id)}
    assert runs[down_id]["state"] == "Failed" and len(runs[down_id]["upstream"]) == 1


@task
def add(x: int, y: int) -> int:
    return x + y


def test_a_chain_of_mapped_tasks(dask_address: str) -> None:
    @flow(task_runner=DaskTaskRunner(address=dask_address))
    def chain() -> list[int]:
        first = add.map(range(10), unmapped(1))
        second = add.map(first, first)
        third = add.map(second, unmapped(100))
        return [f.result() for f in third]

    assert chain() == [2 * (x + 1) + 100 for x in range(10)]
