"""`headwater run` targets, `runs` for machines (-o json) and for people (colours, wrapping,
--follow), and the refusals of bad `runs` input."""

from __future__ import annotations

import json
import subprocess
import textwrap
import time
from datetime import datetime

import pytest
from rt_support import HEADWATER_BIN, cli, env

LONG = "nightly_warehouse_reconciliation_of_orders_customers_and_products"
ONE_FLOW = textwrap.dedent(f'''
    from headwater import flow, task, get_run_logger

    @task
    def double(x: int) -> int:
        return 2 * x

    @flow(name="{LONG}")
    def only(n: int = 2):
        get_run_logger().info("working on %s", n)
        return [double(i) for i in range(n)]
''')


@pytest.fixture
def project(tmp_path):
    (tmp_path / "one.py").write_text(ONE_FLOW)
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "mypkg" / "flows.py").write_text(ONE_FLOW + "\n\n@flow\ndef other():\n    return 'other ran'\n")
    return tmp_path


def _in(folder, *args, **kw):
    return subprocess.run([str(HEADWATER_BIN), *args], cwd=folder, capture_output=True, text=True, env={**env(), **kw},
                          timeout=120)


def test_run_a_file_with_one_flow_and_a_module_flow(project):
    by_file = _in(project, "run", "one.py", "-p", "n=3", "-o", "json")
    assert by_file.returncode == 0, by_file.stderr
    assert json.loads(by_file.stdout)["result"] == [0, 2, 4]
    by_module = _in(project, "run", "mypkg.flows:other", "-o", "json")
    assert by_module.returncode == 0, by_module.stderr
    assert json.loads(by_module.stdout)["result"] == "other ran"
    two = _in(project, "run", "mypkg/flows.py")
    assert two.returncode == 1 and "has 2 flows (only, other): name one" in two.stderr
    missing = _in(project, "run", "mypkg.nope:other")
    assert missing.returncode == 1 and missing.stderr.strip() == (
        "Error: no module named 'mypkg.nope': run from the folder that holds it, or install its package")


def test_runs_json_is_for_machines(project):
    assert _in(project, "run", "one.py").returncode == 0
    listed = json.loads(cli("runs", "ls", "-o", "json").stdout)
    run = listed[0]
    assert {"flow", "tasks", "took", "start", "run"}.isdisjoint(run)  # no display duplicates
    assert run["flow_name"] == LONG and run["task_runs"] == 2
    assert isinstance(run["duration"], float)
    for stamp in (run["started"], run["ended"], *(t["timestamp"] for t in run["transitions"])):
        assert datetime.fromisoformat(stamp).utcoffset() is not None, stamp
    shown = json.loads(cli("runs", "show", run["id"], "-o", "json").stdout)
    assert len(shown["task_runs"]) == 2 and all(isinstance(t["duration"], float) for t in shown["task_runs"])
    assert all(datetime.fromisoformat(t["started"]).utcoffset() is not None for t in shown["task_runs"])
    logs = json.loads(cli("runs", "logs", run["id"], "-o", "json").stdout)
    assert {"level": "INFO", "message": "working on 2"}.items() <= next(
        r for r in logs if "working" in r["message"]
    ).items()
    assert all(datetime.fromisoformat(r["timestamp"]).utcoffset() is not None for r in logs) and len(logs) >= 3


def test_unknown_state_is_refused_and_known_ones_in_any_case_are_accepted(project):
    assert _in(project, "run", "one.py").returncode == 0
    bad = cli("runs", "ls", "--state", "Bogus")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
    assert "'Bogus' is not a state" in bad.stderr and "Completed" in bad.stderr
    assert len(json.loads(cli("runs", "ls", "--state", "completed", "-o", "json").stdout)) == 1
    assert cli("runs", "ls", "--state", "failed").stdout.strip() == "no Failed flow runs"


