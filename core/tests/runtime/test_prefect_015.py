"""Prefect 0.15 programs, as the tutorials write them, run with `prefect` replaced by `headwater`."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from headwater import Flow, Parameter, case, context, task, unmapped
from headwater.engine.signals import FAIL, SKIP
from headwater.schedules import CronSchedule, IntervalSchedule
from headwater.tasks.control_flow import merge
from headwater.triggers import all_finished, any_failed
from rt_support import cli, history


@task(max_retries=2, retry_delay=dt.timedelta(seconds=0))
def fetch_users(n_users):
    context.logger.info("fetching %s users for %s", n_users, context.flow_name)
    return [{"name": f"user{i}", "country": "NL" if i % 2 else "FR"} for i in range(n_users)]


@task
def count_by_country(users):
    counts = {}
    for user in users:
        counts[user["country"]] = counts.get(user["country"], 0) + 1
    return counts


@task(log_stdout=True)
def report(counts):
    print(f"report: {counts}")
    return sum(counts.values())


def _users_flow():
    with Flow("Users report") as flow:
        n_users = Parameter("n_users", default=10)
        users = fetch_users(n_users)
        counts = count_by_country(users)
        total = report(counts)
    return flow, users, counts, total


def test_the_users_report_runs_and_is_in_the_run_history():
    flow, users, counts, total = _users_flow()
    state = flow.run()
    assert state.is_successful()
    assert state.result[total].result == 10
    assert state.result[report].result == 10  # by the @task itself: it runs once in the flow
    assert state.result[counts].result == {"FR": 5, "NL": 5}
    assert flow.run(n_users=4).result[total].result == 4
    assert flow.run(parameters={"n_users": 6}).result[users].result[5]["name"] == "user5"
    runs = history().list_flow_runs()
    assert [(r["flow_name"], r["state"], r["task_runs"]) for r in runs] == [("Users report", "Completed", 3)] * 3
    assert runs[0]["parameters"] == {"n_users": 6}
    logs = cli("runs", "logs", runs[-1]["id"]).stdout
    assert "fetching 10 users for Users report" in logs and "report: {'FR': 5, 'NL': 5}" in logs


def test_retries_map_unmapped_nout_and_indexing():
    attempts = []

    @task(max_retries=2, retry_delay=dt.timedelta(seconds=0))
    def flaky(x):
        attempts.append(x)
        if len(attempts) < 3:
            raise OSError("network")
        return x

    @task
    def greet(name, greeting):
        return f"{greeting} {name}"

    @task(nout=2)
    def halves(items):
        return items[:1], items[1:]

    with Flow("mapping") as flow:
        value = flaky(5)
        greetings = greet.map(["ann", "bob"], unmapped("hi"))
        first, rest = halves(["a", "b", "c"])
        third = rest[1]
    state = flow.run()
    assert state.result[value].result == 5 and len(attempts) == 3
    assert state.result[greetings].result == ["hi ann", "hi bob"]
    assert state.result[greetings].is_mapped() and len(state.result[greetings].map_states) == 2
    assert state.result[first].result == ["a"] and state.result[third].result == "c"


def test_dependencies_triggers_and_signals():
    order = []

    @task
    def step(name):
        order.append(name)
        return name

    @task
    def explode():
        raise FAIL("the load failed")

    @task(trigger=any_failed)
    def alert():
        return "alerted"

    @task(trigger=all_finished)
    def clean_up():
        return "cleaned"

    @task
    def downstream():
        return "never"

    @task
    def nothing_to_do():
        raise SKIP("no new files")

    with Flow("rules") as flow:
        a = step("a")
        b = step("b", upstream_tasks=[a])
        c = step("c")
        flow.set_dependencies(task=c, upstream_tasks=[b])
        boom = explode()
        alerted = alert(upstream_tasks=[boom])
        cleaned = clean_up(upstream_tasks=[boom])
        never = downstream(upstream_tasks=[boom])
        skipped = nothing_to_do()
        after_skip = step("after skip", upstream_tasks=[skipped])
    state = flow.run()
    assert order == ["a", "b", "c"]
    assert state.result[boom].is_failed() and state.result[boom].message == "the load failed"
    assert state.result[alerted].result == "alerted" and state.result[cleaned].result == "cleaned"
    assert type(state.result[never]).__name__ == "TriggerFailed"
    assert state.result[skipped].is_skipped() and state.result[after_skip].is_skipped()
    assert state.is_failed() and "downstream" in state.message  # a reference (terminal) task failed
    recorded = {r["name"]: r["state"] for r in history().list_task_runs(history().list_flow_runs()[0]["id"])}
    assert recorded["downstream"] == "TriggerFailed" and recorded["nothing_to_do"] == "Skipped"
    assert recorded["explode"] == "Failed" and recorded["alert"] == "Completed"


def test_case_and_merge():
    @task
    def is_weekend(day):
        return day in ("sat", "sun")

    @task
    def weekend_report():
        return "short"

    @task
    def weekday_report():
        return "full"

    with Flow("branching") as flow:
        day = Parameter("day", required=True)
        weekend = is_weekend(day)
        with case(weekend, True):
            short = weekend_report()
        with case(weekend, False):
            full = weekday_report()
        chosen = merge(short, full)
    saturday = flow.run(day="sat")
    assert saturday.result[chosen].result == "short" and saturday.result[full].is_skipped()
    assert flow.run(day="mon").result[chosen].result == "full"


def test_a_schedule_runs_the_flow_at_each_time():
    start = dt.datetime.now(dt.timezone.utc)
    schedule = IntervalSchedule(start_date=start, interval=dt.timedelta(seconds=0.2),
                                end_date=start + dt.timedelta(seconds=0.5))
    with Flow("every 0.2 s", schedule=schedule) as flow:
        fetch_users(1)
    assert flow.run().is_successful()
    assert len(history().list_flow_runs()) >= 2  # the times still ahead when run() started


def test_cron_schedule_next_times():
    after = dt.datetime(2024, 1, 1, 7, 30, tzinfo=dt.timezone.utc)
    times = CronSchedule("0 6 * * 1-5").next(2, after=after)
    assert [t.strftime("%a %H:%M") for t in times] == ["Tue 06:00", "Wed 06:00"]


def test_visualize_gives_the_graph():
    flow, *_ = _users_flow()
    source = flow.visualize().source
    assert "n_users" in source and "fetch_users" in source and source.count("->") == 3


@pytest.mark.parametrize(("code", "message"), [
    ("Parameter('n')", "Parameter('n') is created inside `with Flow(...):`"),
    ("fetch_users(3, upstream_tasks=[])", "called with upstream_tasks= outside `with Flow(...):`"),
    ("_users_flow()[0].run(n=3)", "got unknown parameter(s) n (its Parameters: n_users)"),
    ("task(state_handlers=[print])(len)", "use on_completion=[...] / on_failure=[...] hooks"),
    ("_users_flow()[0].register('project')", "must be held by a module-level variable of a saved .py file"),
    ("case(True, True).__enter__()", "in a @flow function use a plain `if`"),
])
def test_bad_015_input_is_one_clear_line(code, message):
    with pytest.raises(Exception) as raised:
        eval(code)
    text = str(raised.value)
    assert message in text and "\n" not in text


def test_required_parameter_missing():
    with Flow("needs") as flow:
        Parameter("day", required=True)
    with pytest.raises(ValueError, match=r"needs the required parameter\(s\) day"):
        flow.run()


def test_headwater_runs_ls_shows_015_flows_from_the_cli(tmp_path):
    script = tmp_path / "users.py"
    script.write_text(
        "from headwater import Flow, Parameter, task\n"
        "@task\ndef double(x):\n    return 2 * x\n"
        "with Flow('doubler') as flow:\n    out = double(Parameter('x', default=2))\n"
        "print(flow.run().result[out].result)\n"
    )
    import subprocess
    import sys

    from rt_support import env

    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env(), timeout=60)
    assert done.stdout.strip() == "4", done.stderr
    rows = json.loads(cli("runs", "ls", "-o", "json").stdout)
    assert rows[0]["flow_name"] == "doubler" and rows[0]["state"] == "Completed"


def test_headwater_run_runs_a_015_flow_file(tmp_path):
    script = tmp_path / "doubler.py"
    script.write_text(
        "from headwater import Flow, Parameter, task\n"
        "@task\ndef double(x):\n    return 2 * x\n"
        "with Flow('doubler') as flow:\n    out = double(Parameter('x', default=2))\n"
    )
    done = cli("run", f"{script}:flow", "--param", "x=21", "-o", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "Completed"
    rows = json.loads(cli("runs", "ls", "-o", "json").stdout)
    assert (rows[0]["flow_name"], rows[0]["parameters"], rows[0]["task_runs"]) == ("doubler", {"x": 21}, 1)
    bad = cli("run", f"{script}:flow", "--param", "y=1")
    assert bad.returncode == 1 and "no parameter 'y'" in bad.stderr


def test_flow_run_inside_its_with_block_runs_the_tasks():
    with Flow("inline") as flow:
        users = fetch_users(2)
        state = flow.run()
    assert state.result[users].result[1]["name"] == "user1" and len(flow.tasks) == 1
