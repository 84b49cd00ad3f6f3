"""Orchestration of Prefect 0.15 flows (``flow.register()``), pause/resume and
``headwater.runtime.deployment`` in runs that a real worker process starts."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from headwater.orchestration.deployments import get_deployment
from headwater.orchestration.pools import create_work_pool
from headwater.orchestration.queue import create_run
from headwater.orchestration.serving import flow_from_source
from orch_support import cli, env, start_worker, states, stop, wait_for

V015_FLOW = """
import datetime as dt
import os
import pathlib

from headwater import Flow, Parameter, task
from headwater.schedules import IntervalSchedule


@task
def numbers(n):
    return list(range(n))


@task
def double(x):
    return 2 * x


@task
def save(values, label):
    out = pathlib.Path(os.environ["HW_TEST_OUT"])
    out.mkdir(exist_ok=True)
    (out / f"{label}.txt").write_text(",".join(map(str, values)))


with Flow("Users report", schedule=IntervalSchedule(interval=dt.timedelta(hours=6))) as users_flow:
    n = Parameter("n_users", default=3)
    label = Parameter("label", default="report")
    save(double.map(numbers(n)), label)

flow_id = users_flow.register(project_name="city", labels=["v015"])
users_flow.run(run_on_schedule=False)  # unguarded, as in 0.15 tutorials: a worker's import must not run it
"""


def _register(project, tmp_path):
    project.mkdir(parents=True, exist_ok=True)
    (project / "users.py").write_text(V015_FLOW)
    e = env(tmp_path / "out")
    return subprocess.run([sys.executable, str(project / "users.py")], capture_output=True, text=True, env=e,
                          timeout=120), e


def test_register_of_a_015_flow_saves_a_deployment_a_worker_runs(tmp_path):
    project = tmp_path / "proj"
    done, e = _register(project, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "registered as deployment 'Users report/city'" in done.stderr
    assert "headwater worker start --pool 'default'" in done.stderr
    assert (tmp_path / "out" / "report.txt").read_text() == "0,2,4"  # the script's own flow.run()
    (tmp_path / "out" / "report.txt").unlink()

    dep = get_deployment("Users report/city")
    assert dep.entrypoint == "users.py:users_flow" and dep.source["path"] == str(project.resolve())
    assert dep.parameters == {"n_users": 3, "label": "report"} and dep.tags == ["v015"]
    assert dep.work_pool_name == "default"
    assert [s.to_dict()["type"] for s in dep.schedules] == ["interval"] and dep.schedules[0].interval == 6 * 3600

    run_id = create_run(dep, {"n_users": 4, "label": "queued"})
    worked = cli("worker", "start", "--pool", "default", "--run-once", environ=e)
    assert worked.returncode == 0, worked.stderr
    assert states()["Completed"] == 1  # the schedule's future runs stay Scheduled
    assert (tmp_path / "out" / "queued.txt").read_text() == "0,2,4,6"
    assert not (tmp_path / "out" / "report.txt").exists()  # importing the file ran neither run() nor register()

    shown = json.loads(cli("runs", "show", run_id, "-o", "json", environ=e).stdout)
    assert shown["state"] == "Completed" and shown["deployment"] == "Users report/city"
    names = sorted(t["name"].split("-")[0] for t in shown["task_runs"])
    assert names.count("double") == 4 and "numbers" in names and "save" in names


def test_register_of_a_flow_not_held_by_a_module_variable_says_so(tmp_path):
    code = textwrap.dedent("""
        from headwater import Flow, task

        @task
        def one():
            return 1

        def build():
            with Flow("inner") as f:
                one()
            return f

        build().register()
    """)
    (tmp_path / "inner.py").write_text(code)
    done = subprocess.run([sys.executable, str(tmp_path / "inner.py")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "must be held by a module-level variable" in done.stderr.strip().splitlines()[-1]


RUNTIME_FLOWS = """
import json
import os
import pathlib

from headwater import flow, pause_flow_run
from headwater.runtime import deployment, flow_run


@flow
def who(n: int = 1):
    out = pathlib.Path(os.environ["HW_TEST_OUT"])
    out.mkdir(exist_ok=True)
    seen = {"id": deployment.id, "name": deployment.name, "flow_run_id": deployment.flow_run_id,
            "parameters": deployment.parameters, "version": deployment.version, "run": flow_run.id,
            "run_deployment_id": flow_run.deployment_id, "scheduled": flow_run.scheduled_start_time.timestamp()}
    (out / "who.json").write_text(json.dumps(seen))


@flow
def gated():
    out = pathlib.Path(os.environ["HW_TEST_OUT"])
    out.mkdir(exist_ok=True)
    (out / "before").write_text("x")
    pause_flow_run(timeout=60)
    (out / "after").write_text("x")
    return "published"
