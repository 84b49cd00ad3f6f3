"""Workers and serve as real processes: runs, cancellation, clean shutdown, concurrency limits."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from headwater.orchestration.deployments import get_deployment
from headwater.orchestration.pools import create_work_pool
from headwater.orchestration.queue import claim_runs, create_run
from headwater.orchestration.serving import flow_from_source
from orch_support import cli, env, make_project, marks, pid_alive, runs, start_worker, states, stop, wait_for


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "proj")


def _deploy(project, flow_name: str, name: str, pool: str = "local", **options):
    flow = flow_from_source(str(project), f"flows.py:{flow_name}")
    flow.deploy(name, work_pool_name=pool, print_next_steps=False, **options)
    return get_deployment(f"{flow.name}/{name}")


def test_worker_runs_queued_runs_and_records_history(project, tmp_path):
    create_work_pool("local", "process")
    dep = _deploy(project, "trivial", "t")
    ids = [create_run(dep, {"n": i}) for i in range(5)]
    e = env(tmp_path / "out")
    done = cli("worker", "start", "--pool", "local", "--run-once", environ=e)
    assert done.returncode == 0, done.stderr
    assert states() == {"Completed": 5}
    assert marks(tmp_path / "out") == {i: 1 for i in ids}
    listed = cli("runs", "ls", "--deployment", "trivial/t", "-o", "json", environ=e)
    import json

    rows = json.loads(listed.stdout)
    assert {r["id"] for r in rows} == set(ids)
    assert all(r["deployment"] == "trivial/t" and r["work_pool"] == "local" and r["worker"] for r in rows)


def test_cancelling_a_running_run_stops_its_process_within_the_grace_period(project, tmp_path):
    create_work_pool("local", "process")
    dep = _deploy(project, "sleeper", "long")
    run_id = create_run(dep)
    e = env(tmp_path / "out", HEADWATER_CANCEL_GRACE_SECONDS="5")
    worker = start_worker("local", e)
    try:
        wait_for(lambda: states().get("Running"), what="the run to start")
        pid = runs()[0]["pid"]
        assert pid and pid_alive(pid)
        wait_for(lambda: marks(tmp_path / "out"), what="the flow's first line")
        asked = time.time()
        done = cli("runs", "cancel", run_id[:8], environ=e)
        assert done.returncode == 0 and "cancelling run" in done.stdout
        wait_for(lambda: states().get("Cancelled"), timeout=10, what="Cancelled")
        assert time.time() - asked < 5 + 2
        wait_for(lambda: not pid_alive(pid), timeout=2, what="the run's process to exit")
        assert marks(tmp_path / "out", "cancel-hook") == {run_id: 1}  # on_cancellation ran
        from headwater.history.reader import get_flow_run

        assert get_flow_run(run_id)["state"] == "Cancelled"
        again = cli("runs", "cancel", run_id, environ=e)
        assert again.returncode == 1 and "already finished" in again.stderr
    finally:
        assert stop(worker) == 0


def test_worker_sigterm_leaves_nothing_running(project, tmp_path):
    create_work_pool("local", "process")
    dep = _deploy(project, "sleeper", "long")
    create_run(dep)
    e = env(tmp_path / "out", HEADWATER_CANCEL_GRACE_SECONDS="5")
    worker = start_worker("local", e)
    wait_for(lambda: states().get("Running"), what="the run to start")
    pid = runs()[0]["pid"]
    assert stop(worker) == 0
    assert states() == {"Cancelled": 1}
    assert not pid_alive(pid)


def test_deployment_limit_with_cancel_new_and_tag_and_pool_limits(project):
    create_work_pool("local", "process", concurrency_limit=3)
    one = _deploy(project, "trivial", "one", concurrency_limit={"limit": 1, "collision_strategy": "CANCEL_NEW"})
    queued = _deploy(project, "sleeper", "queued", concurrency_limit=1, tags=["db"])
    for _ in range(2):
        create_run(one)
        create_run(queued)
    claimed = claim_runs("w1", 10, pool="local")
    assert sorted(r["deployment"] for r in claimed) == ["sleeper/queued", "trivial/one"]
    s = states()
    assert s["Cancelled"] == 1 and s["AwaitingConcurrencySlot"] == 1  # CANCEL_NEW vs ENQUEUE
    from headwater.orchestration.pools import set_tag_limit

    set_tag_limit("db", 0)
    other = _deploy(project, "sleeper", "tagged", tags=["db"])
    create_run(other)
    assert claim_runs("w1", 10, pool="local") == []  # tag limit 0 and deployment limit hold them
    set_tag_limit("db", None)
    create_run(_deploy(project, "trivial", "free"))
    create_run(_deploy(project, "trivial", "free2"))
    assert len(claim_runs("w1", 10, pool="local")) == 1  # pool limit 3: two were running already


def test_serve_runs_on_schedule_and_stops_cleanly(project, tmp_path):
    script = project / "serve_it.py"
    script.write_text(
        "from flows import trivial, sleeper\n"
        "from headwater import serve\n"
        "if __name__ == '__main__':\n"
        "    serve(trivial.to_deployment('every-second', interval=1), sleeper.to_deployment('long'))\n"
    )
    e = env(tmp_path / "out", HEADWATER_CANCEL_GRACE_SECONDS="5", PYTHONPATH=str(project))
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=e, cwd=project, stdout=open(log, "w"), stderr=subprocess.STDOUT
    )
    try:
        wait_for(lambda: states().get("Completed", 0) >= 2, timeout=30, what="two scheduled runs")
        long = get_deployment("sleeper/long")
        create_run(long)
        wait_for(lambda: states().get("Running"), what="the long run to start")
    finally:
        code = stop(proc, signal.SIGINT)
    assert code == 0, log.read_text()
    s = states()
    assert not {"Running", "Pending"} & set(s), s
    assert s.get("Cancelled") == 1
    assert get_deployment("trivial/every-second").paused  # pause_on_shutdown


def test_process_worker_type_comes_through_the_hook():
    import json

    from headwater.orchestration.workers import ProcessWorker
    from headwater.plugins import worker_type_classes

    assert worker_type_classes()["process"][1] is ProcessWorker
    shown = json.loads(cli("plugin", "ls", "-o", "json").stdout)
    core = next(p for p in shown if p["distribution"] == "headwater")
    assert core["worker_types"] == ["process"]


def test_orchestration_first_in_a_fresh_store(tmp_path):
    """Orchestration's migration extends run history's table: it works when nothing else was imported."""
    import os

    code = "from headwater.orchestration.pools import create_work_pool\ncreate_work_pool('p')\nprint('ok')\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HEADWATER_HOME": str(tmp_path / "fresh")})
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def _listed_names(deployment: str, e: dict[str, str]) -> dict[str, str]:
    import json

    listed = cli("runs", "ls", "--deployment", deployment, "-o", "json", environ=e)
    assert listed.returncode == 0, listed.stderr
    return {r["id"]: r["name"] for r in json.loads(listed.stdout)}


def test_a_deployment_run_keeps_its_queued_name_once_it_runs(project, tmp_path):
    from headwater.history.reader import get_flow_run

    create_work_pool("local", "process")
    dep = _deploy(project, "trivial", "t")
    run_id = create_run(dep, {"n": 1})
    e = env(tmp_path / "out")
    before = _listed_names("trivial/t", e)[run_id]
    done = cli("worker", "start", "--pool", "local", "--run-once", environ=e)
    assert done.returncode == 0, done.stderr
    assert states() == {"Completed": 1}
    assert _listed_names("trivial/t", e)[run_id] == before
    assert get_flow_run(run_id)["name"] == before
    assert runs()[0]["name"] == before


def test_a_flow_run_name_template_names_the_queued_run_too(project, tmp_path):
    from headwater.history.reader import get_flow_run

    create_work_pool("local", "process")
    dep = _deploy(project, "named", "n")
    run_id = create_run(dep, {"n": 7})
    e = env(tmp_path / "out")
    done = cli("worker", "start", "--pool", "local", "--run-once", environ=e)
    assert done.returncode == 0, done.stderr
    assert get_flow_run(run_id)["name"] == "nightly-7"
    assert runs()[0]["name"] == "nightly-7"
    assert _listed_names("named/n", e)[run_id] == "nightly-7"
