"""DbtCoreOperation against dbt-duckdb: what the models built, node results, failures, reuse."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from headwater_dbt import DbtCliProfile, DbtCoreOperation, DbtRunError


def test_build_creates_the_models_seeds_and_snapshot(duckdb_built, duckdb_query):
    rows = duckdb_query(
        duckdb_built.warehouse,
        "select first_name, order_count, completed_amount from main.customer_orders order by customer_id",
    )
    assert rows == [
        ("Ada", 2, Decimal("200.50")),
        ("Grace", 1, Decimal("0.00")),
        ("Alan", 3, Decimal("260.00")),
        ("Edsger", 0, Decimal("0.00")),
        ("Barbara", 1, Decimal("99.99")),
    ]
    revenue = dict(duckdb_query(duckdb_built.warehouse, "select country, completed_amount from main.country_revenue"))
    assert revenue == {"GB": Decimal("460.50"), "US": Decimal("99.99"), "NL": Decimal("0.00")}
    assert duckdb_query(duckdb_built.warehouse, "select count(*) from main.customers_snapshot") == [(5,)]
    tables = {r[0] for r in duckdb_query(duckdb_built.warehouse, "select table_name from information_schema.tables")}
    assert {"raw_customers", "raw_orders", "stg_customers", "stg_orders"} <= tables
    assert "broken_model" not in tables, "the deliberately failing model is outside the default selection"


def test_every_node_is_reported_with_its_status(duckdb_built):
    (invocation,) = duckdb_built.result.invocations
    by_id = {n.unique_id: n for n in invocation.nodes}
    assert by_id["seed.headwater_demo.raw_customers"].rows_affected == 5
    assert by_id["seed.headwater_demo.raw_orders"].rows_affected == 7
    assert by_id["model.headwater_demo.customer_orders"].status == "success"
    assert by_id["snapshot.headwater_demo.customers_snapshot"].status == "success"
    tests = [n for n in invocation.nodes if n.unique_id.startswith("test.")]
    assert len(tests) == 9 and all(t.status == "pass" for t in tests)
    assert len(invocation.nodes) == 16
    assert any("Completed successfully" in line for line in duckdb_built.result)


def test_log_lines_reach_the_logger_at_mapped_levels(duckdb_built, caplog):
    caplog.set_level(logging.INFO, logger="headwater_dbt")
    DbtCoreOperation(
        commands=["dbt run --select stg_customers"], project_dir=duckdb_built.project,
        dbt_cli_profile=duckdb_built.profile
    ).run()
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert any(level == logging.INFO and "stg_customers" in msg and "OK created" in msg for level, msg in messages)
    assert not any("\x1b[" in msg for _, msg in messages), "no terminal colour codes in log records"


def test_stream_output_false_logs_nothing(duckdb_built, caplog):
    caplog.set_level(logging.DEBUG, logger="headwater_dbt")
    result = DbtCoreOperation(
        commands=["dbt run --select stg_orders"], project_dir=duckdb_built.project,
        dbt_cli_profile=duckdb_built.profile, stream_output=False,
    ).run()
    assert not caplog.records
    assert result.invocations[0].nodes[0].unique_id == "model.headwater_demo.stg_orders"


def test_second_command_reuses_the_parsed_manifest(duckdb_built):
    result = DbtCoreOperation(
        commands=["dbt run --select stg_customers", "dbt test --select stg_customers"],
        project_dir=duckdb_built.project, dbt_cli_profile=duckdb_built.profile,
    ).run()
    first, second = result.invocations
    assert second.reused_manifest
    assert [n.status for n in second.nodes] == ["pass"] * 3  # unique, not_null, relationships


def test_a_changed_model_is_picked_up(project_copy, tmp_path, duckdb_query, make_duckdb_profile):
    profile = make_duckdb_profile(tmp_path / "w.duckdb", threads=1)
    op = DbtCoreOperation(commands=["dbt seed", "dbt run --select stg_customers"], project_dir=project_copy,
                          dbt_cli_profile=profile)
    op.run()
    assert duckdb_query(tmp_path / "w.duckdb", "select count(*) from main.stg_customers") == [(5,)]
    model = project_copy / "models" / "staging" / "stg_customers.sql"
    model.write_text(model.read_text() + "where country = 'GB'\n")
    again = DbtCoreOperation(commands=["dbt run --select stg_customers"], project_dir=project_copy,
                             dbt_cli_profile=profile).run()
    assert not again.invocations[0].reused_manifest
    assert duckdb_query(tmp_path / "w.duckdb", "select count(*) from main.stg_customers") == [(2,)]


def test_failing_model_raises_naming_the_nodes(duckdb_built):
    op = DbtCoreOperation(
        commands=["dbt build --select tag:failing"], project_dir=duckdb_built.project,
        dbt_cli_profile=duckdb_built.profile
    )
    with pytest.raises(DbtRunError) as info:
        op.run()
    err = info.value
    text = str(err)
    assert "model.headwater_demo.broken_model" in text and "not a number" in text
    assert "test.headwater_demo.assert_everyone_ordered" in text
    assert str(duckdb_built.project) in text
    assert "1 downstream node(s) skipped" in text
    assert {f.unique_id for f in err.failures} == {"model.headwater_demo.broken_model",
                                                   "test.headwater_demo.assert_everyone_ordered"}
    assert "\n" not in text


def test_commands_after_a_failure_do_not_run(duckdb_built):
    op = DbtCoreOperation(
        commands=["dbt run --select broken_model", "dbt run --select stg_customers"],
        project_dir=duckdb_built.project, dbt_cli_profile=duckdb_built.profile,
    )
    with pytest.raises(DbtRunError, match="broken_model"):
        op.run()


def test_the_prefect_usage_works_as_written(duckdb_built, make_duckdb_profile):
    make_duckdb_profile(duckdb_built.warehouse).save("my-dbt-profile")
    result = DbtCoreOperation(
        commands=["dbt run"], dbt_cli_profile=DbtCliProfile.load("my-dbt-profile"), project_dir=duckdb_built.project
    ).run()
    statuses = {n.unique_id: n.status for n in result.invocations[0].nodes}
    assert statuses["model.headwater_demo.country_revenue"] == "success"
    assert len(statuses) == 4


def test_a_saved_operation_loads_and_runs(duckdb_built, make_duckdb_profile):
    DbtCoreOperation(
        commands=["dbt seed --select raw_customers"], project_dir=duckdb_built.project,
        dbt_cli_profile=make_duckdb_profile(duckdb_built.warehouse),
    ).save("nightly")
    loaded = DbtCoreOperation.load("nightly")
    assert loaded.project_dir == duckdb_built.project
    result = loaded.run()
    assert result.invocations[0].nodes[0].rows_affected == 5


def test_env_is_set_while_dbt_runs_and_restored(project_copy, tmp_path, monkeypatch, duckdb_query, make_duckdb_profile):
    monkeypatch.delenv("HW_DBT_COUNTRY", raising=False)
    model = project_copy / "models" / "staging" / "stg_customers.sql"
    model.write_text(model.read_text() + "where country = '{{ env_var(\"HW_DBT_COUNTRY\") }}'\n")
    profile = make_duckdb_profile(tmp_path / "e.duckdb", threads=1)
    DbtCoreOperation(
        commands=["dbt seed --select raw_customers", "dbt run --select stg_customers"],
        project_dir=project_copy, dbt_cli_profile=profile, env={"HW_DBT_COUNTRY": "US"},
    ).run()
    assert duckdb_query(tmp_path / "e.duckdb", "select count(*) from main.stg_customers") == [(2,)]
    result = DbtCoreOperation(
        commands=["dbt run --select stg_customers"], project_dir=project_copy, dbt_cli_profile=profile,
        env={"HW_DBT_COUNTRY": "NL"},
    ).run()
    assert not result.invocations[0].reused_manifest, "a changed env var the project reads invalidates the manifest"
    assert duckdb_query(tmp_path / "e.duckdb", "select count(*) from main.stg_customers") == [(1,)]
    import os

    assert "HW_DBT_COUNTRY" not in os.environ


def test_existing_profiles_dir_is_used(duckdb_built, tmp_path, duckdb_query):
    (tmp_path / "profiles.yml").write_text(
        "headwater_demo:\n  target: local\n  outputs:\n    local:\n"
        f"      type: duckdb\n      path: {tmp_path / 'p.duckdb'}\n      schema: main\n      threads: 1\n"
    )
    DbtCoreOperation(commands=["dbt seed --select raw_orders"], project_dir=duckdb_built.project,
                     profiles_dir=tmp_path).run()
    assert duckdb_query(tmp_path / "p.duckdb", "select count(*) from main.raw_orders") == [(7,)]


def test_working_dir_as_in_prefect_dbt(project_copy, tmp_path, duckdb_query, make_duckdb_profile):
    # prefect-dbt's DbtCoreOperation runs its commands in working_dir: a relative project_dir
    # (or, without one, working_dir itself) and a relative profiles_dir are found from there.
    import yaml

    warehouse = tmp_path / "wd.duckdb"
    (project_copy.parent / "profiles").mkdir()
    (project_copy.parent / "profiles" / "profiles.yml").write_text(
        yaml.safe_dump(make_duckdb_profile(warehouse).get_profile())
    )
    DbtCoreOperation(
        commands=["dbt seed --select raw_orders"], working_dir=project_copy.parent, project_dir=project_copy.name,
        profiles_dir="profiles", stream_output=False,
    ).run()
    assert duckdb_query(warehouse, "select count(*) from main.raw_orders") == [(7,)]
    DbtCoreOperation(
        commands=["dbt run --select stg_orders"], working_dir=project_copy,
        dbt_cli_profile=make_duckdb_profile(warehouse), stream_output=False,
    ).run()
    assert duckdb_query(warehouse, "select count(*) from main.stg_orders") == [(7,)]
