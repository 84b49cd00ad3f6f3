"""Headwater's pytest plugin, opt-in: `pytest -p headwater.testing.pytest_plugin` (or `addopts`).

Fixtures:
    headwater_home: an isolated HEADWATER_HOME with its own SQLite store and the encrypted
        secret backend with a test key; settings and caches are reset around each test.
Server fixtures (S3, GCS, PostgreSQL) live in ``headwater.testing.servers``.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator

import pytest

TEST_SECRET_KEY = base64.urlsafe_b64encode(b"headwater-test-key-32-bytes-long").decode()

pytest_plugins = ["headwater.testing.servers"]


@pytest.fixture
def headwater_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """An isolated HEADWATER_HOME (returned as a Path) with a fresh embedded store."""
    from headwater.settings import reset_settings

    home = tmp_path_factory.mktemp("headwater-home")
    monkeypatch.setenv("HEADWATER_HOME", str(home))
    monkeypatch.delenv("HEADWATER_DATABASE_URL", raising=False)
    monkeypatch.setenv("HEADWATER_SECRETS_BACKEND", "encrypted")
    monkeypatch.setenv("HEADWATER_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    reset_settings()
    yield home
    reset_settings()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server")
    config.addinivalue_line("markers", "s3: needs an S3 server")
    config.addinivalue_line("markers", "gcs: needs a GCS server")
    os.environ.setdefault("DO_NOT_TRACK", "1")
