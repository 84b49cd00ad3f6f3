"""The contract of headwater.testing's PostgreSQL fixtures, which other plugins rely on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from headwater.testing import postgres, servers
from headwater.testing.postgres import start_postgres


def test_fixtures_are_exported() -> None:
    names = {"postgres_server", "postgres_database", "running_postgres", "start_postgres", "PostgresServer"}
    assert names <= set(postgres.__all__)
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
            tables = conn.execute(
                sa.text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            )
            assert tables.scalar_one() == 0
            conn.execute(sa.text("CREATE TABLE mine (a INTEGER)"))
    finally:
        engine.dispose()


def test_a_server_left_by_a_killed_session_is_reaped(postgres_server: Any, tmp_path: Any) -> None:
    if not postgres_server.started_here:
        pytest.skip("HEADWATER_TEST_POSTGRES_URL is set: no local server binaries in use")
    marker = tmp_path / "started"
    code = (
        "import time, pathlib; from headwater.testing.postgres import start_postgres; "
        f"s = start_postgres(); pathlib.Path({str(marker)!r}).write_text(str(s.base_dir)); time.sleep(600)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    orphan = Path(marker.read_text())
    assert (orphan / "data" / "postmaster.pid").exists()  # its server outlived it
    with start_postgres():
        assert not orphan.exists()
