"""Each part of Headwater registers its own store migrations; the store applies what it lacks."""

from __future__ import annotations

import sqlite3

from conftest import run_python


def _versions(home) -> list[int]:
    con = sqlite3.connect(home / "headwater.db")
    try:
        return [r[0] for r in con.execute("SELECT version FROM headwater_schema_migrations ORDER BY version")]
    finally:
        con.close()


def test_schema_version_is_the_newest_registered_migration():
    import headwater.events  # noqa: F401  (registers the event log's migrations)
    import headwater.history  # noqa: F401  (registers run history's migrations)
    from headwater.store import migrations

    versions = [m.version for m in migrations.all_migrations()]
    assert versions == sorted(set(versions)) and versions[0] == 1
    assert migrations.SCHEMA_VERSION == versions[-1], "bump SCHEMA_VERSION in store/migrations.py with a new migration"


def test_history_imported_after_the_store_opened_gets_its_tables(headwater_home):
    out = run_python(
        "import sys\nfrom headwater import Secret\nSecret(value='abcd-1234').save('x')\n"
        "print('headwater.history' in sys.modules)\n"
        "from headwater.history import reader\nprint(reader.list_flow_runs())\n"
    )
    assert out.stdout.split("\n")[:2] == ["False", "[]"]
    assert _versions(headwater_home) == [1, 2, 12, 13, 14]


def test_a_process_that_uses_only_blocks_opens_a_store_that_has_history(headwater_home):
    run_python("from headwater.history import reader\nreader.list_flow_runs()\n")
    assert _versions(headwater_home) == [1, 2, 12, 13, 14]
    out = run_python(
        "from headwater import Secret\nSecret(value='abcd-1234').save('x')\nprint(Secret.load('x').get())\n"
    )
    assert out.stdout.strip() == "abcd-1234"
