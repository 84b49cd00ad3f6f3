"""Ctrl-C in a flow that runs its tasks on Dask: what no worker has started is cancelled, what
runs is waited for, and a second Ctrl-C stops waiting (as with the thread and process runners)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

FLOW = textwrap.dedent('''
    import os, sys, time
    from headwater import flow, task
    from headwater_dask import DaskTaskRunner

    SECONDS = float(sys.argv[1])

    @task
    def slow(i):
        with open(os.environ["STARTED_FILE"], "a") as fh:
            fh.write("started\\n")
        time.sleep(SECONDS)
        return i

    runner = DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": True})

    @flow(task_runner=runner)
    def many():
        futures = slow.map(range(20))
        chained = [slow.submit(f) for f in futures[:4]]  # wait on Dask futures of this flow run
        print("SUBMITTED", flush=True)
        return [f.result() for f in futures + chained]

    if __name__ == "__main__":  # the cluster's worker processes import this file
        many()
''')


def history() -> Any:
    from headwater.history import reader
    from headwater.history.writer import flush

    flush()
    return reader


def _start(seconds: float, tmp_path: Path) -> subprocess.Popen[str]:
    script = tmp_path / "many.py"
    script.write_text(FLOW)
    env = {**os.environ, "STARTED_FILE": str(tmp_path / "started")}
    return subprocess.Popen([sys.executable, str(script), str(seconds)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _wait_for_running(tmp_path: Path, n: int = 2, timeout: float = 60) -> None:
    """Until ``n`` tasks have started on the workers (each writes a line when it starts)."""
    deadline = time.monotonic() + timeout
    started = tmp_path / "started"
    while time.monotonic() < deadline:
        if started.exists() and len(started.read_text().splitlines()) >= n:
            return
        time.sleep(0.05)
    raise AssertionError("the tasks never started on the workers")


def _states() -> list[str]:
    run = history().list_flow_runs(limit=1)[0]
    assert run["state"] == "Crashed", run
    return sorted(t["state"] for t in history().list_task_runs(run["id"]))


def test_ctrl_c_cancels_what_no_dask_worker_has_started(dask_tmp: Path, tmp_path: Path) -> None:
    proc = _start(3.0, tmp_path)
    try:
        assert proc.stdout.readline().strip() == "SUBMITTED"
        _wait_for_running(tmp_path)  # the first two run on the two worker threads
        proc.send_signal(signal.SIGINT)
        # 24 queued three-second tasks on 2 threads would take 36 s; the 2 running ones end in 2 s
        _, err = proc.communicate(timeout=25)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    states = _states()
    assert states.count("Cancelled") >= 20 and set(states) <= {"Completed", "Cancelled"}, (states, err[-2000:])
    assert states.count("Completed") <= 4, states
    assert len((tmp_path / "started").read_text().splitlines()) == states.count("Completed")  # none ran
    assert "had not started" in err and "Waiting for" in err


def test_a_second_ctrl_c_stops_waiting_for_tasks_running_on_dask(dask_tmp: Path, tmp_path: Path) -> None:
    proc = _start(120.0, tmp_path)
    try:
        assert proc.stdout.readline().strip() == "SUBMITTED"
        _wait_for_running(tmp_path)
        proc.send_signal(signal.SIGINT)
        lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
        seen: list[str] = []
        deadline = time.monotonic() + 30
        while not any("Waiting for 2 running task run(s) to finish; press Ctrl-C again" in x for x in seen):
            assert time.monotonic() < deadline, "".join(seen)[-2000:]
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                pass
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        time.sleep(0.5)  # the reader thread takes the last lines
        while True:
            try:
                seen.append(lines.get_nowait())
            except queue.Empty:
                break
        err = "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert "Stopped without waiting for 2 running task run(s)" in err, err[-2000:]
    assert _states() == ["Cancelled"] * 22 + ["Crashed"] * 2
