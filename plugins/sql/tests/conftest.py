"""Fixtures: an isolated Headwater home, and one database URL per backend.

``db_url`` runs a test against a SQLite file, a DuckDB file and a fresh database on a real
PostgreSQL server (``postgres_database`` from headwater.testing, skipped with a reason if no
server can be started).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

BACKENDS = ["sqlite", "duckdb", "postgres"]


@pytest.fixture(autouse=True)
def _isolated_home(headwater_home: Any) -> Any:
    return headwater_home


def url_for(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    if backend == "duckdb":
        pytest.importorskip("duckdb_engine",
                            reason="duckdb-engine is not installed: pip install 'headwater-sql[duckdb]'")
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install 'headwater-sql[postgres]'")
    return request.getfixturevalue("postgres_database")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A SQLAlchemy URL of an empty database of the parametrised backend."""
    return url_for(backend, tmp_path, request)


@pytest.fixture
def connector(db_url: str) -> Any:
    from headwater_sql import SqlAlchemyConnector

    with SqlAlchemyConnector(connection_info=db_url) as db:
        yield db


@pytest.fixture
def async_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Async-capable backends: aiosqlite and psycopg's async driver."""
    pytest.importorskip("greenlet",
                        reason="SQLAlchemy's asyncio layer needs greenlet: pip install 'headwater-sql[sqlite-async]'")
    if request.param == "sqlite":
        pytest.importorskip("aiosqlite", reason="aiosqlite is not installed: pip install 'headwater-sql[sqlite-async]'")
    return url_for(request.param, tmp_path, request)
