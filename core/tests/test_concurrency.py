"""Several processes saving and loading blocks in one SQLite store at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

WORKER = """
import sys
from blockdefs import Warehouse, WarehouseCredentials
wid = int(sys.argv[1])
for i in range(100):
    name = f"w{wid}-{i}"
    credentials = WarehouseCredentials(username="u", password=f"pw-{wid}-{i}-xyz")
    Warehouse(host=f"h{wid}", port=i, credentials=credentials).save(name)
    loaded = Warehouse.load(name)
    assert loaded.port == i and loaded.credentials.password.get_secret_value() == f"pw-{wid}-{i}-xyz", name
    if i % 10 == 0:
        Warehouse.load(f"w{wid}-0")
print("ok")
"""


def test_eight_processes_each_saving_and_loading_100_blocks(headwater_home):
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(w)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=dict(os.environ))
        for w in range(8)
    ]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    for out, err, code in results:
        assert code == 0 and out.strip() == "ok", err
        assert "locked" not in err
    con = sqlite3.connect(headwater_home / "headwater.db")
    assert con.execute("SELECT COUNT(*) FROM block_documents").fetchone()[0] == 800
    assert con.execute("SELECT COUNT(*) FROM block_secrets").fetchone()[0] == 800
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


OPENER = """
import headwater.history.schema, headwater.orchestration.schema, headwater.events.schema
from headwater.store.engine import get_database
get_database()
print("ok")
"""


def test_processes_creating_one_new_store_at_once_all_open_it(tmp_path):
    """SQLite does not always apply the busy timeout to the switch into WAL mode: a process
    opening a store that another one was creating could fail at once with "database is locked"
    (5 times in 2,400 rounds of 4 processes on a 2-core machine; CI met it once). The race is
    too narrow to hit on demand, so the test below injects the failure; this one checks that
    processes creating one new store at once all open it, in WAL mode and migrated."""
    for round_ in range(4):
        home = tmp_path / f"home{round_}"
        home.mkdir()
        env = {**os.environ, "HEADWATER_HOME": str(home)}
        env.pop("HEADWATER_DATABASE_URL", None)
        procs = [
            subprocess.Popen([sys.executable, "-c", OPENER], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
            for _ in range(6)
        ]
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0 and out.strip() == "ok", err[-1500:]
        con = sqlite3.connect(home / "headwater.db")
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT COUNT(*) FROM headwater_schema_migrations").fetchone()[0] >= 4


class _LockedAtFirst(sqlite3.Connection):
    """A real connection whose first switches into WAL mode fail as SQLite's do in that race."""

    failures = 2
    error = "database is locked"

    def execute(self, sql, *args):  # type: ignore[override]
        if sql == "PRAGMA journal_mode=WAL" and self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError(self.error)
        return super().execute(sql, *args)


def test_the_switch_into_wal_mode_waits_out_a_lock_and_reports_other_errors(tmp_path):
    from headwater.store._db import _wal

    conn = sqlite3.connect(tmp_path / "s.db", factory=_LockedAtFirst)
    _wal(conn)
    assert conn.failures == 0 and conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    broken = sqlite3.connect(tmp_path / "t.db", factory=_LockedAtFirst)
    broken.error = "disk I/O error"
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        _wal(broken)
    assert broken.failures == 1  # not retried
