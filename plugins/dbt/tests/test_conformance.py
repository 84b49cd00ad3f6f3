"""Every block of headwater-dbt passes the core BlockConformanceSuite."""

from __future__ import annotations

from headwater.testing import BlockConformanceSuite
from headwater_dbt import (
    DbtCliProfile,
    DbtCoreOperation,
    DuckDBTargetConfigs,
    GlobalConfigs,
    PostgresTargetConfigs,
    TargetConfigs,
)

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


class TestDbtCliProfile(BlockConformanceSuite):
    block_cls = DbtCliProfile
    plugin_name = "dbt"

    def make_block(self):
        return pg_profile()


class TestDuckDBTargetConfigs(BlockConformanceSuite):
    block_cls = DuckDBTargetConfigs
    plugin_name = "dbt"

    def make_block(self):
        return DuckDBTargetConfigs(path="warehouse.duckdb", schema="main")


class TestPostgresTargetConfigs(BlockConformanceSuite):
    block_cls = PostgresTargetConfigs
    plugin_name = "dbt"

    def make_block(self):
        return pg_profile().target_configs


class TestTargetConfigs(BlockConformanceSuite):
    block_cls = TargetConfigs
    plugin_name = "dbt"

    def make_block(self):
        return TargetConfigs(
            type="snowflake", schema="raw", extras={"account": "acme"}, secret_extras={"password": "sf-pass-1234"}
        )


class TestGlobalConfigs(BlockConformanceSuite):
    block_cls = GlobalConfigs
    plugin_name = "dbt"

    def make_block(self):
        return GlobalConfigs(fail_fast=True, printer_width=100)


class TestDbtCoreOperation(BlockConformanceSuite):
    block_cls = DbtCoreOperation
    plugin_name = "dbt"

    def make_block(self):
        return DbtCoreOperation(
            commands=["dbt build --select tag:daily"], project_dir="/srv/dbt", dbt_cli_profile=pg_profile()
        )
