"""`headwater run` and `headwater runs ls|show|logs|prune`, through the real command."""

from __future__ import annotations

import json
import textwrap
import time

import pytest
from rt_support import cli, run_py

FLOWS = textwrap.dedent('''
    from headwater import flow, task, get_run_logger

    @task
    def double(x: int) -> int:
        return 2 * x

    @flow
    def etl(n: int, label: str = "daily", extra: dict = None):
        get_run_logger().info("label is %s, extra %s", label, extra)
        return [double(i) for i in range(n)]

    @flow
    def broken():
        raise ValueError("the source is empty")

    @task
    def read_config():
        from headwater import Block

        return Block.load("secret/not-there")

    @flow
    def misconfigured():
        return read_config()
''')


@pytest.fixture
def flows_file(tmp_path):
    path = tmp_path / "pipeline.py"
    path.write_text(FLOWS)
    return path


def test_run_a_flow_with_json_parsed_params_then_inspect_it(flows_file):
    result = cli("run", f"{flows_file}:etl", "--param", "n=3", "--param", "label=hourly", "-p", 'extra={"a": 1}', "-o",
                 "json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["state"] == "Completed" and out["result"] == [0, 2, 4]
    assert "label is hourly, extra {'a': 1}" in result.stderr
    run_id = out["id"]

    listed = json.loads(cli("runs", "ls", "-o", "json").stdout)
    assert [(r["id"], r["flow_name"], r["state"], r["task_runs"]) for r in listed] == [(run_id, "etl", "Completed", 3)]
    table = cli("runs", "ls").stdout
    assert run_id[:8] in table and "Completed" in table

    shown = cli("runs", "show", run_id[:10])
    assert shown.returncode == 0 and "double" in shown.stdout and shown.stdout.count("Completed") == 4
    detail = json.loads(cli("runs", "show", run_id, "-o", "json").stdout)
    assert detail["parameters"] == {"n": 3, "label": "hourly", "extra": {"a": 1}}
    assert [t["state"] for t in detail["task_runs"]] == ["Completed"] * 3
    assert all(t["duration"] is not None for t in detail["task_runs"])

    logs = cli("runs", "logs", run_id)
    assert "INFO | Flow" in logs.stdout and "label is hourly" in logs.stdout
    assert json.loads(cli("runs", "logs", run_id, "-o", "json").stdout)[0]["message"].startswith("Beginning flow run")


def test_failed_flow_exits_non_zero_and_keeps_the_traceback(flows_file):
    result = cli("run", f"{flows_file}:broken")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ValueError: the source is empty" in result.stderr
    run = json.loads(cli("runs", "ls", "-o", "json").stdout)[0]
    assert run["state"] == "Failed" and "ValueError: the source is empty" in run["message"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["{f}:etl", "--param", "n=abc"], "parameter 'n' expects int"),
        (["{f}:etl", "--param", "n=1", "--param", "colour=red"],
         "flow 'etl' has no parameter 'colour' (its parameters: n, label, extra)"),
        (["{f}:etl"], "missing a required argument: 'n'"),
        (["{f}:nope"], "has no flow named 'nope' (flows in it: broken, etl, misconfigured)"),
        (["missing.py:etl"], "flow file 'missing.py' does not exist"),
        (["{f}"], "has 3 flows (broken, etl, misconfigured): name one"),
        (["{f}:"], "is not FILE.py[:flow] or package.module[:flow]"),
        (["no_such_module_hw:etl"], "no module named 'no_such_module_hw'"),
    ],
)
def test_bad_input_is_one_clear_line(flows_file, args, expected):
    result = cli("run", *[a.format(f=flows_file) for a in args])
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and expected in lines[0], result.stderr
    assert json.loads(cli("runs", "ls", "-o", "json").stdout) == []


def test_unknown_run_id_and_prune(flows_file):
    bad = cli("runs", "show", "doesnotexist")
    assert bad.returncode == 1 and "no flow run with id 'doesnotexist'" in bad.stderr
    assert cli("run", f"{flows_file}:etl", "-p", "n=1").returncode == 0
    kept = cli("runs", "prune", "--older-than", "30d")
    assert kept.returncode == 0 and "deleted 0 flow run(s)" in kept.stdout
    time.sleep(0.05)
    gone = json.loads(cli("runs", "prune", "--older-than", "0s", "--yes", "-o", "json").stdout)
    assert gone == {"flow_runs": 1, "task_runs": 1, "dry_run": False}
    assert json.loads(cli("runs", "ls", "-o", "json").stdout) == []
    assert "is not a duration" in cli("runs", "prune", "--older-than", "soon").stderr


