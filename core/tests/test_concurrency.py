"""Several processes saving and loading blocks in one SQLite store at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

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
