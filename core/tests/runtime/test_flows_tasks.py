"""Flows and tasks: calling, submit/map, futures, states, subflows, lineage, context, async."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from headwater.runtime import (
    HeadwaterFuture,
    as_completed,
    flow,
    flow_run,
    task,
    task_run,
    unmapped,
    wait,
)
from headwater.runtime import states as S
from headwater.runtime._errors import ParameterValidationError, RunError
from rt_support import cli, history


@task
def add(x: int, y: int = 1) -> int:
    return x + y


@task
def fail(msg: str) -> None:
    raise RuntimeError(msg)


def test_calling_a_task_in_a_flow_returns_its_result_and_records_runs():
    @flow
    def pipeline(n: int) -> int:
        return add(add(n), y=10)

    assert pipeline(1) == 12
    reader = history()
    (run,) = reader.list_flow_runs()
    assert run["flow_name"] == "pipeline"
    assert run["state"] == "Completed"
    assert run["parameters"] == {"n": 1}
    assert run["task_runs"] == 2
    tasks = reader.list_task_runs(run["id"])
    assert [t["state"] for t in tasks] == ["Completed", "Completed"]
    assert [name for name, _ in tasks[0]["transitions"]] == ["Pending", "Running", "Completed"]
    assert all(t["duration"] is not None and t["duration"] >= 0 for t in tasks)


def test_failed_task_raises_in_flow_and_flow_is_failed_with_traceback():
    @flow
    def pipeline():
        fail("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        pipeline()
    state = pipeline(return_state=True)
    assert state.is_failed() and not state.is_completed()
    assert "Traceback" in state.message and "disk on fire" in state.message
    with pytest.raises(RuntimeError):
        state.result()
    assert isinstance(state.result(raise_on_failure=False), RuntimeError)
    reader = history()
    run = reader.list_flow_runs(limit=1)[0]
    (t,) = reader.list_task_runs(run["id"])
    assert t["state"] == "Failed" and "RuntimeError: disk on fire" in t["message"]
    logs = "\n".join(line["message"] for line in reader.list_logs(run["id"]))
    assert "Traceback (most recent call last)" in logs and "disk on fire" in logs


def test_return_state_on_tasks_and_state_helpers():
    @flow
    def pipeline():
        ok = add(1, return_state=True)
        bad = fail("x", return_state=True)
        return {"ok": ok, "bad": bad}  # a list or tuple of states with a failed one fails the flow

    ok, bad = pipeline().values()
    assert ok.is_completed() and ok.result() == 2 and repr(ok) == "Completed()"
    assert bad.is_failed() and repr(bad) == "Failed('RuntimeError: x')"
    assert S.Cached(1).is_completed() and S.Cached(1).is_cached()
    assert S.TimedOut("t").is_failed() and S.TimedOut("t").is_timed_out()
    assert S.Crashed().is_crashed() and S.Cancelled().is_cancelled() and S.Pending().is_pending()
    assert S.Running().is_running() and S.Retrying().is_retrying() and not S.Retrying().is_final()


def test_submit_map_unmapped_and_lineage_edges():
    @flow
    def pipeline():
        a = add.submit(1)
        assert isinstance(a, HeadwaterFuture)
        b = add.submit(a, y=5)  # future as argument: resolved, recorded as lineage
        mapped = add.map([1, 2, 3], y=unmapped(100))
        both = add.map(range(3), [10, 20, 30])
        return b.result(), [f.result() for f in mapped], [f.result() for f in both], a.task_run_id, b.task_run_id

    b, mapped, both, a_id, b_id = pipeline()
    assert (b, mapped, both) == (7, [101, 102, 103], [10, 21, 32])
    reader = history()
    run = reader.list_flow_runs(limit=1)[0]
    tasks = {t["id"]: t for t in reader.list_task_runs(run["id"])}
    assert len(tasks) == 8
    assert tasks[b_id]["upstream"] == [a_id]
    assert {t["name"] for t in tasks.values()} >= {"add", "add-0", "add-1", "add-2"}


def test_map_with_mismatched_lengths_is_one_clear_error():
    @flow
    def pipeline():
        add.map([1, 2], [1, 2, 3])

    with pytest.raises(RunError, match="different lengths"):
        pipeline()


def test_wait_as_completed_wait_for_and_future_state():
    gate = threading.Event()
    order: list[str] = []

    @task
    def slow():
        gate.wait(10)
        order.append("slow")
        return "slow"

    @task
    def quick():
        order.append("quick")
        return "quick"

    @task
    def after():
        order.append("after")
        return "after"

    @flow
    def pipeline():
        s = slow.submit()
        q = quick.submit()
        done_first = next(as_completed([s, q]))
        assert done_first is q
        assert s.state.is_pending() or s.state.is_running()
        gate.set()
        a = after.submit(wait_for=[s])
        done, not_done = wait([s, q, a])
        assert not not_done and len(done) == 3
        return a.result(), s.state

    result, s_state = pipeline()
    assert result == "after" and s_state.is_completed()
    assert order.index("after") > order.index("slow")


def test_downstream_of_failed_future_fails_without_running():
    ran = []

    @task
    def downstream(x):
        ran.append(x)

    @flow
    def pipeline():
        bad = fail.submit("upstream broke")
        return downstream.submit(bad).state, downstream.submit(1, wait_for=[bad]).state

    pipeline(return_state=True)
    reader = history()
    run = reader.list_flow_runs(limit=1)[0]
    states = [t["state"] for t in reader.list_task_runs(run["id"]) if t["name"] == "downstream"]
    assert states == ["Failed", "Failed"]
    assert ran == []
    messages = [t["message"] for t in reader.list_task_runs(run["id"]) if t["name"] == "downstream"]
    assert all("upstream task run 'fail' did not complete" in m for m in messages)


def test_subflows_record_their_parent_and_context_accessors():
    seen = {}

    @flow
    def child(x: int) -> int:
        seen["child_flow"] = flow_run.flow_name
        seen["child_parent"] = flow_run.parent_flow_run_id
        return add(x)

    @task
    def inspect_ctx():
        seen["task_name"] = task_run.task_name
        seen["task_flow_run_id"] = task_run.flow_run_id
        seen["run_count"] = task_run.run_count
        seen["params"] = task_run.parameters

    @flow
    def parent():
        seen["parent_id"] = flow_run.id
        inspect_ctx()
        return child(41)

    assert flow_run.id is None and task_run.id is None
    assert parent() == 42
    assert seen["child_flow"] == "child" and seen["child_parent"] == seen["parent_id"]
    assert seen["task_name"] == "inspect_ctx" and seen["task_flow_run_id"] == seen["parent_id"]
    assert seen["run_count"] == 1 and seen["params"] == {}
    runs = {r["flow_name"]: r for r in history().list_flow_runs()}
    assert runs["child"]["parent_flow_run_id"] == runs["parent"]["id"]
    shown = cli("runs", "show", runs["parent"]["id"], "-o", "json")
    assert [r["flow_name"] for r in json.loads(shown.stdout)["subflow_runs"]] == ["child"]


def test_task_called_outside_a_flow_runs_with_retries_and_is_recorded():
    calls = []

    @task(retries=2)
    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise OSError("transient")
        return "ok"

    assert flaky() == "ok"
    (t,) = history().list_task_runs(None)
    assert t["state"] == "Completed" and t["run_count"] == 3


def test_async_flow_and_tasks():
    @task
    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    @flow
    async def pipeline(n: int) -> list[int]:
        first = await double(n)
        futures = double.map([1, 2])
        return [first] + [f.result() for f in futures]

    assert asyncio.run(pipeline(5)) == [10, 2, 4]

    @flow
    def sync_pipeline() -> int:
        return double(4)  # an async task from a sync flow runs to completion

    assert sync_pipeline() == 8


def test_parameters_are_validated_and_coerced_from_type_hints():
    @flow
    def typed(n: int, ratio: float = 0.5) -> tuple:
        return n, ratio

    assert typed("3") == (3, 0.5)
    with pytest.raises(ParameterValidationError, match="parameter 'n' expects int"):
        typed("three")
    with pytest.raises(ParameterValidationError, match="flow 'typed'"):
        typed(1, 2, 3)
    assert typed.with_options(validate_parameters=False)("3") == ("3", 0.5)
    failed = history().list_flow_runs(state="Failed")
    assert len(failed) == 2


def test_with_options_and_flow_run_names():
    @flow(flow_run_name="load-{table}")
    def load(table: str) -> str:
        return flow_run.name

    assert load("orders") == "load-orders"
    renamed = add.with_options(name="plus", tags=["math"], task_run_name="plus-{x}")

    @flow
    def pipeline():
        return renamed(1), task_names()

    @task
    def task_names():
        return task_run.name

    assert pipeline() == (2, "task_names")
    run = history().list_flow_runs(limit=1)[0]
    tasks = history().list_task_runs(run["id"])
    assert tasks[0]["name"] == "plus-1" and tasks[0]["tags"] == ["math"]
    with pytest.raises(TypeError, match="unknown task option"):
        add.with_options(colour="red")


def test_flow_returning_a_state_takes_that_state_and_hooks_run():
    calls = []

    @flow(on_completion=lambda f, r, s: calls.append(("done", s.name)),
          on_failure=[lambda f, r, s: calls.append(("failed", s.name))])
    def pipeline(ok: bool):
        return S.Completed("fine") if ok else S.Failed("not today")

    assert pipeline(True) == "fine"
    state = pipeline(False, return_state=True)
    assert state.is_failed()
    assert calls == [("done", "Completed"), ("failed", "Failed")]


def test_task_hooks_receive_task_run_and_state():
    seen = []

    @task(on_running=lambda t, tr, s: seen.append(("running", tr.run_count)),
          on_completion=lambda t, tr, s: seen.append(("completed", t.name, s.result())),
          on_failure=lambda t, tr, s: seen.append(("failed", s.name)))
    def maybe(ok: bool):
        if not ok:
            raise ValueError("no")
        return 5

    @flow
    def pipeline():
        maybe(True)
        maybe(False, return_state=True)

    pipeline()
    assert seen == [("running", 1), ("completed", "maybe", 5), ("running", 1), ("failed", "Failed")]


def test_interrupted_flow_and_system_exit_crash_and_call_on_crashed_as_in_prefect():
    calls = []

    @flow(on_cancellation=lambda f, r, s: calls.append(("cancelled", s.name)),
          on_crashed=lambda f, r, s: calls.append(("crashed", s.name)))
    def interrupted(kind: str):
        raise KeyboardInterrupt() if kind == "ctrl-c" else SystemExit(3)

    with pytest.raises(KeyboardInterrupt):
        interrupted("ctrl-c")
    with pytest.raises(SystemExit):
        interrupted("exit")
    assert calls == [("crashed", "Crashed"), ("crashed", "Crashed")]
    runs = history().list_flow_runs()
    assert [r["state"] for r in runs] == ["Crashed", "Crashed"]
    assert runs[1]["message"] == "Execution was aborted by an interrupt signal."


def test_a_flow_returning_failed_runs_states_or_futures_fails_as_in_prefect():
    @task
    def bad():
        raise ValueError("bad")

    @task
    def good():
        return 1

    @flow
    def returns_states():
        return [good(return_state=True), bad(return_state=True)]

    @flow
    def returns_future():
        return bad.submit()

    @flow
    def returns_good_states():
        return [good(return_state=True), good(return_state=True)]

    states = returns_states(return_state=True)
    assert states.is_failed() and states.message == "1/2 states failed."
    with pytest.raises(ValueError, match="bad"):
        returns_future()
    assert [s.result() for s in returns_good_states()] == [1, 1]
    assert [r["state"] for r in history().list_flow_runs()] == ["Completed", "Failed", "Failed"]


def test_map_takes_a_future_of_a_list_and_maps_dicts_over_their_keys():
    @task
    def items():
        return [1, 2, 3]

    @task
    def inc(x, k):
        return x + k

    @task
    def tag(name, suffix):
        return name + suffix

    @flow
    def pipeline():
        source = items.submit()
        return ([f.result() for f in inc.map(source, 1)],
                [f.result() for f in tag.map({"a": 1, "b": 2}, "!")],
                [f.result() for f in tag.map(["x", "y"], unmapped("?"))])

    assert pipeline() == ([2, 3, 4], ["a!", "b!"], ["x?", "y?"])
    run = history().list_flow_runs(limit=1)[0]
    runs = history().list_task_runs(run["id"])
    source_id = next(r["id"] for r in runs if r["task_key"].endswith("items"))
    assert sum(source_id in r["upstream"] for r in runs) == 3  # each mapped inc run names its source


def test_run_name_callables_see_their_run_and_templates_see_resolved_futures():
    from headwater.runtime import flow_run, task_run

    @task
    def seven():
        return 7

    @task(task_run_name="t-{x}")
    def templated(x):
        return task_run.name

    @task(task_run_name=lambda: f"call-{task_run.parameters['x']}")
    def called(x):
        return task_run.name

    @flow(flow_run_name=lambda: f"run-{flow_run.parameters['x']}")
    def named(x: int):
        return flow_run.name, templated(seven.submit()), called(3)

    assert named(1) == ("run-1", "t-7", "call-3")


def test_allow_failure_lets_the_downstream_run_with_the_upstream_exception():
    from headwater import allow_failure

    @task
    def breaks():
        raise ValueError("upstream broke")

    @task
    def report(upstream):
        return f"saw {upstream!r}"

    @task
    def cleanup():
        return "cleaned"

    @flow
    def pipeline():
        broken = breaks.submit()
        blocked = report.submit(broken)
        blocked.wait()
        return {"report": report(allow_failure(broken)),
                "cleanup": cleanup.submit(wait_for=[allow_failure(broken)]).result(),
                "blocked": blocked.state.name}

    assert pipeline() == {"report": "saw ValueError('upstream broke')", "cleanup": "cleaned", "blocked": "Failed"}


def test_generator_tasks_run_inside_their_task_run_with_retries_as_in_prefect():
    from headwater.runtime import task_run

    attempts = []

    @task(retries=2)
    def rows():
        attempts.append(task_run.run_count)
        yield 1
        raise OSError("dropped")

    @task
    def numbers(n):
        for i in range(n):
            yield i * 10 + task_run.run_count

    @flow
    def pipeline():
        try:
            list(rows())
        except OSError as exc:
            failed = repr(exc)
        first_two = []
        for value in numbers(5):
            first_two.append(value)
            if len(first_two) == 2:
                break  # stopping early ends the run normally
        return (failed, list(numbers(3)), first_two, numbers(2, return_state=True).result(),
                numbers.submit(2).result(), [f.result() for f in numbers.map([1, 2])])

    assert pipeline() == ("OSError('dropped')", [1, 11, 21], [1, 11], [1, 11], [1, 11], [[1], [1, 11]])
    assert attempts == [1, 2, 3]
    run = history().list_flow_runs(limit=1)[0]
    states = sorted(
        (r["task_key"].rsplit(".", 1)[-1], r["state"], r["run_count"]) for r in history().list_task_runs(run["id"])
    )
    assert states[-1] == ("rows", "Failed", 3)
    assert {s[1] for s in states[:-1]} == {"Completed"}
