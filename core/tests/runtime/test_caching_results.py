"""Caching across processes, expiration, refresh; result persistence to storage blocks."""

from __future__ import annotations

import textwrap
from datetime import timedelta

import pytest
from headwater.blocks import LocalFileSystem
from headwater.runtime import (
    FLOW_PARAMETERS,
    INPUTS,
    NO_CACHE,
    TASK_SOURCE,
    ResultPersistenceError,
    flow,
    task,
    task_input_hash,
)
from rt_support import history, run_py

CACHED_FLOW = textwrap.dedent('''
    import json, os
    from headwater.runtime import flow, task, INPUTS, TASK_SOURCE

    @task(cache_policy=INPUTS + TASK_SOURCE)
    def expensive(x):
        with open(os.environ["CALLS_FILE"], "a") as fh:
            fh.write("called\\n")
        return {{"value": x * 2}}

    @flow
    def pipeline(x: int):
        state = expensive(x, return_state=True)
        return state.name, state.result()

    print(json.dumps(pipeline({x})))
''')


def test_cached_result_is_reused_by_a_new_process_and_shows_cached(tmp_path, monkeypatch):
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("CALLS_FILE", str(calls))
    first = run_py(CACHED_FLOW.format(x=21)).stdout.strip()
    second = run_py(CACHED_FLOW.format(x=21)).stdout.strip()
    other = run_py(CACHED_FLOW.format(x=5)).stdout.strip()
    assert first == '["Completed", {"value": 42}]'
    assert second == '["Cached", {"value": 42}]'
    assert other == '["Completed", {"value": 10}]'
    assert calls.read_text().count("called") == 2
    states = [history().list_task_runs(r["id"])[0]["state"] for r in history().list_flow_runs()]
    assert sorted(states) == ["Cached", "Completed", "Completed"]


def test_cache_expiration_refresh_and_no_cache():
    calls = []

    @task(cache_key_fn=task_input_hash, cache_expiration=timedelta(seconds=60))
    def fetch(x):
        calls.append(x)
        return x

    @flow
    def pipeline():
        return [fetch(1, return_state=True).name, fetch(1, return_state=True).name,
                fetch.with_options(refresh_cache=True)(1, return_state=True).name,
                fetch.with_options(cache_expiration=-1)(2, return_state=True).name,
                fetch.with_options(cache_expiration=-1)(2, return_state=True).name]

    assert pipeline() == ["Completed", "Cached", "Completed", "Completed", "Completed"]
    assert calls == [1, 1, 2, 2]

    uncached = []

    @task(cache_policy=NO_CACHE)
    def never(x):
        uncached.append(x)

    @flow
    def again():
        never(1)
        never(1)

    again()
    assert uncached == [1, 1]


def test_flow_parameters_policy_keys_on_the_flow_run_parameters():
    calls = []

    @task(cache_policy=FLOW_PARAMETERS)
    def report():
        calls.append(1)
        return len(calls)

    @flow
    def pipeline(day: str):
        return report()

    assert [pipeline("mon"), pipeline("mon"), pipeline("tue")] == [1, 1, 2]


def test_persisted_results_go_to_a_storage_block_by_object_or_by_name(tmp_path):
    LocalFileSystem(basepath=str(tmp_path / "named")).save("results")

    @task(persist_result=True, result_storage=LocalFileSystem(basepath=str(tmp_path / "obj")), result_serializer="json")
    def to_obj():
        return {"rows": 3}

    @task(persist_result=True, result_storage="local-file-system/results")
    def to_named():
        return [1, 2, 3]

    @flow
    def pipeline():
        return to_obj.submit().task_run_id, to_named.submit().task_run_id

    obj_id, named_id = pipeline()
    assert b'{"rows": 3}' in (tmp_path / "obj" / obj_id).read_bytes()
    assert (tmp_path / "named" / named_id).exists()


def test_flow_persist_result_defaults_to_home_results(headwater_home):
    @task
    def value():
        return "kept"

    @flow(persist_result=True)
    def pipeline():
        return value.submit().task_run_id

    task_run_id = pipeline()
    run = history().list_flow_runs(limit=1)[0]
    assert (headwater_home / "results" / task_run_id).exists()
    assert (headwater_home / "results" / run["id"]).exists()


def test_unpicklable_result_with_persistence_is_one_clear_error():
    @task(persist_result=True)
    def gives_lock():
        import threading

        return threading.Lock()

    @flow
    def pipeline():
        return gives_lock()

    with pytest.raises(ResultPersistenceError, match="cannot be persisted with the 'pickle' serializer.*persist_result=False"):
        pipeline()
    # without persistence the same value is fine
    assert pipeline.with_options()(return_state=True).is_failed()
    assert gives_lock.with_options(persist_result=False)() is not None


def test_policies_combine():
    assert (INPUTS + TASK_SOURCE) == (TASK_SOURCE + INPUTS)
    assert repr(INPUTS + TASK_SOURCE) == "INPUTS + TASK_SOURCE"
    assert (INPUTS + NO_CACHE).compute_key(task(lambda: 1), {}, None) is None
