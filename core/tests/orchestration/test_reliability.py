"""Reliability: exactly-once runs with workers SIGKILLed and restarted, concurrent schedulers.

Hosts are simulated as separate processes; on PostgreSQL each worker has its own
HEADWATER_HOME and only the store and the code folder are shared.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest
from headwater.orchestration.deployments import get_deployment
from headwater.orchestration.pools import create_work_pool
from headwater.orchestration.queue import create_run
from headwater.orchestration.serving import flow_from_source
from orch_support import cli, env, make_project, marks, runs, start_worker, states, wait_for

FINAL = {"Completed", "Failed", "Crashed", "Cancelled"}


def _use_postgres(monkeypatch, url: str) -> None:
    from headwater.settings import reset_settings

    monkeypatch.setenv("HEADWATER_DATABASE_URL", url)
    reset_settings()


def _exactly_once(tmp_path, n_workers: int, n_runs: int = 200) -> None:
    project = make_project(tmp_path / "proj")
    create_work_pool("local", "process")
    flow = flow_from_source(str(project), "flows.py:trivial")
    flow.deploy("once", work_pool_name="local", crash_retries=5, print_next_steps=False)
    dep = get_deployment("trivial/once")
    from headwater.store.engine import db_write

    with db_write() as tx:  # all due at once
        for i in range(n_runs):
            create_run(dep, {"n": i}, tx=tx)
    out = tmp_path / "out"
    rng = random.Random(16)
    workers: list[subprocess.Popen] = []

    def spawn(i: int) -> subprocess.Popen:
        extra = {}
        if os.environ.get("HEADWATER_DATABASE_URL"):  # another "host": its own home, the shared store
            extra["HEADWATER_HOME"] = str(tmp_path / f"host{i}-{rng.random():.6f}")
        return start_worker(
            "local",
            env(out, HEADWATER_WORKER_LEASE_SECONDS="2", **extra),
            "--limit",
            "4",
            "--no-scheduler",
            log=tmp_path / "workers.log",
        )

    workers = [spawn(i) for i in range(n_workers)]
    kills = 0
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            s = states()
            if sum(v for k, v in s.items() if k in FINAL) == n_runs:
                break
            if kills < 4 and s.get("Completed", 0) > 20 * (kills + 1):
                # a worker that holds a claimed, unfinished run right now (a run takes milliseconds:
                # killing an idle worker would test nothing)
                busy = {str(r["worker"]) for r in runs() if r["state"] in ("Pending", "Running") and r["worker"]}
                holders = [i for i, w in enumerate(workers) if any(f"-{w.pid}-" in name for name in busy)]
                if not holders:
                    time.sleep(0.01)
                    continue
                victim = rng.choice(holders)
                workers[victim].send_signal(signal.SIGKILL)
                workers[victim].wait()
                workers[victim] = spawn(victim)
                kills += 1
            time.sleep(0.05)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=30)
    rows = runs()
    assert kills == 4
    assert all(r["state"] in FINAL for r in rows), states()
    assert states() == {"Completed": n_runs}, "every run finished, crashed ones were retried"
    ran = marks(out)
    for r in rows:
        count = ran.get(r["id"], 0)
        assert 1 <= count <= r["attempts"], r  # never twice within one claim
        if r["attempts"] == 1:
            assert count == 1, r
    retried = [r for r in rows if r["attempts"] > 1]
    assert retried, "killing workers mid-run left some runs to retry"


def test_exactly_once_with_workers_killed_sqlite(tmp_path):
    _exactly_once(tmp_path, n_workers=2)


@pytest.mark.postgres
def test_exactly_once_with_workers_killed_postgres(tmp_path, monkeypatch, postgres_database):
    _use_postgres(monkeypatch, postgres_database)
    _exactly_once(tmp_path, n_workers=4)


def _three_schedulers(tmp_path) -> None:
    project = make_project(tmp_path / "proj")
    create_work_pool("local", "process")
    flow = flow_from_source(str(project), "flows.py:trivial")
    flow.deploy("minutely", work_pool_name="local", cron="* * * * *", print_next_steps=False)
    flow.deploy("hourly", work_pool_name="local", interval=3600, print_next_steps=False)
    e = env(tmp_path / "out", HEADWATER_SCHEDULER_HORIZON_SECONDS="7200", HEADWATER_SCHEDULER_MAX_RUNS="500")
    procs = [
        subprocess.Popen(["headwater", "scheduler", "--once"], env=e, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    rows = runs()
    keys = [(r["deployment"], r["scheduled_time"]) for r in rows]
    assert len(keys) == len(set(keys)), "a scheduled run was created twice"
    minutely = sorted(t for d, t in keys if d == "trivial/minutely")
    assert 119 <= len(minutely) <= 121 and all(b - a == 60 for a, b in zip(minutely, minutely[1:], strict=False))
    assert 2 <= len([k for k in keys if k[0] == "trivial/hourly"]) <= 3
    again = cli("scheduler", "--once", environ=e)
    assert again.returncode == 0 and len(runs()) in (len(rows), len(rows) + 1, len(rows) + 2)  # only the horizon's edge


def test_three_schedulers_at_once_sqlite(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "PATH", str(__import__("orch_support").HEADWATER_BIN.parent) + ":" + __import__("os").environ["PATH"]
    )
    _three_schedulers(tmp_path)


@pytest.mark.postgres
def test_three_schedulers_at_once_postgres(tmp_path, monkeypatch, postgres_database):
    monkeypatch.setenv(
        "PATH", str(__import__("orch_support").HEADWATER_BIN.parent) + ":" + __import__("os").environ["PATH"]
    )
    _use_postgres(monkeypatch, postgres_database)
    _three_schedulers(tmp_path)


def test_a_run_not_started_in_time_is_late(tmp_path):
    project = make_project(tmp_path / "proj")
    create_work_pool("local", "process")
    flow_from_source(str(project), "flows.py:trivial").deploy("d", work_pool_name="local", print_next_steps=False)
    from headwater.orchestration.queue import mark_late

    run_id = create_run(get_deployment("trivial/d"), scheduled_time=time.time() - 60)
    assert mark_late(15) == 1
    listed = cli("runs", "ls", "--state", "Late", "-o", "json")
    import json

    assert [r["id"] for r in json.loads(listed.stdout)] == [run_id]
    shown = json.loads(cli("runs", "show", run_id[:8], "-o", "json").stdout)  # no history yet: the queued run
    assert shown["state"] == "Late" and shown["deployment"] == "trivial/d"


def _woken_at_once(tmp_path) -> None:
    """An idle worker polling only every 120 s starts new work when it is created: it was woken
    (PostgreSQL LISTEN/NOTIFY, SQLite a datagram), not polled."""
    project = make_project(tmp_path / "proj")
    create_work_pool("local", "process")
    flow_from_source(str(project), "flows.py:trivial").deploy("d", work_pool_name="local", print_next_steps=False)
    dep = get_deployment("trivial/d")
    out = tmp_path / "out"
    worker = start_worker(
        "local", env(out, HEADWATER_WORKER_POLL_SECONDS="120"), "--no-scheduler", log=tmp_path / "worker.log"
    )
    try:
        create_run(dep, {"n": 0})  # also lets the worker finish starting up
        wait_for(lambda: states().get("Completed") == 1, timeout=60, what="the first run")
        time.sleep(1.5)  # the worker is now idle, waiting up to 120 s
        create_run(dep, {"n": 1})
        wait_for(lambda: states().get("Completed") == 2, timeout=20, what="the idle worker to be woken")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)


def test_idle_worker_is_woken_by_new_work_sqlite(tmp_path):
    _woken_at_once(tmp_path)


@pytest.mark.postgres
def test_idle_worker_is_woken_by_new_work_postgres(tmp_path, monkeypatch, postgres_database):
    _use_postgres(monkeypatch, postgres_database)
    _woken_at_once(tmp_path)