@pytest.mark.parametrize("age", ["-1d", "-inf", "nan", "inf", "1e999"])
def test_prune_refuses_negative_or_endless_ages_and_deletes_nothing(flows_file, age):
    assert cli("run", f"{flows_file}:etl", "-p", "n=1").returncode == 0
    result = cli("runs", "prune", f"--older-than={age}")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: {age!r} is not a duration: use a number (0 or more) with s, m, h, d or w, e.g. 30d"
    ]
    assert len(json.loads(cli("runs", "ls", "-o", "json").stdout)) == 1


def test_run_id_prefix_is_not_a_like_pattern_and_ignores_case(flows_file):
    run_id = json.loads(cli("run", f"{flows_file}:etl", "-p", "n=1", "-o", "json").stdout)["id"]
    for typed in ("%", "_", run_id[:3] + "%"):
        result = cli("runs", "show", typed)
        assert result.returncode == 1 and f"no flow run with id {typed!r}" in result.stderr, result.stderr
    shown = cli("runs", "show", run_id[:6].upper(), "-o", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == run_id


def test_task_runs_outside_flows_count_toward_the_cap_without_wiping_flow_history():
    code = textwrap.dedent('''
        from headwater import flow, task

        @task
        def one(i):
            return i

        @flow
        def etl(n: int):
            return [one(i) for i in range(n)]

        etl(1)
        for i in range(20):
            one(i)
        etl(2)
    ''')
    run_py(code)
    later = "from headwater import flow\n\n@flow\ndef later():\n    return 1\n\nlater()\n"
    run_py(later, extra_env={"HEADWATER_HISTORY_MAX_TASK_RUNS": "10"})
    runs = json.loads(cli("runs", "ls", "-o", "json").stdout)
    # the oldest flow run and the oldest standalone task runs made room; the newer flow runs stay
    assert [(r["flow_name"], r["task_runs"]) for r in runs] == [("later", 0), ("etl", 2)]


def test_a_long_lived_process_keeps_the_history_within_the_cap():
    code = textwrap.dedent('''
        import time
        from headwater import flow

        @flow
        def tick(i: int):
            return i

        for i in range(8):
            tick(i)
            time.sleep(0.4)  # the writer thread writes and re-checks the cap between runs
    ''')
    run_py(code, extra_env={"HEADWATER_HISTORY_MAX_FLOW_RUNS": "3"})
    kept = [r["parameters"]["i"] for r in json.loads(cli("runs", "ls", "-o", "json").stdout)]
    assert kept[:3] == [7, 6, 5] and len(kept) <= 4, kept  # the last run may be written after the last check


def test_default_cap_keeps_the_newest_flow_runs():
    from headwater.runtime import flow, task
    from rt_support import history

    @task
    def one(i):
        return i

    @flow
    def etl(n: int):
        return [one(i) for i in range(n)]

    for n in range(4):
        etl(n)
    deleted = history().enforce_cap(max_flow_runs=2)
    assert deleted == 2
    runs = json.loads(cli("runs", "ls", "-o", "json").stdout)
    assert [r["parameters"]["n"] for r in runs] == [3, 2]
    assert history().enforce_cap(max_flow_runs=10, max_task_runs=3) == 1  # runs n=3 and n=2 hold 5 task runs
    assert [r["parameters"]["n"] for r in history().list_flow_runs()] == [3]


def test_a_headwater_error_in_a_flow_is_one_line_on_the_console_traceback_in_history(flows_file):
    result = cli("run", f"{flows_file}:misconfigured")
    assert result.returncode == 1
    console = result.stdout + result.stderr
    assert "no block named 'secret/not-there'" in console
    assert "Traceback" not in console, console
    assert console.strip().splitlines()[-1].startswith("Error: no block named 'secret/not-there'")
    run_id = json.loads(cli("runs", "ls", "-o", "json").stdout)[0]["id"]
    stored = cli("runs", "logs", run_id).stdout
    assert "Traceback" in stored and 'Block.load("secret/not-there")' in stored

    plain = cli("run", f"{flows_file}:broken")  # other exceptions keep their traceback on the console
    assert plain.returncode == 1 and "Traceback" in plain.stderr and "the source is empty" in plain.stderr


def test_param_values_for_str_parameters_stay_text(tmp_path):
    flow_file = tmp_path / "labels.py"
    flow_file.write_text(
        "from __future__ import annotations\n"
        "from headwater import flow\n"
        "@flow\n"
        "def etl(label: str, n: int = 1, tag: str | None = None, items: list[str] | None = None):\n"
        "    return repr((label, n, tag, items))\n"
    )
    out = cli("run", f"{flow_file}:etl", "--param", "label=123", "--param", "n=4", "--param", "tag=true",
              "--param", 'items=["a"]', "-o", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["result"] == "('123', 4, 'true', ['a'])"
    quoted = cli("run", f"{flow_file}:etl", "--param", 'label="quoted"', "-o", "json")
    assert json.loads(quoted.stdout)["result"] == "('quoted', 1, None, None)"