"""


def _runtime_project(tmp_path):
    project = tmp_path / "rt"
    project.mkdir()
    (project / "rt.py").write_text(RUNTIME_FLOWS)
    return project


def test_runtime_deployment_inside_a_worker_run(tmp_path):
    project = _runtime_project(tmp_path)
    create_work_pool("local", "process")
    flow_from_source(str(project), "rt.py:who").deploy("nightly", work_pool_name="local", print_next_steps=False,
                                                         parameters={"n": 5}, version="7")
    dep = get_deployment("who/nightly")
    import time

    when = time.time() + 1.5
    run_id = create_run(dep, scheduled_time=when)
    e = env(tmp_path / "out")
    assert cli("worker", "start", "--pool", "local", "--run-once", environ=e).returncode == 0
    seen = json.loads((tmp_path / "out" / "who.json").read_text())
    assert seen.pop("scheduled") == pytest.approx(when, abs=1e-5)  # when it was due, not when it started
    assert seen == {"id": dep.id, "name": "nightly", "flow_run_id": run_id, "parameters": {"n": 5},
                    "version": "7", "run": run_id, "run_deployment_id": dep.id}


def test_pause_in_a_worker_run_waits_for_headwater_runs_resume(tmp_path):
    project = _runtime_project(tmp_path)
    create_work_pool("local", "process")
    flow_from_source(str(project), "rt.py:gated").deploy("g", work_pool_name="local", print_next_steps=False)
    run_id = create_run(get_deployment("gated/g"))
    e = env(tmp_path / "out")
    worker = start_worker("local", e, log=tmp_path / "worker.log")
    try:
        from headwater.history.reader import get_flow_run

        wait_for(lambda: (tmp_path / "out" / "before").exists() and get_flow_run(run_id)["state"] == "Paused",
                 what="the run to pause")
        assert not (tmp_path / "out" / "after").exists()
        listed = json.loads(cli("runs", "ls", "-o", "json", environ=e).stdout)
        assert [r["state"] for r in listed if r["id"] == run_id] == ["Paused"]
        resumed = cli("runs", "resume", run_id[:10], environ=e)
        assert resumed.returncode == 0, resumed.stderr
        wait_for(lambda: states().get("Completed"), what="the resumed run to complete")
        assert (tmp_path / "out" / "after").exists()
        assert get_flow_run(run_id)["state"] == "Completed"
    finally:
        assert stop(worker) == 0, (tmp_path / "worker.log").read_text()


def test_cancelling_a_paused_worker_run_ends_it_cancelled(tmp_path):
    project = _runtime_project(tmp_path)
    create_work_pool("local", "process")
    flow_from_source(str(project), "rt.py:gated").deploy("g", work_pool_name="local", print_next_steps=False)
    run_id = create_run(get_deployment("gated/g"))
    e = env(tmp_path / "out")
    worker = start_worker("local", e, log=tmp_path / "worker.log")
    try:
        from headwater.history.reader import get_flow_run

        wait_for(lambda: (tmp_path / "out" / "before").exists() and get_flow_run(run_id)["state"] == "Paused",
                 what="the run to pause")
        assert cli("runs", "cancel", run_id, environ=e).returncode == 0
        wait_for(lambda: states().get("Cancelled"), what="the paused run to end Cancelled")
        assert get_flow_run(run_id)["state"] == "Cancelled" and not (tmp_path / "out" / "after").exists()
    finally:
        assert stop(worker) == 0, (tmp_path / "worker.log").read_text()


SHIELD_PROBE = """
import os, signal
from headwater.orchestration import _child
from headwater.runtime._errors import FlowRunCancelled
from headwater.runtime.context import cancel_shield
from headwater.store.engine import db_write

signal.signal(signal.SIGTERM, _child._on_term)
steps = []
try:
    with cancel_shield():
        with db_write() as tx:
            os.kill(os.getpid(), signal.SIGTERM)  # a worker's cancel in the middle of a transaction
            tx.execute("SELECT 1")
            steps.append("transaction finished")
        steps.append("shield still holds")
except FlowRunCancelled:
    steps.append("cancelled after the shield")
with db_write() as tx:  # the connection is usable: the Cancelled state can be written
    tx.execute("SELECT 1")
print(steps)
"""


def test_a_cancel_during_a_shielded_store_transaction_is_raised_after_it(tmp_path):
    done = subprocess.run([sys.executable, "-c", SHIELD_PROBE], capture_output=True, text=True, timeout=60,
                          env=env(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['transaction finished', 'shield still holds', 'cancelled after the shield']"



def test_015_schedules_map_to_deployment_schedules():
    import datetime as dt

    from headwater.schedules import CronSchedule, IntervalClock
    from headwater.v1.register import to_schedules
    from headwater.v1.schedules import Schedule

    start = dt.datetime(2026, 1, 1, 6, 30, tzinfo=dt.timezone.utc)
    both = Schedule(clocks=[IntervalClock(dt.timedelta(minutes=90), start_date=start),
                            *CronSchedule("0 6 * * 1-5").clocks])
    interval, cron = to_schedules(both, active=False)
    after = dt.datetime(2026, 1, 5, 7, 0, tzinfo=dt.timezone.utc).timestamp()  # a Monday
    assert [d.strftime("%a %H:%M") for d in interval.next_dates(2, after)] == ["Mon 08:00", "Mon 09:30"]
    assert [d.strftime("%a %H:%M") for d in cron.next_dates(2, after)] == ["Tue 06:00", "Wed 06:00"]
    assert not interval.active and not cron.active
    # the same times flow.run() would run at
    at = dt.datetime.fromtimestamp(after, dt.timezone.utc)
    assert interval.next_dates(2, after) == Schedule(both.clocks[:1]).next(2, after=at)
    assert cron.next_dates(2, after) == Schedule(both.clocks[1:]).next(2, after=at)
