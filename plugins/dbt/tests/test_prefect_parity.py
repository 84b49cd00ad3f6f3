"""What code written for prefect-dbt relies on: the tasks, their async twins, target configs, errors."""

from __future__ import annotations

import asyncio
import inspect
import pickle
from pathlib import Path

import pytest
from headwater import Task, flow
from headwater.errors import BlockValidationError, ConfigError
from headwater_dbt import (
    DbtCliProfile,
    DbtProfileError,
    DbtValidationError,
    GlobalConfigs,
    TargetConfigs,
    arun_dbt_build,
    arun_dbt_model,
    arun_dbt_seed,
    arun_dbt_snapshot,
    arun_dbt_source_freshness,
    arun_dbt_test,
    atrigger_dbt_cli_command,
    run_dbt_build,
    run_dbt_model,
    run_dbt_seed,
    run_dbt_snapshot,
    run_dbt_source_freshness,
    run_dbt_test,
    trigger_dbt_cli_command,
)
from pydantic import ValidationError

SYNC = [run_dbt_build, run_dbt_model, run_dbt_seed, run_dbt_snapshot, run_dbt_source_freshness, run_dbt_test,
        trigger_dbt_cli_command]
ASYNC = [arun_dbt_build, arun_dbt_model, arun_dbt_seed, arun_dbt_snapshot, arun_dbt_source_freshness, arun_dbt_test,
         atrigger_dbt_cli_command]


# -- the tasks -----------------------------------------------------------------------------------


def test_dbt_commands_are_headwater_tasks_with_options() -> None:
    for sync, twin in zip(SYNC, ASYNC, strict=True):
        assert isinstance(sync, Task) and isinstance(twin, Task)
        assert twin.name == "a" + sync.name
        assert not inspect.iscoroutinefunction(sync.fn) and inspect.iscoroutinefunction(twin.fn)
        nightly = sync.with_options(name=f"nightly-{sync.name}", retries=2, tags=["dbt"])
        assert isinstance(nightly, Task) and nightly.name == f"nightly-{sync.name}" and nightly.retries == 2
        assert sync.name != nightly.name  # the original is unchanged
    assert list(inspect.signature(trigger_dbt_cli_command.fn).parameters)[:9] == [
        "command", "profiles_dir", "project_dir", "overwrite_profiles", "dbt_cli_profile", "create_summary_artifact",
        "summary_artifact_key", "extra_command_args", "stream_output",
    ]


def test_trigger_dbt_cli_command_runs_a_dbt_command(duckdb_built, make_duckdb_profile, duckdb_query, tmp_path) -> None:
    warehouse = tmp_path / "w.duckdb"

    @flow
    def seed() -> object:
        return trigger_dbt_cli_command(
            "dbt seed", project_dir=duckdb_built.project, dbt_cli_profile=make_duckdb_profile(warehouse),
            extra_command_args=["--select", "raw_orders"], stream_output=False,
        )

    invocation = seed()
    assert invocation.success and [n.unique_id for n in invocation.nodes] == ["seed.headwater_demo.raw_orders"]
    assert duckdb_query(warehouse, "select count(*) from main.raw_orders") == [(7,)]


def test_trigger_refuses_a_command_that_is_not_dbt(duckdb_built) -> None:
    with pytest.raises(ConfigError, match="'echo hello' is not a dbt command"):
        trigger_dbt_cli_command.fn("echo hello", project_dir=duckdb_built.project)


def test_async_flow_awaits_every_twin(project_copy: Path, make_duckdb_profile, duckdb_query, tmp_path) -> None:
    warehouse = tmp_path / "w.duckdb"
    profile = make_duckdb_profile(warehouse)
    kwargs = dict(project_dir=project_copy, dbt_cli_profile=profile, stream_output=False)

    @flow
    async def nightly() -> dict[str, list[str]]:
        seeded = await arun_dbt_seed(**kwargs)
        modelled = await arun_dbt_model(extra_command_args=["--select", "staging"], **kwargs)
        tested = await arun_dbt_test(extra_command_args=["--select", "stg_orders"], **kwargs)
        snap = await arun_dbt_snapshot(**kwargs)
        fresh = await arun_dbt_source_freshness(**kwargs)
        built = await arun_dbt_build(**kwargs)
        listed = await atrigger_dbt_cli_command("dbt ls --resource-type seed", **kwargs)
        return {name: sorted(n.unique_id for n in inv.nodes) for name, inv in [
            ("seed", seeded), ("run", modelled), ("test", tested), ("snapshot", snap), ("freshness", fresh),
            ("build", built),
        ]} | {"ls": sorted(line for line in listed.output if line.startswith("headwater_demo."))}

    out = asyncio.run(nightly())
    assert out["seed"] == ["seed.headwater_demo.raw_customers", "seed.headwater_demo.raw_orders"]
    assert out["run"] and all(uid.startswith("model.headwater_demo.stg_") for uid in out["run"])
    assert len(out["test"]) == 4
    assert out["snapshot"] == ["snapshot.headwater_demo.customers_snapshot"]
    assert out["freshness"] == ["source.headwater_demo.raw.raw_orders"]
    assert any(uid.startswith("model.headwater_demo.") for uid in out["build"])
    assert out["ls"] == ["headwater_demo.raw_customers", "headwater_demo.raw_orders"]
    assert duckdb_query(warehouse, "select count(*) from main.stg_orders") == [(7,)]


