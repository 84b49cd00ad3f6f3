"""Bad input gives one clear error naming the project, target, adapter or node."""

from __future__ import annotations

import pytest
from headwater.errors import ConfigError, HeadwaterError
from headwater_dbt import (
    DbtAdapterNotInstalledError,
    DbtCliProfile,
    DbtCoreOperation,
    DbtProfileError,
    DbtProjectError,
    DbtRunner,
    TargetConfigs,
)


def test_missing_project_dir(tmp_path, make_duckdb_profile):
    missing = tmp_path / "nowhere"
    op = DbtCoreOperation(commands=["dbt run"], project_dir=missing,
                          dbt_cli_profile=make_duckdb_profile(tmp_path / "w.duckdb"))
    with pytest.raises(DbtProjectError, match=f"{missing} does not exist"):
        op.run()
    with pytest.raises(DbtProjectError, match="no dbt_project.yml"):
        DbtRunner(tmp_path)


def test_adapter_not_installed(project_copy):
    profile = DbtCliProfile(name="headwater_demo", target="wh",
                            target_configs=TargetConfigs(type="snowflake", schema="raw"))
    op = DbtCoreOperation(commands=["dbt run"], project_dir=project_copy, dbt_cli_profile=profile)
    with pytest.raises(DbtAdapterNotInstalledError,
                       match="target 'wh' uses dbt adapter 'snowflake'.*pip install dbt-snowflake"):
        op.run()


def test_adapter_not_installed_in_an_existing_profiles_yml(project_copy, tmp_path):
    (tmp_path / "profiles.yml").write_text(
        "headwater_demo:\n  target: dev\n  outputs:\n    dev: {type: clickhouse, schema: main}\n"
    )
    op = DbtCoreOperation(commands=["dbt run"], project_dir=project_copy, profiles_dir=tmp_path)
    with pytest.raises(DbtAdapterNotInstalledError, match="adapter 'clickhouse'"):
        op.run()


def test_target_that_does_not_exist(project_copy, tmp_path):
    (tmp_path / "profiles.yml").write_text(
        "headwater_demo:\n  target: dev\n  outputs:\n    dev: "
        f"{{type: duckdb, path: '{tmp_path / 'w.duckdb'}', schema: main}}\n"
    )
    op = DbtCoreOperation(commands=["dbt run --target prod"], project_dir=project_copy, profiles_dir=tmp_path)
    with pytest.raises(DbtProfileError) as info:
        op.run()
    assert "prod" in str(info.value) and str(project_copy) in str(info.value)


def test_not_a_dbt_command():
    with pytest.raises(HeadwaterError, match="not a dbt command"):
        DbtCoreOperation(commands=["--help"], project_dir=".")
    with pytest.raises(HeadwaterError, match="chains shell commands"):
        DbtCoreOperation(commands=["dbt deps && dbt run"], project_dir=".")
    with pytest.raises(HeadwaterError, match="at least one dbt command"):
        DbtCoreOperation(commands=[], project_dir=".")
    with pytest.raises(HeadwaterError,
                       match="'echo hi' is not a dbt command: DbtCoreOperation runs dbt in this process"):
        DbtCoreOperation(commands=["dbt build", "echo hi"], project_dir=".")
    assert DbtCoreOperation(commands=["build --select x", "dbt --debug run"], project_dir=".").commands


def test_missing_profiles_dir_file(project_copy, tmp_path):
    op = DbtCoreOperation(commands=["dbt run"], project_dir=project_copy, profiles_dir=tmp_path)
    with pytest.raises(ConfigError, match="no profiles.yml"):
        op.run()


def test_check_names_what_a_run_would_trip_on_without_running_dbt(project_copy, tmp_path, make_duckdb_profile):
    good = make_duckdb_profile(tmp_path / "w.duckdb")
    DbtCoreOperation(commands=["dbt build"], project_dir=project_copy, dbt_cli_profile=good).check()
    assert not (tmp_path / "w.duckdb").exists() and not (project_copy / "target").exists()  # dbt did not run
    with pytest.raises(DbtProjectError, match="does not exist"):
        DbtCoreOperation(commands=["dbt build"], project_dir=tmp_path / "nowhere", dbt_cli_profile=good).check()
    snowflake = DbtCliProfile(name="headwater_demo", target="wh",
                              target_configs=TargetConfigs(type="snowflake", schema="raw"))
    with pytest.raises(DbtAdapterNotInstalledError, match="target 'wh' uses dbt adapter 'snowflake'"):
        DbtCoreOperation(commands=["dbt build"], project_dir=project_copy, dbt_cli_profile=snowflake).check()
    with pytest.raises(DbtAdapterNotInstalledError):
        snowflake.check()
    with pytest.raises(ConfigError, match="no profiles.yml in profiles_dir"):
        DbtCoreOperation(commands=["dbt build"], project_dir=project_copy, profiles_dir=tmp_path).check()