def test_prune_asks_first_and_has_a_dry_run(project):
    from terminal import on_terminal

    assert _in(project, "run", "one.py").returncode == 0
    time.sleep(0.05)
    dry = cli("runs", "prune", "--older-than", "0s", "--dry-run")
    assert dry.returncode == 0 and dry.stdout.strip() == "would delete 1 flow run(s) and 2 task run(s) older than 0s"
    unasked = cli("runs", "prune", "--older-than", "0s")  # not a terminal: nobody to ask
    assert unasked.returncode == 2 and "pass --yes" in unasked.stderr and unasked.stderr.count("\n") == 1
    code, seen = on_terminal("runs", "prune", "--older-than", "0s", answers=[(b"[y/N]", b"n\n")], env=env())
    assert code != 0 and b"delete 1 flow run(s) and 2 task run(s) older than 0s?" in seen, seen
    assert len(json.loads(cli("runs", "ls", "-o", "json").stdout)) == 1  # nothing deleted so far
    code, seen = on_terminal("runs", "prune", "--older-than", "0s", answers=[(b"[y/N]", b"y\n")], env=env())
    assert code == 0 and b"deleted 1 flow run(s)" in seen, seen
    assert json.loads(cli("runs", "ls", "-o", "json").stdout) == []


def test_states_are_coloured_on_a_terminal_only_and_never_with_no_color(project):
    from terminal import on_terminal

    assert _in(project, "run", "one.py").returncode == 0
    code, seen = on_terminal("runs", "ls", env=env())
    assert code == 0 and b"\x1b[32mCompleted" in seen, seen
    code, seen = on_terminal("runs", "ls", env={**env(), "NO_COLOR": "1"})
    assert code == 0 and b"Completed" in seen and b"\x1b[" not in seen, seen
    piped = cli("runs", "ls")
    assert "Completed" in piped.stdout and "\x1b[" not in piped.stdout


def test_piped_tables_keep_long_names_whole(project):
    assert _in(project, "run", "one.py").returncode == 0
    piped = cli("runs", "ls")
    assert LONG in piped.stdout and "…" not in piped.stdout, piped.stdout
    narrow = cli("runs", "ls", extra_env={"COLUMNS": "60"})
    assert "…" not in narrow.stdout and "Completed" in narrow.stdout  # the name folds onto more lines
    assert "".join(line.split("│")[1].strip() for line in narrow.stdout.splitlines()[2:]) == LONG


def test_logs_follow_prints_lines_as_they_come_until_the_run_ends(tmp_path):
    (tmp_path / "slow.py").write_text(textwrap.dedent('''
        import time
        from headwater import flow, get_run_logger

        @flow
        def slow():
            for i in range(4):
                get_run_logger().info("step %s", i)
                time.sleep(0.4)
            get_run_logger().info("all done")
    '''))
    running = subprocess.Popen([str(HEADWATER_BIN), "run", "slow.py"], cwd=tmp_path, env=env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        runs = []
        while not runs and time.monotonic() < deadline:
            runs = json.loads(cli("runs", "ls", "-o", "json").stdout)
            time.sleep(0.05)
        assert runs and runs[0]["state"] == "Running", runs
        followed = cli("runs", "logs", runs[0]["id"], "--follow", "--interval", "0.1", timeout=60)
    finally:
        assert running.wait(timeout=60) == 0
    assert followed.returncode == 0, followed.stderr
    messages = [line.split(" - ", 1)[1] for line in followed.stdout.splitlines()]
    assert [m for m in messages if m.startswith(("step", "all"))] == [
        "step 0", "step 1", "step 2", "step 3", "all done"
    ]
    assert messages[-1].startswith("Finished in state Completed"), followed.stdout


def test_completing_run_ids(project):
    assert _in(project, "run", "one.py").returncode == 0
    run_id = json.loads(cli("runs", "ls", "-o", "json").stdout)[0]["id"]
    words = cli(extra_env={"_HEADWATER_COMPLETE": "bash_complete", "COMP_WORDS": f"headwater runs show {run_id[:4]}",
                           "COMP_CWORD": "3"})
    assert words.stdout.split() == [f"plain,{run_id}"]


