"""Reliability: concurrent history readers during a big flow; a SIGKILLed flow shows Crashed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

from headwater.store import check_integrity
from rt_support import cli, env, history

BIG_FLOW = textwrap.dedent('''
    from headwater.runtime import flow, task

    @task
    def inc(x):
        return x + 1

    @flow
    def big(n: int):
        for i in range(n):
            inc(i)
        return n

    big(10_000)
''')

KILLED_FLOW = textwrap.dedent('''
    import time
    from headwater.runtime import flow, task

    @task
    def quick(i):
        return i

    @task
    def stuck():
        print("STUCK", flush=True)
        time.sleep(120)

    @flow
    def doomed():
        for i in range(50):
            quick(i)
        stuck()

    doomed()
''')


def test_big_flow_while_another_process_reads_history_through_the_cli(tmp_path):
    log = tmp_path / "flow.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-c", BIG_FLOW], env=env(), stdout=subprocess.DEVNULL, stderr=fh)
    reads = 0
    try:
        while proc.poll() is None or reads < 2:
            listed = cli("runs", "ls", "-o", "json")
            assert listed.returncode == 0, listed.stderr
            assert "locked" not in listed.stderr
            runs = json.loads(listed.stdout)
            if runs:
                shown = cli("runs", "show", runs[0]["id"], "-o", "json")
                assert shown.returncode == 0 and "locked" not in shown.stderr, shown.stderr
            reads += 1
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = log.read_text()
    assert proc.returncode == 0, err[-2000:]
    assert err.count("Finished in state Completed()") == 10_001
    assert "locked" not in err and "could not record run history" not in err
    (run,) = history().list_flow_runs()
    assert run["state"] == "Completed" and run["task_runs"] == 10_000
    tasks = history().list_task_runs(run["id"])
    assert len(tasks) == 10_000 and {t["state"] for t in tasks} == {"Completed"}
    assert reads >= 2


def test_sigkilled_flow_shows_crashed_and_the_store_stays_intact():
    proc = subprocess.Popen([sys.executable, "-c", KILLED_FLOW], env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "STUCK"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until the writer has recorded the stuck task
            runs = json.loads(cli("runs", "ls", "-o", "json").stdout)
            if runs and runs[0]["task_runs"] == 51:
                break
            time.sleep(0.1)
        assert runs[0]["state"] == "Running"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    listed = json.loads(cli("runs", "ls", "-o", "json").stdout)
    assert listed[0]["state"] == "Crashed" and "killed or crashed" in listed[0]["message"]
    shown = json.loads(cli("runs", "show", listed[0]["id"], "-o", "json").stdout)
    states = [t["state"] for t in shown["task_runs"]]
    assert states.count("Completed") == 50 and states[-1] == "Crashed"
    assert check_integrity() == []
