"""Fixtures for headwater-dbt's tests: a copy of the test dbt project per session, built once.

dbt is slow to import and to start, so the happy-path build runs once per session and
tests that only read what it built share it. Tests that change the project take their own
copy. Nothing is written into the repository: projects, targets and logs live in tmp dirs.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

PROJECT = Path(__file__).parent / "project"
PROFILE_NAME = "headwater_demo"


@pytest.fixture(autouse=True)
def _home(headwater_home: Any) -> Any:
    return headwater_home


def copy_project(dest: Path) -> Path:
    shutil.copytree(PROJECT, dest, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    return dest


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A private copy of the test project (for tests that change or break it)."""
    return copy_project(tmp_path / "project")


def duckdb_profile(path: Path, threads: int = 2) -> Any:
    from headwater_dbt import DbtCliProfile, DuckDBTargetConfigs

    return DbtCliProfile(
        name=PROFILE_NAME, target="dev",
        target_configs=DuckDBTargetConfigs(path=str(path), schema="main", threads=threads)
    )


def query_duckdb(path: Path, sql: str) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(path))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


class Built:
    """A project built once with `dbt build` (the default, happy-path selection)."""

    def __init__(self, project: Path, warehouse: Path, profile: Any, result: Any) -> None:
        self.project = project
        self.warehouse = warehouse
        self.profile = profile
        self.result = result


@pytest.fixture(scope="session")
def duckdb_built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    from headwater_dbt import DbtCoreOperation

    root = tmp_path_factory.mktemp("dbt-duckdb")
    project = copy_project(root / "project")
    warehouse = root / "warehouse.duckdb"
    profile = duckdb_profile(warehouse)
    result = DbtCoreOperation(commands=["dbt build"], project_dir=project, dbt_cli_profile=profile).run()
    yield Built(project, warehouse, profile, result)


try:
    from headwater.testing import postgres as _pg

    _HAVE_PG_FIXTURES = hasattr(_pg, "postgres_database")
except ImportError:  # pragma: no cover
    _HAVE_PG_FIXTURES = False

if not _HAVE_PG_FIXTURES:

    @pytest.fixture(scope="session")
    def postgres_server() -> Any:
        pytest.skip(
            "headwater.testing has no PostgreSQL fixtures in this checkout: install headwater with its testing extras"
        )

    @pytest.fixture
    def postgres_database() -> Any:
        pytest.skip(
            "headwater.testing has no PostgreSQL fixtures in this checkout: install headwater with its testing extras"
        )


@pytest.fixture(scope="session")
def make_duckdb_profile() -> Any:
    """``make_duckdb_profile(path, threads=2)`` -> a DbtCliProfile for the test project."""
    return duckdb_profile


@pytest.fixture(scope="session")
def duckdb_query() -> Any:
    """``duckdb_query(path, sql)`` -> all rows."""
    return query_duckdb
