"""Profile and target blocks: profiles.yml content, import from profiles.yml, secrets."""

from __future__ import annotations

import os
import stat

import pytest
import yaml
from headwater_dbt import (
    DbtCliProfile,
    DbtProfileError,
    DuckDBTargetConfigs,
    GlobalConfigs,
    PostgresTargetConfigs,
    TargetConfigs,
)
from headwater_dbt.profiles import private_profiles_dir

PG_PASSWORD = "pg-s3cret-Passw0rd"


def pg_profile() -> DbtCliProfile:
    return DbtCliProfile(
        name="headwater_demo",
        target="prod",
        target_configs=PostgresTargetConfigs(
            host="127.0.0.1", port=5432, user="etl", password=PG_PASSWORD, dbname="dw", schema="analytics", threads=2
        ),
        global_configs=GlobalConfigs(fail_fast=True),
    )


def test_get_profile_is_the_profiles_yml_content():
    assert pg_profile().get_profile() == {
        "headwater_demo": {
            "target": "prod",
            "outputs": {
                "prod": {
                    "type": "postgres", "schema": "analytics", "threads": 2, "host": "127.0.0.1", "port": 5432,
                    "user": "etl", "dbname": "dw", "password": PG_PASSWORD,
                }
            },
        },
        "config": {"fail_fast": True},
    }


def test_duckdb_and_generic_targets():
    duck = DuckDBTargetConfigs(path="w.duckdb", extras={"threads_hint": 1})
    assert duck.get_configs() == {
        "type": "duckdb", "schema": "main", "threads": 4, "path": "w.duckdb", "threads_hint": 1
    }
    generic = TargetConfigs(
        type="snowflake", schema="raw", extras={"account": "x"}, secret_extras={"password": "sf-pass-1234"}
    )
    assert generic.get_configs()["password"] == "sf-pass-1234"
    assert "sf-pass-1234" not in repr(generic) and "sf-pass-1234" not in generic.model_dump_json()


def test_extras_may_not_silently_override_fields():
    target = TargetConfigs(type="duckdb", schema="main", extras={"schema": "other"})
    with pytest.raises(DbtProfileError, match="allow_field_overrides"):
        target.get_configs()
    target = TargetConfigs(type="duckdb", schema="main", extras={"schema": "other"}, allow_field_overrides=True)
    with pytest.warns(UserWarning, match="schema"):
        assert target.get_configs()["schema"] == "main"  # prefect-dbt: the field wins


def test_postgres_target_needs_somewhere_to_connect():
    with pytest.raises(DbtProfileError, match="host"):
        PostgresTargetConfigs(schema="s").get_configs()


def test_postgres_target_from_sql_plugin_blocks():
    sql = pytest.importorskip("headwater_sql", reason="headwater-sql not installed: pip install headwater-sql")
    creds = sql.DatabaseCredentials(
        driver="postgresql+psycopg", username="etl", password=PG_PASSWORD, host="db.local", port=5433, database="dw"
    )
    target = PostgresTargetConfigs(credentials=creds, schema="analytics")
    configs = target.get_configs()
    assert (configs["host"], configs["port"], configs["user"], configs["dbname"], configs["password"]) == (
        "db.local", 5433, "etl", "dw", PG_PASSWORD,
    )
    connector = sql.SqlAlchemyConnector(connection_info=f"postgresql+psycopg://etl:{PG_PASSWORD}@db.local:5434/dw")
    assert PostgresTargetConfigs(credentials=connector, schema="a").get_configs()["port"] == 5434


def test_from_profiles_yml_imports_a_target(tmp_path, monkeypatch):
    (tmp_path / "profiles.yml").write_text(yaml.safe_dump({
        "config": {"send_anonymous_usage_stats": False},
        "shop": {"target": "dev", "outputs": {
            "dev": {"type": "duckdb", "path": "dev.duckdb", "schema": "main", "threads": 3},
            "prod": {"type": "postgres", "host": "pg", "user": "etl", "password": "{{ env_var('PGPASS') }}",
                     "port": 5432, "dbname": "dw", "schema": "analytics", "sslmode": "require"},
            "other": {"type": "snowflake", "account": "acme", "password": "literal-secret-99", "schema": "raw"},
        }},
    }))
    dev = TargetConfigs.from_profiles_yml(profiles_dir=tmp_path)
    assert dev.get_configs() == {"type": "duckdb", "schema": "main", "threads": 3, "path": "dev.duckdb"}
    prod = PostgresTargetConfigs.from_profiles_yml("shop", "prod", profiles_dir=tmp_path)
    assert isinstance(prod, PostgresTargetConfigs)
    assert prod.get_configs()["password"] == "{{ env_var('PGPASS') }}", "jinja is kept for dbt to render"
    assert prod.extras == {"sslmode": "require"}
    other = TargetConfigs.from_profiles_yml("shop", "other", profiles_dir=tmp_path)
    assert other.secret_extras.get_secret_value() == {"password": "literal-secret-99"}
    assert "literal-secret-99" not in repr(other)
    monkeypatch.setenv("DBT_PROFILES_DIR", str(tmp_path))
    profile = DbtCliProfile.from_profiles_yml("shop", "dev")
    assert isinstance(profile.target_configs, DuckDBTargetConfigs) and profile.target_configs.path == "dev.duckdb"


def test_from_profiles_yml_errors_name_what_is_missing(tmp_path):
    with pytest.raises(DbtProfileError, match="no profiles.yml"):
        TargetConfigs.from_profiles_yml(profiles_dir=tmp_path)
    (tmp_path / "profiles.yml").write_text("shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, schema: main}\n")
    with pytest.raises(DbtProfileError, match="no target 'prod'.*targets: dev"):
        TargetConfigs.from_profiles_yml("shop", "prod", profiles_dir=tmp_path)
    with pytest.raises(DbtProfileError, match="'nope' is not in profiles.yml.*shop"):
        TargetConfigs.from_profiles_yml("nope", profiles_dir=tmp_path)


def test_private_profiles_dir_is_private_and_removed():
    with private_profiles_dir(pg_profile()) as folder:
        path = folder / "profiles.yml"
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        content = yaml.safe_load(path.read_text())
        assert content["headwater_demo"]["outputs"]["prod"]["password"] == PG_PASSWORD
        assert "config" not in content, "global configs are passed as flags, not the deprecated config: section"
    assert not folder.exists()


def test_saved_profile_keeps_its_password_out_of_the_store(headwater_home):
    pg_profile().save("prod")
    loaded = DbtCliProfile.load("prod")
    assert loaded.target_configs.get_configs()["password"] == PG_PASSWORD
    assert isinstance(loaded.target_configs, PostgresTargetConfigs)
    blob = b"".join(p.read_bytes() for p in headwater_home.glob("headwater.db*"))
    assert PG_PASSWORD.encode() not in blob
