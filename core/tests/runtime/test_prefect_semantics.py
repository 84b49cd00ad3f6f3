"""Prefect 3 semantics, each case written from Prefect's documentation."""

from __future__ import annotations

import asyncio

import pytest
from headwater import flow, tags, task
from headwater.exceptions import (
    FailedRun,
    FlowRunTimeoutError,
    MappingLengthMismatch,
    MissingContextError,
    ParameterBindError,
    ParameterTypeError,
    TaskRunTimeoutError,
    UnfinishedRun,
)
from headwater.futures import PrefectFutureList
from headwater.logging import get_run_logger
from headwater.runtime import task_run
from headwater.states import Completed, Failed, Pending
from rt_support import history


@task
def double(x: int) -> int:
    return 2 * x


def test_map_returns_a_future_list_with_result_and_wait():
    @flow
    def doubles():
        futures = double.map([1, 2, 3])
        assert isinstance(futures, PrefectFutureList) and isinstance(futures, list)
        futures.wait()
        return futures.result()

    assert doubles() == [2, 4, 6]


def test_tags_context_manager_tags_the_runs_inside():
    seen = {}

    @task
    def tagged():
        seen["task"] = set(task_run.tags)

    @flow
    def inner():
        tagged()

    with tags("nightly", "db"):
        inner()
    inner()  # outside the block: no extra tags
    rows = history().list_flow_runs()
    assert sorted(sorted(r["tags"] or []) for r in rows) == [[], ["db", "nightly"]]
    assert seen["task"] == set()  # the last call ran outside the block


def test_a_task_or_flow_returning_a_state_ends_in_that_state():
    @task
    def checks(ok: bool):
        return Completed(message="all good") if ok else Failed(message="row count is 0")

    @flow
    def pipeline(ok: bool):
        return checks(ok, return_state=True)

    good = pipeline(True, return_state=True)
    assert good.is_completed() and good.message == "all good"
    bad = pipeline(False, return_state=True)
    assert bad.is_failed() and bad.message == "row count is 0"
    with pytest.raises(FailedRun, match="row count is 0"):
        bad.result()


def test_await_state_result_in_async_code():
    @task
    async def fetch(n: int) -> int:
        return n + 1

    @flow
    async def main():
        state = await fetch(1, return_state=True)
        return await state.result()

    assert asyncio.run(main()) == 2


def test_flow_returning_futures_returns_their_states():
    @flow
    def fan_out():
        return double.map([1, 2])

    states = fan_out()
    assert [s.result() for s in states] == [2, 4]
    assert fan_out(return_state=True).message == "All states completed."


def test_failed_state_built_with_data_raises_it():
    state = Failed(message="bad rows", data=ValueError("3 bad rows"))
    with pytest.raises(ValueError, match="3 bad rows"):
        state.result()


def test_unfinished_state_result_raises_unfinished_run():
    with pytest.raises(UnfinishedRun):
        Pending().result()


def test_timeouts_are_prefects_timeout_errors():
    import time

    @task(timeout_seconds=0.2)
    def slow():
        time.sleep(5)

    @flow(timeout_seconds=0.2)
    def slow_flow():
        time.sleep(5)

    @flow
    def runs_slow():
        return slow(return_state=True)

    with pytest.raises(TaskRunTimeoutError):
        runs_slow()  # the flow ends in the task's state, as returned
    with pytest.raises(FlowRunTimeoutError):
        slow_flow()
    with pytest.raises(TimeoutError):  # Prefect's base, so `except TimeoutError` keeps working
        slow_flow()


def test_parameter_and_mapping_errors_have_prefects_names():
    @flow
    def typed(n: int):
        return n

    with pytest.raises(ParameterBindError) as bind:
        typed(1, 2)
    assert isinstance(bind.value, TypeError)
    with pytest.raises(ParameterTypeError, match="n"):
        typed("not a number")

    @flow
    def mismatched():
        return double.map([1, 2], [3])

    with pytest.raises(MappingLengthMismatch):
        mismatched()


def test_get_run_logger_outside_a_run_is_missing_context():
    with pytest.raises(MissingContextError, match="outside a flow or task run"):
        get_run_logger()


def test_a_map_result_passed_to_a_task_arrives_as_its_values():
    @task
    def total(values):
        return type(values).__name__, sum(values)

    @flow
    def summed():
        return total(double.map([1, 2, 3])), total.submit(double.map([1, 2])).result()

    assert summed() == (("list", 12), ("list", 6))


def test_prefect_runtime_accessors():
    from headwater.runtime import deployment, flow_run

    @flow(version="1.2")
    def report():
        return flow_run.name, flow_run.flow_version, flow_run.scheduled_start_time.year, deployment.id

    name, version, year, deployment_id = report()
    assert name and version == "1.2" and year >= 2024 and deployment_id is None
    assert flow_run.id is None  # outside a run
