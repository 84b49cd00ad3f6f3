"""DbtRunner: every dbt node becomes a task run with state, duration, rows and lineage; retry."""

from __future__ import annotations

import pytest
from headwater_dbt import DbtRunError, DbtRunner


def _task_runs(flow_run_id):
    from headwater.history.reader import list_task_runs
    from headwater.history.writer import flush

    flush()
    return list_task_runs(flow_run_id)


def _flow():
    try:
        from headwater import flow

        return flow
    except (ImportError, AttributeError):
        return None


def _run_in_flow(fn):
    """Run ``fn`` inside a flow when the runtime has flows; returns (result, flow_run_id)."""
    flow = _flow()
    if flow is None:
        return fn(), None
    holder = {}

    @flow
    def dbt_flow():
        from headwater.runtime import flow_run

        holder["id"] = flow_run.id
        return fn()

    return dbt_flow(), holder["id"]


def test_each_node_is_a_task_run_with_lineage(project_copy, tmp_path, make_duckdb_profile, duckdb_query):
    runner = DbtRunner(project_copy, profile=make_duckdb_profile(tmp_path / "w.duckdb"), stream_output=False)
    invocation, flow_run_id = _run_in_flow(lambda: runner.invoke(["build"]))
    assert invocation.success
    runs = {r["name"]: r for r in _task_runs(flow_run_id) if r["name"] in runner.task_run_ids}
    assert len(runs) == 16
    assert {r["state"] for r in runs.values()} == {"Completed"}
    seed = runs["seed.headwater_demo.raw_customers"]
    assert seed["metadata"]["rows_affected"] == 5 and seed["duration"] > 0
    assert "dbt" in seed["tags"] and "seed" in seed["tags"]
    if flow_run_id is not None:
        ids = runner.task_run_ids
        mart = runs["model.headwater_demo.country_revenue"]
        assert set(mart["upstream"]) == {ids["model.headwater_demo.customer_orders"],
                                         ids["model.headwater_demo.stg_customers"]}
        assert runs["model.headwater_demo.stg_orders"]["upstream"] == [ids["seed.headwater_demo.raw_orders"]]
    assert duckdb_query(tmp_path / "w.duckdb", "select count(*) from main.country_revenue") == [(3,)]


def test_failed_node_is_a_failed_task_run_and_retry_reruns_only_failures(project_copy, tmp_path, make_duckdb_profile,
                                                                         duckdb_query):
    runner = DbtRunner(project_copy, profile=make_duckdb_profile(tmp_path / "w.duckdb"), stream_output=False)

    def first():
        with pytest.raises(DbtRunError, match="broken_model"):
            runner.invoke("dbt build --select +tag:failing")
        return runner.task_run_ids.copy()

    ids, flow_run_id = _run_in_flow(first)
    runs = {r["id"]: r for r in _task_runs(flow_run_id)}
    assert runs[ids["model.headwater_demo.broken_model"]]["state"] == "Failed"
    assert "not a number" in runs[ids["model.headwater_demo.broken_model"]]["message"]
    assert runs[ids["model.headwater_demo.after_broken"]]["state"] == "Skipped"
    assert runs[ids["test.headwater_demo.assert_everyone_ordered"]]["state"] == "Failed"
    assert runs[ids["model.headwater_demo.stg_orders"]]["state"] == "Completed"

    (project_copy / "models/failing/broken_model.sql").write_text(
        "select 1 as impossible from {{ ref('stg_orders') }}\n"
    )
    (project_copy / "tests/assert_everyone_ordered.sql").write_text(
        "{{ config(tags=['failing']) }}\nselect * from {{ ref('customer_orders') }} where order_count < 0\n"
    )
    retried = runner.retry()
    assert {n.unique_id for n in retried.nodes} == {
        "model.headwater_demo.broken_model", "model.headwater_demo.after_broken",
        "test.headwater_demo.assert_everyone_ordered",
    }
    assert all(n.status in ("success", "pass") for n in retried.nodes)
    assert duckdb_query(tmp_path / "w.duckdb", "select n from main.after_broken") == [(7,)]


def test_tasks_run_the_command(duckdb_built, make_duckdb_profile, duckdb_query):
    from headwater_dbt import run_dbt_seed, run_dbt_snapshot, run_dbt_source_freshness, run_dbt_test

    profile = make_duckdb_profile(duckdb_built.warehouse)
    kwargs = dict(project_dir=duckdb_built.project, dbt_cli_profile=profile, stream_output=False)

    def all_tasks():
        seeded = run_dbt_seed(extra_command_args=["--select", "raw_orders"], **kwargs)
        snap = run_dbt_snapshot(**kwargs)
        fresh = run_dbt_source_freshness(**kwargs)
        tested = run_dbt_test(extra_command_args=["--select", "stg_orders"], **kwargs)
        return seeded, snap, fresh, tested

    (seeded, snap, fresh, tested), _ = _run_in_flow(all_tasks)
    assert [(n.unique_id, n.rows_affected) for n in seeded.nodes] == [("seed.headwater_demo.raw_orders", 7)]
    assert [n.unique_id for n in snap.nodes] == ["snapshot.headwater_demo.customers_snapshot"]
    assert [(n.unique_id, n.status) for n in fresh.nodes] == [("source.headwater_demo.raw.raw_orders", "pass")]
    assert len(tested.nodes) == 4 and all(n.status == "pass" for n in tested.nodes)


def test_tasks_take_prefect_dbt_arguments(duckdb_built, make_duckdb_profile, duckdb_query, tmp_path):
    # A prefect-dbt call: profiles_dir and project_dir positionally (in that order), plus
    # overwrite_profiles / create_summary_artifact / summary_artifact_key keywords.
    import yaml
    from headwater_dbt import run_dbt_model

    profile = make_duckdb_profile(duckdb_built.warehouse).get_profile()
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(yaml.safe_dump(profile))

    def build():
        return run_dbt_model(
            profiles, duckdb_built.project, overwrite_profiles=False, create_summary_artifact=True,
            summary_artifact_key="dbt-run-summary", extra_command_args=["--select", "stg_orders"], stream_output=False,
        )

    invocation, _ = _run_in_flow(build)
    assert invocation.success
    assert [n.unique_id for n in invocation.nodes] == ["model.headwater_demo.stg_orders"]
    assert duckdb_query(duckdb_built.warehouse, "select count(*) from main.stg_orders") == [(7,)]
