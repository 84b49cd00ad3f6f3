"""A task whose Dask worker process dies: Crashed, or retried when the task has retries left."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from headwater import flow, task
from headwater.runtime import flow_run
from headwater_dask import DaskTaskRunner


def history() -> Any:
    from headwater.history import reader
    from headwater.history.writer import flush

    flush()
    return reader


@task
def dies_with_its_worker() -> int:
    os._exit(13)


@task(retries=1, retry_delay_seconds=0)
def dies_once(marker: str) -> str:
    if not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()))
        os._exit(13)
    return f"survived on pid {os.getpid()}"


@task
def sleeps_until_killed(pid_file: str) -> str:
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(60)
    return "not killed"


@task
def fine(x: int) -> int:
    return x + 1


def test_task_killed_with_its_worker_is_crashed(dask_address: str) -> None:
    @flow(task_runner=DaskTaskRunner(address=dask_address))
    def crashing() -> dict[str, Any]:
        doomed = dies_with_its_worker.submit()
        healthy = fine.submit(1)
        doomed.wait()
        return {"state": doomed.state, "healthy": healthy.result(), "id": flow_run.id}

    out = crashing()
    assert out["state"].is_crashed()
    assert "worker process running task 'dies_with_its_worker' died" in out["state"].message
    assert out["healthy"] == 2
    runs = {r["name"]: r for r in history().list_task_runs(out["id"])}
    assert runs["dies_with_its_worker"]["state"] == "Crashed"
    assert runs["fine"]["state"] == "Completed"


def test_task_killed_with_its_worker_is_retried_per_its_settings(dask_address: str, tmp_path: Path) -> None:
    marker = str(tmp_path / "died-once")

    @flow(task_runner=DaskTaskRunner(address=dask_address))
    def recovering() -> tuple[str, str]:
        return dies_once.submit(marker).result(), flow_run.id

    result, run_id = recovering()
    first_pid = int(Path(marker).read_text())
    assert result.startswith("survived on pid ") and int(result.rsplit(" ", 1)[1]) != first_pid
    run = history().list_task_runs(run_id)[0]
    assert run["state"] == "Completed" and run["run_count"] == 2
    names = [t[0] for t in run["transitions"]]
    assert "Retrying" in names and names[-1] == "Completed"
    logs = [entry["message"] for entry in history().list_logs(run_id)]
    assert any("died" in m and "Retry 1/1" in m for m in logs), logs


def test_worker_killed_from_outside_mid_task_is_crashed(dask_address: str, tmp_path: Path) -> None:
    pid_file = tmp_path / "worker.pid"

    def kill_worker() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not pid_file.exists():
            time.sleep(0.02)
        time.sleep(0.1)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)

    killer = threading.Thread(target=kill_worker)
    killer.start()

    @flow(task_runner=DaskTaskRunner(address=dask_address))
    def killed_flow() -> tuple[Any, str]:
        f = sleeps_until_killed.submit(str(pid_file))
        f.wait()
        return f.state, flow_run.id

    state, run_id = killed_flow()
    killer.join()
    assert state.is_crashed()
    assert history().list_task_runs(run_id)[0]["state"] == "Crashed"
    assert history().get_flow_run(run_id)["state"] == "Completed", "the flow did not use the task's result"
