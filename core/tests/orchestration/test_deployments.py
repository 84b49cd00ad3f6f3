"""Deployments: created from Python, from headwater.yaml, from git and storage-block sources;
bad input refused with one line and nothing written; the deployment CLI."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from headwater.orchestration.deployments import get_deployment, list_deployments
from headwater.orchestration.errors import DeploymentError, SourceError, WorkPoolNotFoundError
from headwater.orchestration.pools import create_work_pool
from headwater.orchestration.queue import create_run
from headwater.orchestration.serving import flow_from_source
from headwater.runtime._errors import ParameterValidationError
from orch_support import cli, env, make_project, marks, start_worker, states, stop


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "proj")


def _yaml(project, body: str) -> None:
    (project / "headwater.yaml").write_text(body)


GOOD = """
deployments:
  - name: nightly
    entrypoint: flows.py:needs_day
    parameters: {day: "2024-01-01"}
    work_pool: {name: local}
    tags: [etl]
    schedules:
      - cron: "0 2 * * *"
        timezone: Europe/Paris
"""


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ("entrypoint: flows.py:needs_day\n    work_pool: {name: nowhere}", "work pool 'nowhere' does not exist"),
        ("entrypoint: missing.py:needs_day\n    work_pool: {name: local}", "entrypoint file 'missing.py' not found"),
        (
            "entrypoint: flows.py:no_such_flow\n    work_pool: {name: local}",
            "flows.py has no flow named 'no_such_flow'",
        ),
        (
            "entrypoint: flows.py:needs_day\n    work_pool: {name: local}\n    parameters: {limit: many}",
            "parameter 'limit' expects int",
        ),
        (
            "entrypoint: flows.py:needs_day\n    work_pool: {name: local}\n    parameters: {colour: red}",
            "has no parameter 'colour'",
        ),
        (
            "entrypoint: flows.py:needs_day\n    work_pool: {name: local}\n"
            "    schedules: [{cron: '0 2 * * *', timezone: Nowhere/City}]",
            "unknown timezone 'Nowhere/City'",
        ),
        (
            "entrypoint: flows.py:needs_day\n    work_pool: {name: local}\n    schedules: [{rrule: 'FREQ=OFTEN'}]",
            "invalid rrule",
        ),
        (
            "entrypoint: flows.py:needs_day\n    work_pool: {name: local}\n    pull: [{git_clone: {repository: 'file:///nonexistent/repo.git'}}]",
            "git clone of file:///nonexistent/repo.git failed",
        ),
    ],
)
def test_bad_deployment_is_one_line_and_nothing_is_written(project, second, message):
    create_work_pool("local", "process")
    _yaml(project, GOOD + f"  - name: broken\n    {second}\n")
    done = cli("deploy", "--file", str(project / "headwater.yaml"))
    assert done.returncode == 1
    assert done.stderr.startswith("Error: ") and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert list_deployments() == []  # the good one was not saved either


def test_yaml_project_deploys_and_runs(project, tmp_path):
    create_work_pool("local", "process")
    _yaml(project, GOOD)
    done = cli("deploy", "--file", str(project / "headwater.yaml"))
    assert done.returncode == 0, done.stderr
    dep = get_deployment("needs-day/nightly")
    assert dep.tags == ["etl"] and dep.schedules[0].timezone == "Europe/Paris"
    shown = cli("deployment", "schedule", "ls", "needs-day/nightly", "-o", "json")
    assert json.loads(shown.stdout)[0]["next"].endswith(("T02:00+01:00", "T02:00+02:00"))
    paused = cli("deployment", "schedule", "pause", "needs-day/nightly")
    assert paused.returncode == 0 and not get_deployment("needs-day/nightly").schedule_active[0]


def test_python_api_errors_at_creation(project):
    flow = flow_from_source(str(project), "flows.py:needs_day")
    with pytest.raises(WorkPoolNotFoundError):
        flow.deploy("x", work_pool_name="nope", print_next_steps=False)
    create_work_pool("local", "process")
    with pytest.raises(ParameterValidationError):
        flow.deploy("x", work_pool_name="local", parameters={"limit": "lots"}, print_next_steps=False)
    with pytest.raises(DeploymentError, match="needs a work pool"):
        flow.deploy("x", print_next_steps=False)
    with pytest.raises(SourceError, match="does not exist"):
        flow_from_source(str(project / "nowhere"), "flows.py:needs_day")
    assert list_deployments() == []


def _git(*args: str, cwd=None) -> None:
    subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
            "PATH": "/usr/bin:/bin",
            "HOME": str(cwd or "/tmp"),
        },
    )


def test_git_source_is_pulled_for_each_run(project, tmp_path):
    bare = tmp_path / "repo.git"
    _git("init", "--bare", "-b", "main", str(bare))
    _git("init", "-b", "main", cwd=project)
    _git("add", "flows.py", cwd=project)
    _git("commit", "-m", "flows", cwd=project)
    _git("remote", "add", "origin", f"file://{bare}", cwd=project)
    _git("push", "origin", "main", cwd=project)
    create_work_pool("local", "process")
    flow = flow_from_source(f"file://{bare}", "flows.py:trivial")
    flow.deploy("from-git", work_pool_name="local", print_next_steps=False)
    dep = get_deployment("trivial/from-git")
    assert dep.source == {"type": "git", "url": f"file://{bare}"}
    first = create_run(dep)
    out = tmp_path / "out"
    assert cli("worker", "start", "--pool", "local", "--run-once", environ=env(out)).returncode == 0
    assert marks(out) == {first: 1}
    (project / "flows.py").write_text((project / "flows.py").read_text().replace('_mark("ran")', '_mark("ran-v2")', 1))
    _git("commit", "-am", "v2", cwd=project)
    _git("push", "origin", "main", cwd=project)
    second = create_run(dep)
    assert cli("worker", "start", "--pool", "local", "--run-once", environ=env(out)).returncode == 0
    assert marks(out, "ran-v2") == {second: 1}  # the new commit ran


def test_storage_block_source(project, tmp_path):
    from headwater.blocks import LocalFileSystem

    LocalFileSystem(basepath=str(project)).save("code")
    create_work_pool("local", "process")
    flow = flow_from_source(LocalFileSystem.load("code"), "flows.py:trivial")
    flow.deploy("from-block", work_pool_name="local", print_next_steps=False)
    dep = get_deployment("trivial/from-block")
    assert dep.source == {"type": "block", "block": "local-file-system/code"}
    run_id = create_run(dep)
    out = tmp_path / "out"
    assert cli("worker", "start", "--pool", "local", "--run-once", environ=env(out)).returncode == 0
    assert marks(out) == {run_id: 1}
    with pytest.raises(SourceError, match="is not saved"):
        flow_from_source(LocalFileSystem(basepath=str(project)), "flows.py:trivial")


def test_deployment_run_watch_and_cli(project, tmp_path):
    create_work_pool("local", "process")
    for name in ("trivial", "fails", "needs_day"):
        flow_from_source(str(project), f"flows.py:{name}").deploy("d", work_pool_name="local", print_next_steps=False)
    e = env(tmp_path / "out")
    worker = start_worker("local", e)
    try:
        ok = cli("deployment", "run", "trivial/d", "--param", "n=3", "--watch", environ=e)
        assert ok.returncode == 0, ok.stderr
        assert "is Completed" in ok.stderr
        bad = cli("deployment", "run", "fails/d", "--watch", environ=e)
        assert bad.returncode == 1
        assert "about to fail" in bad.stdout and "ended Failed" in bad.stderr
        wrong = cli("deployment", "run", "needs-day/d", environ=e)  # 'day' has no default
        assert wrong.returncode == 1 and "needs parameter 'day'" in wrong.stderr
        later = cli("deployment", "run", "trivial/d", "--start-in", "1h", "-o", "json", environ=e)
        later_id = json.loads(later.stdout)["id"]
        scheduled = json.loads(cli("runs", "ls", "--state", "Scheduled", "-o", "json", environ=e).stdout)
        assert [r["id"] for r in scheduled] == [later_id]
    finally:
        assert stop(worker) == 0
    listed = json.loads(cli("deployment", "ls", "-o", "json").stdout)
    assert sorted(d["name"] for d in listed) == ["fails/d", "needs-day/d", "trivial/d"]
    gone = cli("deployment", "delete", "trivial/d", "--yes")
    assert gone.returncode == 0 and states().get("Scheduled", 0) == 0  # its queued run went too
    missing = cli("deployment", "inspect", "trivial/d")
    assert missing.returncode == 1 and "no deployment named 'trivial/d'" in missing.stderr


def test_backfill_is_idempotent(project):
    create_work_pool("local", "process")
    flow_from_source(str(project), "flows.py:trivial").deploy(
        "hourly", work_pool_name="local", cron="0 * * * *", print_next_steps=False
    )
    first = cli("deployment", "backfill", "trivial/hourly", "--from", "2026-01-01T00:00", "--to", "2026-01-01T05:00")
    again = cli("deployment", "backfill", "trivial/hourly", "--from", "2026-01-01T00:00", "--to", "2026-01-01T05:00")
    assert "created 6 run(s)" in first.stdout and "created 0 run(s)" in again.stdout
    dep = get_deployment("trivial/hourly")
    assert create_run(dep, auto_key=None, scheduled_time=time.time() + 3600) is not None


def test_secret_parameters_are_never_stored_with_a_deployment_or_run(project):
    from orch_support import SECRET_FLOW

    (project / "secret_flow.py").write_text(SECRET_FLOW)
    create_work_pool("local", "process")
    flow = flow_from_source(str(project), "secret_flow.py:login")
    planted = "hunter2-planted-secret"
    with pytest.raises(ParameterValidationError, match="'password' of flow 'login' is a secret"):
        flow.deploy("x", work_pool_name="local", parameters={"user": "a", "password": planted}, print_next_steps=False)
    flow.deploy("x", work_pool_name="local", parameters={"user": "a"}, print_next_steps=False)
    done = cli("deployment", "run", "login/x", "--param", f"password={planted}")
    assert done.returncode == 1 and "is a secret" in done.stderr and planted not in done.stderr
    from headwater.store.engine import get_database

    db_file = Path(get_database().path)
    for f in db_file.parent.glob(db_file.name + "*"):  # the database and its WAL
        assert planted.encode() not in f.read_bytes()


def test_module_entrypoint_from_a_package_in_the_source(project, tmp_path):
    package = project / "etl_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "jobs.py").write_text((project / "flows.py").read_text())
    create_work_pool("local", "process")
    flow = flow_from_source(str(project), "etl_pkg.jobs:trivial")
    flow.deploy("pkg", work_pool_name="local", print_next_steps=False)
    run_id = create_run(get_deployment("trivial/pkg"))
    out = tmp_path / "out"
    assert cli("worker", "start", "--pool", "local", "--run-once", environ=env(out)).returncode == 0
    assert marks(out) == {run_id: 1}
    with pytest.raises(DeploymentError, match="entrypoint module 'etl_pkg.nope' not found"):
        flow_from_source(str(project), "etl_pkg.nope:trivial")
