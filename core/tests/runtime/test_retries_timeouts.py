"""Retries (counts, delays, backoff, jitter, conditions) and timeouts."""

from __future__ import annotations

import time

import pytest
from headwater.runtime import exponential_backoff, flow, task
from headwater.runtime._errors import TaskTimeoutError
from headwater.runtime.retries import retry_delay
from rt_support import history, run_py


def test_retries_are_counted_and_recorded_as_retrying_transitions():
    attempts = []

    @task(retries=3, retry_delay_seconds=[0.01, 0.02, 0.03])
    def flaky():
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise ConnectionError("try again")
        return len(attempts)

    @flow
    def pipeline():
        return flaky()

    assert pipeline() == 3
    run = history().list_flow_runs(limit=1)[0]
    (t,) = history().list_task_runs(run["id"])
    assert t["run_count"] == 3 and t["state"] == "Completed"
    names = [n for n, _ in t["transitions"]]
    assert names == ["Pending", "Running", "Retrying", "Running", "Retrying", "Running", "Completed"]
    assert attempts[1] - attempts[0] >= 0.01 and attempts[2] - attempts[1] >= 0.02
    logs = [line["message"] for line in history().list_logs(run["id"])]
    assert any("Retry 1/3 will start in 0.01 second(s)" in m for m in logs)


def test_retries_exhausted_raise_the_last_error():
    @task(retries=2)
    def always():
        raise KeyError("nope")

    @flow
    def pipeline():
        return {"state": always(return_state=True)}

    state = pipeline()["state"]
    assert state.is_failed() and "KeyError: 'nope'" in state.message
    run = history().list_flow_runs(limit=1)[0]
    assert history().list_task_runs(run["id"])[0]["run_count"] == 3


def test_retry_condition_fn_stops_retries():
    attempts = []

    def only_connection_errors(task, task_run, state):
        return isinstance(state.result(raise_on_failure=False), ConnectionError)

    @task(retries=5, retry_condition_fn=only_connection_errors)
    def picky():
        attempts.append(1)
        raise (ConnectionError("flaky") if len(attempts) < 2 else ValueError("bad data"))

    picky(return_state=True)
    assert len(attempts) == 2


def test_delay_specs_backoff_and_jitter():
    assert exponential_backoff(2)(4) == [2, 4, 8, 16]
    assert retry_delay(exponential_backoff(2), 4, 3, None) == 8
    assert retry_delay([1, 5], 3, 3, None) == 5
    assert retry_delay(7, 3, 1, None) == 7
    jittered = [retry_delay(10, 3, 1, 0.5) for _ in range(2000)]
    assert all(5 <= d <= 15 for d in jittered) and min(jittered) < 9 and max(jittered) > 11
    assert abs(sum(jittered) / len(jittered) - 10) < 0.5  # centred on the delay, not above it


def test_task_timeout_gives_timed_out_state_in_main_thread_and_in_workers():
    @task(timeout_seconds=0.2)
    def sleepy():
        time.sleep(5)

    @flow
    def pipeline():
        direct = sleepy(return_state=True)
        return {"direct": direct, "future": sleepy.submit()}  # a dict: not taken as the flow's own outcome

    direct, future = pipeline().values()
    assert direct.is_timed_out() and direct.is_failed() and "exceeded its timeout of 0.2 seconds" in direct.message
    assert future.state.is_timed_out()
    with pytest.raises(TaskTimeoutError):
        future.result()


def test_flow_timeout_and_flow_retries():
    runs = []

    @flow(timeout_seconds=0.2)
    def slow_flow():
        time.sleep(5)

    assert slow_flow(return_state=True).name == "TimedOut"

    @flow(retries=2, retry_delay_seconds=0)
    def flaky_flow():
        runs.append(1)
        if len(runs) < 2:
            raise RuntimeError("first time")
        return "ok"

    assert flaky_flow() == "ok"
    run = history().list_flow_runs(flow_name="flaky-flow")[0]
    assert run["run_count"] == 2 and run["state"] == "Completed"


def test_main_thread_timeout_interrupts_the_function_itself():
    out = run_py(
        "import time\n"
        "from headwater.runtime import flow, task\n"
        "after = []\n"
        "@task(timeout_seconds=0.2)\n"
        "def slow():\n"
        "    time.sleep(3)\n"
        "    after.append('still ran')\n"
        "@flow\n"
        "def f():\n"
        "    return {'slow': slow(return_state=True)}\n"
        "t = time.monotonic()\n"
        "state = f()['slow']\n"
        "time.sleep(0.1)\n"
        "print(state.name, after, time.monotonic() - t < 2.5)\n"
    )
    assert out.stdout.strip() == "TimedOut [] True"


def test_a_flow_timeout_stops_its_task_without_a_retry_and_cannot_be_swallowed():
    # In a new process: the main thread's timer path, as `python etl.py` and `headwater run` use
    # (under pytest, pytest-timeout's own timer makes the runtime use a helper thread).
    out = run_py(
        "import time\n"
        "from headwater.runtime import flow, task\n"
        "tried = []\n"
        "@task(retries=3)\n"
        "def work():\n"
        "    tried.append(1)\n"
        "    time.sleep(0.6)\n"
        "    return 'done'\n"
        "@flow(timeout_seconds=0.3)\n"
        "def bounded():\n"
        "    return work()\n"
        "@task\n"
        "def swallows():\n"
        "    try:\n"
        "        time.sleep(2)\n"
        "    except Exception:\n"
        "        pass\n"
        "    return 'finished'\n"
        "@flow(timeout_seconds=0.3)\n"
        "def catching():\n"
        "    return swallows()\n"
        "print(bounded(return_state=True).name, tried, catching(return_state=True).name)\n"
    )
    assert out.stdout.strip().splitlines()[-1] == "TimedOut [1] TimedOut"
    runs = {r["flow_name"]: r for r in history().list_flow_runs()}
    for name in ("bounded", "catching"):
        (task_run,) = history().list_task_runs(runs[name]["id"])
        assert task_run["state"] == "TimedOut" and task_run["run_count"] == 1
        assert task_run["message"].startswith(f"stopped: flow run '{runs[name]['name']}' exceeded its timeout")


def test_a_timed_out_attempt_in_a_worker_thread_is_stopped_before_the_retry_runs():
    out = run_py(
        "import time\n"
        "from headwater.runtime import flow, task\n"
        "log = []\n"
        "@task(timeout_seconds=0.2, retries=1)\n"
        "def slow():\n"
        "    log.append('start')\n"
        "    time.sleep(0.5)\n"
        "    log.append('end')\n"
        "@flow\n"
        "def f():\n"
        "    return slow.submit(return_state=True).result(raise_on_failure=False)\n"
        "f()\n"
        "time.sleep(1.0)\n"
        "print(log)\n"
    )
    assert out.stdout.strip().splitlines()[-1] == "['start', 'start']"  # no attempt ran to its end
