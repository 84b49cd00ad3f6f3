"""Task runners: thread pool, process pool, registered names, and the remote-runner interface."""

from __future__ import annotations

import concurrent.futures
import os
import threading

import pytest
from headwater.runtime import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner, flow, task
from headwater.runtime._errors import RunError
from headwater.runtime.calls import run_payload
from rt_support import boom, failing_in_process, history, square, squares_in_processes


def test_thread_pool_runs_tasks_concurrently_with_max_workers():
    barrier = threading.Barrier(3, timeout=10)
    threads = set()

    @task
    def meet(i):
        threads.add(threading.current_thread().name)
        barrier.wait()  # only passes if 3 tasks run at the same time
        return i

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=3))
    def pipeline():
        return [f.result() for f in meet.map(range(3))]

    assert pipeline() == [0, 1, 2]
    assert len(threads) == 3 and all(name.startswith("headwater-task") for name in threads)


def test_process_pool_runs_tasks_in_other_processes_and_brings_back_states_and_logs():
    assert squares_in_processes(4) == [0, 1, 4, 9, 1]
    reader = history()
    run = reader.list_flow_runs(limit=1)[0]
    tasks = reader.list_task_runs(run["id"])
    assert len(tasks) == 5 and all(t["state"] == "Completed" for t in tasks)
    assert [n for n, _ in tasks[0]["transitions"]] == ["Pending", "Running", "Completed"]
    pids = {m["message"].rsplit(" ", 1)[1] for m in reader.list_logs(run["id"]) if m["message"].startswith("squaring")}
    assert pids and str(os.getpid()) not in pids
    last = [t for t in tasks if t["upstream"]]
    assert len(last) == 1 and last[0]["upstream"] == [tasks[1]["id"]]


def test_process_pool_failure_keeps_exception_and_traceback():
    state = failing_in_process(return_state=True)
    assert state.is_failed()
    with pytest.raises(ValueError, match="bad input 3"):
        state.result()
    run = history().list_flow_runs(limit=1)[0]
    (t,) = history().list_task_runs(run["id"])
    assert t["state"] == "Failed" and "Traceback" in t["message"] and "ValueError: bad input 3" in t["message"]


class InlineRemoteRunner(TaskRunner):
    """A stand-in for a distributed runner: ships cloudpickled calls to a 'worker' thread that
    only sees bytes, exactly as a Dask worker would."""

    def __init__(self):
        super().__init__()
        self.shipped: list[int] = []  # shared with duplicates (shallow copies)

    def start(self):
        self._pool = concurrent.futures.ThreadPoolExecutor(2)

    def shutdown(self):
        self._pool.shutdown(wait=True)

    def submit(self, call):
        def send(payload: bytes):
            assert isinstance(payload, bytes)
            self.shipped.append(len(payload))
            return self._pool.submit(run_payload, payload)

        return self.submit_remote(call, send)


def test_remote_runner_interface_resolves_upstream_and_replays_history():
    runner = InlineRemoteRunner()

    @flow(task_runner=runner)
    def pipeline():
        a = square.submit(3)
        b = square.submit(a)  # shipped only once a is done, with a's value
        bad = boom.submit(1)
        after_bad = square.submit(bad)
        return b.result(), bad, after_bad

    b, bad, after_bad = pipeline()
    assert b == 81 and bad.state.is_failed() and after_bad.state.is_failed()
    assert "upstream task run 'boom' did not complete" in after_bad.state.message
    assert len(runner.shipped) == 3  # the call after the failed upstream never left this process
    run = history().list_flow_runs(limit=1)[0]
    tasks = history().list_task_runs(run["id"])
    assert sorted(t["state"] for t in tasks) == ["Completed", "Completed", "Failed", "Failed"]
    assert any(m["message"] == f"squaring 9 in pid {os.getpid()}" for m in history().list_logs(run["id"]))


def test_runner_by_registered_name_and_bad_runner():
    @task
    def one():
        return 1

    @flow(task_runner="thread-pool")
    def named():
        return one.submit().result()

    assert named() == 1

    @flow(task_runner="no-such-runner")
    def unknown():
        pass

    with pytest.raises(RunError, match="unknown task runner 'no-such-runner'.*process-pool.*thread-pool"):
        unknown()


def test_runner_lifecycle_is_a_context_manager_per_flow_run():
    events = []

    class Recording(ThreadPoolTaskRunner):
        def start(self):
            events.append("start")
            super().start()

        def shutdown(self):
            super().shutdown()
            events.append("stop")

        def duplicate(self):
            return Recording(self.max_workers)

    @flow(task_runner=Recording(2))
    def pipeline():
        return square.submit(2).result()

    assert pipeline() == 4 and pipeline() == 4
    assert events == ["start", "stop", "start", "stop"]
    assert isinstance(ProcessPoolTaskRunner().duplicate(), ProcessPoolTaskRunner)
