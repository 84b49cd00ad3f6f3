"""The contract of headwater.testing's PostgreSQL fixtures, which other plugins rely on."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from headwater.testing import _postgres, servers


def test_fixtures_are_exported() -> None:
    names = {"postgres_server", "postgres_database", "running_postgres", "start_postgres", "PostgresServer"}
    assert names <= set(_postgres.__all__)
    assert names <= set(dir(servers))


def test_server_attributes_and_url(postgres_server: Any) -> None:
    s = postgres_server
    assert s.url.startswith("postgresql+psycopg://") and f"@{s.host}:{s.port}/{s.dbname}" in s.url
    assert isinstance(s.port, int) and s.user and s.dbname
    engine = sa.create_engine(s.url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT current_user")).scalar_one() == s.user
    finally:
        engine.dispose()
    if s.started_here:
        assert s.host == "127.0.0.1"
        assert s.log_path.exists()


def test_each_test_gets_a_fresh_database(postgres_server: Any, postgres_database: str) -> None:
    engine = sa.create_engine(postgres_database)
    try:
        with engine.begin() as conn:
            name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
            assert name != postgres_server.dbname
            tables = conn.execute(sa.text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"))
            assert tables.scalar_one() == 0
            conn.execute(sa.text("CREATE TABLE mine (a INTEGER)"))
    finally:
        engine.dispose()