# -- target configs -------------------------------------------------------------------------------


def test_target_configs_as_prefect_dbt_builds_them() -> None:
    target = TargetConfigs(
        type="snowflake", schema="schema_input", threads=5,
        extras={"extra_input": 1, "null_input": None, "key_path": Path("path/to/key")},
    )
    assert target.get_configs() == {
        "type": "snowflake", "schema": "schema_input", "threads": 5, "extra_input": 1, "key_path": "path/to/key",
    }


def test_a_duplicated_keyword_is_an_error_unless_overrides_are_allowed() -> None:
    target = TargetConfigs(type="snowflake", schema="schema_input", extras={"extra_input": 1, "schema": "else"})
    with pytest.raises(ValueError, match="The keyword, schema") as info:
        target.get_configs()
    assert isinstance(info.value, DbtProfileError)
    lenient = TargetConfigs(
        type="snowflake", schema="schema_input", extras={"schema": "else"}, allow_field_overrides=True
    )
    with pytest.warns(UserWarning, match="schema"):
        assert lenient.get_configs()["schema"] == "schema_input"


def test_extra_keywords_reach_the_profile_and_dbt(duckdb_built, duckdb_query, tmp_path) -> None:
    warehouse = tmp_path / "kw.duckdb"
    target = TargetConfigs(type="duckdb", schema="main", threads=1, path=str(warehouse), password="kw-s3cret-Value")
    assert target.extras == {"path": str(warehouse)}
    assert "kw-s3cret-Value" not in repr(target) and "kw-s3cret-Value" not in target.model_dump_json()
    assert target.get_configs()["path"] == str(warehouse) and target.get_configs()["password"] == "kw-s3cret-Value"
    profile = DbtCliProfile(name="headwater_demo", target="dev", target_configs=target)
    profile.save("kw")
    loaded = DbtCliProfile.load("kw")
    assert loaded.get_profile() == profile.get_profile()
    invocation = run_dbt_seed.fn(project_dir=duckdb_built.project, dbt_cli_profile=loaded, stream_output=False,
                                 extra_command_args=["--select", "raw_customers"], node_task_runs=False)
    assert invocation.success
    assert duckdb_query(warehouse, "select count(*) from main.raw_customers")[0][0] > 0


# -- validation errors are pydantic's too ----------------------------------------------------------


def test_invalid_profile_is_a_pydantic_validation_error() -> None:
    with pytest.raises(ValidationError) as info:
        DbtCliProfile(name="test_name", target="dev", target_configs={"extras": {"field": "abc"}})
    err = info.value
    assert isinstance(err, BlockValidationError) and isinstance(err, DbtValidationError)
    assert str(err).startswith("invalid dbt-cli-profile: ") and "\n" not in str(err)
    assert {e["loc"] for e in err.errors()} == {("target_configs", "type"), ("target_configs", "schema")}


def test_validation_errors_do_not_echo_the_input() -> None:
    planted = "Planted-s3cret-9"
    with pytest.raises(ValidationError) as info:
        GlobalConfigs(printer_width=planted)
    err = info.value
    assert planted not in str(err) and planted not in repr(err)
    assert all(planted not in str(e) for e in err.errors())
    again = pickle.loads(pickle.dumps(err))  # errors cross process boundaries with task states
    assert type(again) is type(err) and str(again) == str(err) and again.errors() == err.errors()


def test_async_flow_awaits_the_sync_names(project_copy: Path, make_duckdb_profile, duckdb_query, tmp_path) -> None:
    """Prefect 3's dispatch: in an async flow the sync names (tasks, ``DbtCoreOperation.run``,
    ``save``/``load``) return awaitables; ``_sync=True`` runs them in place."""
    from headwater_dbt import DbtCoreOperation

    warehouse = tmp_path / "w.duckdb"

    @flow
    async def nightly() -> dict[str, object]:
        await make_duckdb_profile(warehouse).save("duck")
        profile = await DbtCliProfile.load("duck")
        kwargs = dict(project_dir=project_copy, dbt_cli_profile=profile, stream_output=False)
        seeded = await run_dbt_seed(**kwargs)
        modelled = await run_dbt_model(extra_command_args=["--select", "stg_orders"], **kwargs)
        listed = await trigger_dbt_cli_command("dbt ls --resource-type seed", **kwargs)
        operation = DbtCoreOperation(commands=["dbt run --select stg_customers"], project_dir=project_copy,
                                     dbt_cli_profile=profile)
        ran = await operation.run()
        forced = run_dbt_test(extra_command_args=["--select", "stg_orders"], _sync=True, **kwargs)
        return {"seed": sorted(n.unique_id for n in seeded.nodes), "run": [n.unique_id for n in modelled.nodes],
                "ls": sorted(line for line in listed.output if line.startswith("headwater_demo.")),
                "op": [n.unique_id for inv in ran.invocations for n in inv.nodes], "tests": len(forced.nodes)}

    out = asyncio.run(nightly())
    assert out["seed"] == ["seed.headwater_demo.raw_customers", "seed.headwater_demo.raw_orders"]
    assert out["run"] == ["model.headwater_demo.stg_orders"]
    assert out["ls"] == ["headwater_demo.raw_customers", "headwater_demo.raw_orders"]
    assert out["op"] == ["model.headwater_demo.stg_customers"]
    assert out["tests"] > 0
    assert duckdb_query(warehouse, "select count(*) from main.stg_orders") == [(7,)]
