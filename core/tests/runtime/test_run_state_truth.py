"""Issue 20, items 5-7: a live run is never settled Crashed by another process, history is
recorded while the console takes no output, Ctrl-C cancels what has not started, and a killed
run ends at its last sign of life."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

from headwater.store.engine import db_write
from rt_support import cli, env, history

SLEEPER = textwrap.dedent('''
    import sys, time
    from headwater.runtime import flow, get_run_logger, task

    @task
    def tick(i):
        get_run_logger().info("tick %s", i)
        time.sleep(0.2)

    @flow
    def sleeper():
        print("STARTED", flush=True)
        for i in range(300):
            tick(i)

    sleeper()
''')


def _wait_for_run(predicate, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = history().list_flow_runs(limit=1)
        if runs and predicate(runs[0]):
            return runs[0]
        time.sleep(0.1)
    raise AssertionError(f"the run never got there: {runs}")


def test_a_stopped_process_whose_heartbeat_is_stale_is_not_marked_crashed_by_runs_ls():
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER], env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "STARTED"
        run = _wait_for_run(lambda r: r["state"] == "Running" and r["task_runs"] >= 1)
        os.kill(proc.pid, signal.SIGSTOP)  # Ctrl-Z: no heartbeat while it is stopped
        with db_write() as tx:  # as if it had been stopped for an hour
            tx.execute("UPDATE flow_runs SET heartbeat = :t WHERE id = :id", {"t": time.time() - 3600, "id": run["id"]})
        listed = cli("runs", "ls", "-o", "json")
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout)[0]["state"] == "Running"
        shown = json.loads(cli("runs", "show", run["id"], "-o", "json").stdout)
        assert shown["state"] == "Running" and "Crashed" not in {t["state"] for t in shown["task_runs"]}
        os.kill(proc.pid, signal.SIGCONT)
        os.kill(proc.pid, signal.SIGKILL)  # now it is gone: the next reader settles it
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
            proc.wait(timeout=30)
    assert json.loads(cli("runs", "ls", "-o", "json").stdout)[0]["state"] == "Crashed"


def test_a_run_whose_pid_was_reused_by_a_later_process_is_crashed():
    """The pid of a run's dead process can belong to a newer process: that one is not the run."""
    from headwater.history.reader import settle_crashed

    @__import__("headwater").flow
    def quick() -> int:
        return 1

    quick()
    run = history().list_flow_runs(limit=1)[0]
    with db_write() as tx:  # a run left Running by a process with this pid that started later than the run
        tx.execute("UPDATE flow_runs SET state_type = 'RUNNING', state = 'Running', ended = NULL, "
                   "created = :c, pid = :pid WHERE id = :id", {"c": time.time() - 10 * 86400, "pid": os.getpid(),
                                                                 "id": run["id"]})
    assert settle_crashed() == 1
    assert history().get_flow_run(run["id"])["state"] == "Crashed"


FULL_PIPE = textwrap.dedent('''
    from headwater.runtime import flow, get_run_logger, task

    @task
    def chatty(i):
        get_run_logger().info("a log line long enough to fill a pipe quickly: %s %s", i, "x" * 200)
        return i

    @flow
    def loud(n: int):
        for i in range(n):
            chatty(i)

    loud(3000)
''')


def test_a_flow_whose_stdout_is_a_full_pipe_still_records_its_task_runs():
    read_end, write_end = os.pipe()  # nobody reads it: the console output fills it and blocks
    proc = subprocess.Popen([sys.executable, "-c", FULL_PIPE], env=env(), stdout=write_end, stderr=write_end)
    os.close(write_end)
    try:
        run = _wait_for_run(lambda r: r["task_runs"] == 3000 and r["state"] == "Completed", timeout=120)
        tasks = history().list_task_runs(run["id"])
        assert len(tasks) == 3000 and {t["state"] for t in tasks} == {"Completed"}
        assert proc.poll() is None  # still waiting for its console: the history did not
    finally:
        proc.kill()
        proc.wait(timeout=30)
        os.close(read_end)


