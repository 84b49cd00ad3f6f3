"""The shared team store on a real PostgreSQL (fixture from headwater.testing)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from blockdefs import Warehouse, WarehouseCredentials
from conftest import run_cli, run_python
from headwater.settings import reset_settings

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(postgres_database, monkeypatch):
    monkeypatch.setenv("HEADWATER_DATABASE_URL", postgres_database)
    reset_settings()
    yield postgres_database
    reset_settings()


def test_block_saved_on_one_machine_loads_on_another_with_the_same_key(pg_store, tmp_path):
    Warehouse(host="pg", credentials=WarehouseCredentials(username="a", password="team-shared-secret-1")).save("team")
    other_machine = {"HEADWATER_HOME": str(tmp_path / "laptop-2")}
    out = run_python("from blockdefs import "
                     "Warehouse\nprint(Warehouse.load('team').credentials.password.get_secret_value())",
                     env=other_machine)
    assert out.stdout.strip() == "team-shared-secret-1"
    wrong = run_python("from blockdefs import Warehouse\nWarehouse.load('team')",
                       env={**other_machine, "HEADWATER_SECRET_KEY": "not-the-team-key-at-all-0123"}, check=False)
    assert wrong.returncode != 0 and "HEADWATER_SECRET_KEY" in wrong.stderr.strip().splitlines()[-1]


def test_secret_never_stored_in_plaintext_in_postgres(pg_store):
    import sqlalchemy as sa

    Warehouse(host="pg", credentials=WarehouseCredentials(username="a", password="pg-planted-secret-9")).save("p")
    engine = sa.create_engine(pg_store)
    with engine.connect() as conn:
        dump = " ".join(
            str(r) for t in ("block_documents", "block_secrets") for r in conn.execute(sa.text(f"SELECT * FROM {t}"))
        )
    engine.dispose()
    assert "pg" in dump and "pg-planted-secret-9" not in dump


def test_schema_migrations_recorded_and_cli_lists(pg_store):
    import sqlalchemy as sa

    Warehouse(host="pg", credentials=WarehouseCredentials(username="a", password="x-123456")).save("p")
    engine = sa.create_engine(pg_store)
    with engine.connect() as conn:
        versions = [
            r[0] for r in conn.execute(sa.text("SELECT version FROM headwater_schema_migrations ORDER BY version"))
        ]
    engine.dispose()
    assert versions[0] == 1 and versions == sorted(versions)
    listed = run_cli("block", "ls", "-o", "json")
    assert listed.returncode == 0 and "warehouse/p" in listed.stdout


def test_four_processes_writing_concurrently(pg_store):
    worker = (
        "import sys\nfrom blockdefs import Warehouse, WarehouseCredentials\n"
        "w = int(sys.argv[1])\n"
        "for i in range(40):\n"
        "    Warehouse(host='h', port=i, credentials=WarehouseCredentials(username='u', "
        "password=f'p-{w}-{i}-xx')).save(f'c{w}-{i}')\n"
        "    assert Warehouse.load(f'c{w}-{i}').port == i\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", worker, str(w)], stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ))
             for w in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    from headwater.store.documents import list_documents

    assert len(list_documents("warehouse")) == 160


def test_block_referred_to_is_not_deleted_without_force_on_postgres(pg_store):
    from headwater.blocks import BlockInUseError

    creds = WarehouseCredentials(username="u", password="pg-ref-pw-1")
    creds.save("c_1")
    Warehouse(host="h", credentials=creds).save("w")
    with pytest.raises(BlockInUseError, match="warehouse/w"):
        WarehouseCredentials.delete("c_1")
    WarehouseCredentials.delete("c_1", force=True)
