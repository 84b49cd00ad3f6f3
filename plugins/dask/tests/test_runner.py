"""DaskTaskRunner against a real LocalCluster: results, failures, retries, logs, lineage, caching."""

from __future__ import annotations

import os
from typing import Any

import pytest
from headwater import flow, get_run_logger, task
from headwater.runtime import INPUTS, flow_run, task_run
from headwater_dask import DaskTaskRunner
from headwater_dask.errors import DaskClusterConfigError


def history() -> Any:
    from headwater.history import reader
    from headwater.history.writer import flush

    flush()
    return reader


@task
def square(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


@task
def total(pairs: list[tuple[int, int]]) -> int:
    return sum(value for value, _pid in pairs)


@task
async def async_double(x: int) -> int:
    return 2 * x


def test_mapped_and_submitted_tasks_run_on_workers(dask_address: str) -> None:
    @flow(task_runner=DaskTaskRunner(address=dask_address))
    def squares(n: int) -> dict[str, Any]:
        futures = square.map(range(n))
        summed = total.submit(futures)
        doubled = async_double.submit(21)
        return {"pairs": [f.result() for f in futures], "total": summed.result(), "doubled": doubled.result(),
                "id": flow_run.id}

    out = squares(6)
    assert [value for value, _ in out["pairs"]] == [0, 1, 4, 9, 16, 25]
    assert out["total"] == 55 and out["doubled"] == 42
    worker_pids = {pid for _, pid in out["pairs"]}
    assert os.getpid() not in worker_pids

    reader = history()
    assert reader.get_flow_run(out["id"])["state"] == "Completed"
    runs = reader.list_task_runs(out["id"])
    assert len(runs) == 8
    assert {r["state"] for r in runs} == {"Completed"}
    by_name = {r["name"]: r for r in runs}
    summed = next(r for r in runs if r["task_key"].endswith("total"))
    square_ids = {r["id"] for r in runs if r["task_key"].endswith("square")}
    assert set(summed["upstream"]) == square_ids, "lineage edges from each mapped run to its consumer"
    assert [t[0] for t in by_name["square-3"]["transitions"]] == ["Pending", "Running", "Completed"]



@task(retries=2, retry_delay_seconds=0)
def flaky(marker: str) -> str:
    # Attempts are counted in a file: each retry may land on a different worker process.
    with open(marker, "a") as fh:
        fh.write(f"{task_run.run_count}\n")
    if task_run.run_count < 3:
        raise ConnectionError(f"attempt {task_run.run_count} failed")
    return "third time lucky"


@task(retries=1, retry_delay_seconds=0)
def always_fails() -> None:
    raise ValueError("bad input row 17")


def test_failures_are_retried_on_workers_and_recorded(dask_address: str, tmp_path: Any) -> None:
    marker = str(tmp_path / "attempts")

    @flow(task_runner=DaskTaskRunner(address=dask_address))
    def unreliable() -> dict[str, Any]:
        ok = flaky.submit(marker)
        bad = always_fails.submit()
        return {"ok": ok.result(), "bad": bad.result(raise_on_failure=False), "bad_state": bad.state,
                "id": flow_run.id}

    out = unreliable()
    assert out["ok"] == "third time lucky"
    assert open(marker).read().split() == ["1", "2", "3"]
    assert isinstance(out["bad"], ValueError) and str(out["bad"]) == "bad input row 17"
    assert out["bad_state"].is_failed()

    runs = {r["task_key"].rsplit(".", 1)[-1]: r for r in history().list_task_runs(out["id"])}
    assert runs["flaky"]["state"] == "Completed" and runs["flaky"]["run_count"] == 3
    assert [t[0] for t in runs["flaky"]["transitions"]].count("Retrying") == 2
    assert runs["always_fails"]["state"] == "Failed" and runs["always_fails"]["run_count"] == 2
    assert "ValueError: bad input row 17" in runs["always_fails"]["message"]
    assert "Traceback" in runs["always_fails"]["message"]


def test_flow_raises_the_task_exception_type(dask_address: str) -> None:
    @flow(task_runner=DaskTaskRunner(address=dask_address))
    def fails() -> None:
        always_fails.with_options(retries=0).submit().result()

    with pytest.raises(ValueError, match="bad input row 17"):
        fails()


@task(log_prints=True)
def chatty(n: int) -> int:
    get_run_logger().info("processing batch %d on worker pid %d", n, os.getpid())
    get_run_logger().warning("batch %d is small", n)
    print(f"printed from batch {n}")
    return n


def test_logs_and_prints_from_workers_reach_the_run_history(dask_address: str) -> None:
    @flow(task_runner=DaskTaskRunner(address=dask_address))
    def logging_flow() -> str:
        [f.wait() for f in chatty.map([1, 2])]
        return flow_run.id

    run_id = logging_flow()
    reader = history()
    task_ids = {r["name"]: r["id"] for r in reader.list_task_runs(run_id)}
    logs = reader.list_logs(run_id)
    for n in (1, 2):
        mine = [entry for entry in logs if entry["task_run_id"] == task_ids[f"chatty-{n - 1}"]]
        messages = [entry["message"] for entry in mine]
        assert any(m.startswith(f"processing batch {n} on worker pid ") for m in messages), messages
        assert f"batch {n} is small" in messages
        assert f"printed from batch {n}" in messages
        worker_pid = int(next(m for m in messages if m.startswith("processing")).rsplit(" ", 1)[-1])
        assert worker_pid != os.getpid()


@task(cache_policy=INPUTS, persist_result=True)
def expensive(x: int, marker: str) -> int:
    with open(marker, "a") as fh:
        fh.write("ran\n")
    return x * 100


def test_cached_results_written_by_workers_are_reused(dask_address: str, same_home_as_workers: Any,
                                                      tmp_path: Any) -> None:
    marker = str(tmp_path / "ran")

    @flow(task_runner=DaskTaskRunner(address=dask_address))
    def cached() -> tuple[int, str, str]:
        f = expensive.submit(7, marker)
        return f.result(), f.state.name, flow_run.id

    assert cached()[:2] == (700, "Completed")
    value, state_name, run_id = cached()
    assert (value, state_name) == (700, "Cached")
    assert open(marker).read().split() == ["ran"], "the second run must not execute the task again"
    assert history().list_task_runs(run_id)[0]["state"] == "Cached"


@task(log_prints=True)
def leaks_a_secret_loaded_on_the_worker() -> None:
    from headwater_dask import DaskCluster

    # A block built (or loaded) on the worker: only this worker process knows the secret.
    block = DaskCluster(cluster_secrets={"token": "tok-" + "Worker-" + str(60_000 + 917)})
    token = block.cluster_secrets.get_secret_value()["token"]
    print(f"using token {token}")
    get_run_logger().info("logger sees %s", token)
    raise PermissionError(f"token {token} was refused")


def test_secrets_known_only_to_a_worker_are_redacted_from_history(dask_address: str, headwater_home: Any,
                                                                 capfd: pytest.CaptureFixture[str]) -> None:
    secret = "tok-Worker-60917"

    @flow(task_runner=DaskTaskRunner(address=dask_address))
    def leaky() -> str:
        leaks_a_secret_loaded_on_the_worker.submit().wait()
        return flow_run.id

    run_id = leaky()
    reader = history()
    messages = [entry["message"] for entry in reader.list_logs(run_id)]
    assert any(m.startswith("using token ") for m in messages)
    run = reader.list_task_runs(run_id)[0]
    assert run["state"] == "Failed" and "PermissionError" in run["message"]
    blob = b"".join(p.read_bytes() for p in headwater_home.glob("headwater.db*") if p.is_file())
    assert secret.encode() not in blob
    assert all(secret not in m for m in messages)
    assert secret not in run["message"]
    assert secret not in capfd.readouterr().err


def test_runner_takes_a_running_distributed_cluster_as_in_prefect_dask(dask_cluster: Any) -> None:
    # prefect-dask: DaskTaskRunner(cluster=<a distributed Cluster object>) runs on that cluster.
    @flow(task_runner=DaskTaskRunner(cluster=dask_cluster))
    def squares(n: int) -> list[Any]:
        return [f.result() for f in square.map(range(n))]

    out = squares(3)
    assert [value for value, _ in out] == [0, 1, 4]
    assert os.getpid() not in {pid for _, pid in out}
    with pytest.raises(DaskClusterConfigError):
        DaskTaskRunner(cluster=dask_cluster, cluster_kwargs={"n_workers": 1})
    with pytest.raises(DaskClusterConfigError):
        DaskTaskRunner(cluster="tcp://127.0.0.1:1")


def test_prefect_dask_performance_report_path_is_accepted_with_a_warning(dask_address: str, tmp_path: Any) -> None:
    report = tmp_path / "report.html"
    with pytest.warns(UserWarning, match="performance_report_path is not supported"):
        runner = DaskTaskRunner(dask_address, performance_report_path=str(report))

    @task
    def double(x: int) -> int:
        return x * 2

    @flow(task_runner=runner)
    def pipeline() -> list[int]:
        return [f.result() for f in double.map([1, 2])]

    assert pipeline() == [2, 4]
    assert not report.exists()