INTERRUPTED = textwrap.dedent('''
    import time
    from headwater.runtime import ThreadPoolTaskRunner, flow, task

    @task
    def slow(i):
        time.sleep(1)
        return i

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=4))
    def many():
        futures = [slow.submit(i) for i in range(200)]
        print("SUBMITTED", flush=True)
        return [f.result() for f in futures]

    many()
''')


def test_ctrl_c_cancels_the_task_runs_that_have_not_started():
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED], env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "SUBMITTED"
        _wait_for_run(lambda r: r["task_runs"] >= 4)  # the first tasks are running
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)  # 196 queued one-second tasks would take 49 s on 4 threads
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    run = history().list_flow_runs(limit=1)[0]
    assert run["state"] == "Crashed", err[-2000:]
    states = [t["state"] for t in history().list_task_runs(run["id"])]
    assert states.count("Cancelled") >= 190, states
    assert states.count("Completed") <= 8 and set(states) <= {"Completed", "Cancelled"}, states
    assert "Cancelled" in err and "had not started" in err


def test_a_killed_run_ends_at_its_last_sign_of_life_not_its_first_heartbeat():
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER], env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "STARTED"
        run = _wait_for_run(lambda r: r["state"] == "Running" and r["started"] is not None)
        while time.time() < run["started"] + 2.5:
            time.sleep(0.05)
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    crashed = history().get_flow_run(run["id"])
    assert crashed["state"] == "Crashed"
    assert crashed["duration"] >= 2.0, crashed  # it ran 2.5 s
    assert crashed["ended"] <= time.time()


STUCK_TASKS = textwrap.dedent('''
    import time
    from headwater.runtime import ThreadPoolTaskRunner, flow, task

    @task
    def stuck(i):
        time.sleep(120)

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=2))
    def many():
        futures = [stuck.submit(i) for i in range(20)]
        print("SUBMITTED", flush=True)
        return [f.result() for f in futures]

    many()
''')


def test_a_second_ctrl_c_stops_waiting_for_running_task_runs():
    proc = subprocess.Popen([sys.executable, "-c", STUCK_TASKS], env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "SUBMITTED"
        _wait_for_run(lambda r: r["task_runs"] >= 2)
        proc.send_signal(signal.SIGINT)
        for line in proc.stderr:  # the flow says what it waits for, and how not to
            if "Waiting for 2 running task run(s) to finish; press Ctrl-C again" in line:
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)  # the running tasks sleep 120 s
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert "Stopped without waiting for 2 running task run(s)" in err
    run = history().list_flow_runs(limit=1)[0]
    assert run["state"] == "Crashed"
    states = [t["state"] for t in history().list_task_runs(run["id"])]
    assert sorted(states) == ["Cancelled"] * 18 + ["Crashed"] * 2, states


IN_PROCESSES = textwrap.dedent('''
    import os, time
    from headwater.runtime import ProcessPoolTaskRunner, flow, task

    @task
    def slow(i):
        with open(os.environ["STARTED_FILE"], "a") as fh:
            fh.write("started\\n")
        time.sleep(120)
        return i

    @flow(task_runner=ProcessPoolTaskRunner(max_workers=2))
    def many():
        futures = [slow.submit(i) for i in range(20)]
        print("SUBMITTED", flush=True)
        return [f.result() for f in futures]

    many()
''')


def test_ctrl_c_cancels_what_has_not_started_in_a_process_pool_and_again_stops_the_workers(tmp_path):
    started = tmp_path / "started.txt"
    proc = subprocess.Popen([sys.executable, "-c", IN_PROCESSES], env={**env(), "STARTED_FILE": str(started)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "SUBMITTED"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (started.exists() and started.read_text().count("started") == 2):
            time.sleep(0.1)  # both workers run a task
        proc.send_signal(signal.SIGINT)
        for line in proc.stderr:
            if "press Ctrl-C again" in line:
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)  # the running tasks sleep 120 s
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    run = history().list_flow_runs(limit=1)[0]
    assert run["state"] == "Crashed", err[-2000:]
    states = [t["state"] for t in history().list_task_runs(run["id"])]
    # the executor hands one call more than it has workers to its queue, where it cannot be cancelled
    assert len(states) == 20 and states.count("Cancelled") >= 17 and set(states) == {"Cancelled", "Crashed"}, states
    assert started.read_text().count("started") == 2  # no cancelled task ever started
