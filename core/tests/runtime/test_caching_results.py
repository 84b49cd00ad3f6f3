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

    with pytest.raises(ResultPersistenceError,
                       match="cannot be persisted with the 'pickle' serializer.*persist_result=False"):
        pipeline()
    # without persistence the same value is fine
    assert pipeline.with_options()(return_state=True).is_failed()
    assert gives_lock.with_options(persist_result=False)() is not None


def test_policies_combine():
    assert (INPUTS + TASK_SOURCE) == (TASK_SOURCE + INPUTS)
    assert repr(INPUTS + TASK_SOURCE) == "INPUTS + TASK_SOURCE"
    assert (INPUTS + NO_CACHE).compute_key(task(lambda: 1), {}, None) is None


def test_a_cache_key_that_is_a_path_cannot_overwrite_that_file(tmp_path, headwater_home):
    orders = tmp_path / "orders.csv"
    orders.write_text("id,amount\n1,10\n")

    @task(cache_key_fn=lambda ctx, params: params["path"])
    def count_lines(path: str) -> int:
        return open(path).read().count("\n")

    @task(cache_key_fn=lambda ctx, params: "../../escape-" + params["path"][-3:])
    def dotted(path: str) -> int:
        return 1

    @flow
    def pipeline():
        return {"path": count_lines(str(orders), return_state=True), "dots": dotted(str(orders), return_state=True)}

    first, second = pipeline().values()
    assert orders.read_text() == "id,amount\n1,10\n"
    for state in (first, second):
        assert state.is_failed() and "points outside the results folder" in state.message
    assert not (headwater_home.parent / "escape-csv").exists() and not (headwater_home / "escape-csv").exists()


def test_cache_key_fn_gets_a_task_run_context_and_its_failures_only_disable_caching():
    seen = []

    @task(cache_key_fn=lambda ctx, params: f"{ctx.task_run.flow_run_id}-{ctx.parameters['x']}-{ctx.task.name}")
    def keyed(x):
        seen.append(x)
        return x

    @task(cache_key_fn=lambda ctx, params: 1 / 0)
    def broken_key(x):
        return x * 2

    @task(cache_key_fn=lambda ctx, params: sum(params["nums"]))  # an int key
    def total(nums):
        return sum(nums)

    @flow
    def pipeline():
        return (keyed(1, return_state=True).name, keyed(1, return_state=True).name,
                broken_key(2, return_state=True).name, total([1, 2], return_state=True).name,
                total([1, 2], return_state=True).name)

    assert pipeline() == ("Completed", "Cached", "Completed", "Completed", "Cached")
    assert seen == [1]
    logs = " ".join(line["message"] for line in history().list_logs(history().list_flow_runs(limit=1)[0]["id"]))
    assert "cache_key_fn raised ZeroDivisionError" in logs


def test_results_pickle_cannot_take_are_kept_with_cloudpickle():
    @task(cache_policy=INPUTS)
    def make_scaler(k):
        return lambda x: x * k

    @flow
    def pipeline():
        first = make_scaler(3, return_state=True)
        again = make_scaler(3, return_state=True)
        return first.name, again.name, again.result()(5)

    assert pipeline() == ("Completed", "Cached", 15)


def test_persist_result_false_turns_a_cache_policy_off_with_a_warning():
    with pytest.warns(UserWarning, match="ignoring the cache policy because persist_result=False"):
        @task(cache_policy=INPUTS, persist_result=False)
        def not_kept(x):
            return x

    @flow
    def pipeline():
        return not_kept(1, return_state=True).name, not_kept(1, return_state=True).name

    assert pipeline() == ("Completed", "Completed")


CACHE_ACROSS_ENTRY_POINTS = textwrap.dedent('''
    import os
    from headwater import flow, task
    from headwater.runtime import INPUTS

    @task(cache_policy=INPUTS)
    def expensive(x):
        with open(os.environ["CALLS_FILE"], "a") as fh:
            fh.write("called\\n")
        return x * 2

    @flow
    def etl(x: int = 4):
        return expensive(x)

    if __name__ == "__main__":
        etl()
''')


def test_the_cache_is_shared_by_python_file_py_and_headwater_run(tmp_path, monkeypatch):
    import subprocess
    import sys
    from pathlib import Path

    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("CALLS_FILE", str(calls))
    script = tmp_path / "etl_cache.py"
    script.write_text(CACHE_ACROSS_ENTRY_POINTS)
    headwater_bin = Path(sys.executable).with_name("headwater")
    subprocess.run([sys.executable, str(script)], check=True, capture_output=True, timeout=120)
    subprocess.run([str(headwater_bin), "run", f"{script}:etl"], check=True, capture_output=True, timeout=120)
    assert calls.read_text().count("called") == 1
