"""The ETL + dbt example on its embedded defaults (local folders, DuckDB, dbt-duckdb).

Checks what a user would: the rows in the warehouse, the marts dbt built, the report files,
and that bad input (a re-run, a missing block, an unreachable warehouse) is one clear line
that leaves the earlier results as they were.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path

import pytest

ORDERS, CUSTOMERS = 2_400, 400


def _use_home(mp: pytest.MonkeyPatch, home: Path) -> None:
    from headwater.settings import reset_settings
    from headwater.testing import TEST_SECRET_KEY

    mp.setenv("HEADWATER_HOME", str(home))
    mp.delenv("HEADWATER_DATABASE_URL", raising=False)
    mp.setenv("HEADWATER_SECRETS_BACKEND", "encrypted")
    mp.setenv("HEADWATER_SECRET_KEY", TEST_SECRET_KEY)
    reset_settings()


def _run(home: Path, **params):
    from etl_flow import etl

    return etl(dbt_target_path=str(home / "dbt-target"), **params)


def _warehouse_rows(home: Path, sql: str) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    """One home set up and run exactly as `make demo` does (run.py), shared by this module's
    tests so that dbt parses the project once; each test restores what it changes."""
    import run
    from headwater.settings import reset_settings

    home = tmp_path_factory.mktemp("etl-demo")
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        _use_home(mp, home)
        with redirect_stdout(out):
            status = run.main(["--orders", str(ORDERS), "--customers", str(CUSTOMERS)])
    reset_settings()
    assert status == 0, out.getvalue()
    manifest = json.loads((home / "raw" / "_manifest.json").read_text())
    summary = json.loads((home / "reports" / "summary.json").read_text())
    return home, manifest, summary, out.getvalue()


@pytest.fixture
def demo(demo_home, monkeypatch):
    import run
    from point_blocks import point

    home, manifest, summary, _ = demo_home
    _use_home(monkeypatch, home)
    yield home, manifest, summary
    point(raw="local", reports="local", warehouse="duckdb")  # the defaults, whatever a test re-pointed
    (home / "raw" / "_manifest.json").unlink()  # regenerate: a test may have edited a raw file
    run.ensure_data(home, ORDERS, CUSTOMERS)


def test_run_script_creates_blocks_and_prints_the_task_table(demo_home):
    home, _, _, out = demo_home
    assert "created blocks: raw, warehouse, analytics, reports" in out
    table = out[out.index("task "):]
    for name in ("list_raw_files", "extract orders/orders-2024-01.csv", "validate", "check_warehouse", "load",
                 "transform_in_warehouse", "build_report", "publish"):
        assert f"\n{name} " in table, name
    assert "Completed" in table and "Failed" not in table
    assert f"report: {home / 'reports' / 'report.md'}" in out


def test_a_second_run_in_a_new_process_succeeds_from_saved_state(demo_home):
    """`make demo` twice: the second process reuses the cached extract and dbt's saved
    manifest (a new process, as a user's second run is) and must still build everything."""
    import os
    import subprocess
    import sys

    from headwater.testing import TEST_SECRET_KEY

    home, _, _, _ = demo_home
    run_py = Path(__file__).resolve().parents[1] / "examples" / "etl" / "run.py"
    env = {**os.environ, "HEADWATER_HOME": str(home), "HEADWATER_SECRETS_BACKEND": "encrypted",
           "HEADWATER_SECRET_KEY": TEST_SECRET_KEY}
    env.pop("HEADWATER_DATABASE_URL", None)
    # the first may parse (the module's runs were in this process); the second loads the saved manifest
    for _ in range(2):
        proc = subprocess.run([sys.executable, str(run_py), "--orders", str(ORDERS), "--customers", str(CUSTOMERS)],
                              env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        table = proc.stdout[proc.stdout.index("task "):]
        assert "Failed" not in table and "\ntransform_in_warehouse " in table
    assert _warehouse_rows(home, "select count(*) > 0 from country_revenue") == [(True,)]


def test_run_loads_valid_rows_reports_every_bad_row_and_builds_the_marts(demo):
    home, manifest, _ = demo
    summary = _run(home)
    bad = manifest["bad"]

    assert summary["inputs"]["orders"]["reasons"] == bad["orders"]
    assert summary["inputs"]["customers"]["reasons"] == bad["customers"]
    assert summary["inputs"]["products"]["reasons"] == bad["products"]
    valid_orders = manifest["rows"]["orders"] - sum(bad["orders"].values())
    assert _warehouse_rows(home, "select count(*), count(distinct order_id) from raw_orders") == [(valid_orders,
                                                                                                   valid_orders)]
    assert _warehouse_rows(home, "select count(*) from raw_rejects")[0][0] == sum(sum(v.values()) for v in bad.values())

    # dbt built the marts from exactly those rows
    fct = _warehouse_rows(home, "select count(*) from fct_orders")[0][0]
    assert fct == valid_orders
    revenue = _warehouse_rows(home, "select sum(amount) from raw_orders where status in ('completed', 'shipped')")[0][0]
    assert _warehouse_rows(home, "select sum(revenue) from monthly_revenue")[0][0] == revenue
    assert summary["dbt"]["statuses"].get("error", 0) == 0 and summary["dbt"]["statuses"].get("fail", 0) == 0
    assert summary["dbt"]["models"] == 7

    reports = home / "reports"
    report = (reports / "report.md").read_text()
    assert f"| orders | 12 | {valid_orders:,} | {sum(bad['orders'].values()):,} |" in report
    rejects = list(csv.DictReader(io.StringIO((reports / "rejects.csv").read_text())))
    assert Counter(r["reason"] for r in rejects if r["file"].startswith("orders/")) == Counter(bad["orders"])
    assert json.loads((reports / "summary.json").read_text())["rows_rejected"] == summary["rows_rejected"]


def test_full_refresh_does_not_duplicate_and_a_rerun_skips_unchanged_batches_from_cache(demo):
    from headwater.history.reader import list_flow_runs, list_task_runs
    from headwater.history.writer import flush

    home, manifest, _ = demo
    valid_orders = manifest["rows"]["orders"] - sum(manifest["bad"]["orders"].values())

    refreshed = _run(home, full_refresh=True)  # every batch again, over the rows already there
    assert refreshed["batches_loaded"] == 14
    assert _warehouse_rows(home, "select count(*), count(distinct order_id) from raw_orders") == [(valid_orders,
                                                                                                   valid_orders)]
    assert _warehouse_rows(home, "select count(*) from etl_batches") == [(14,)]
    report = (home / "reports" / "report.md").read_bytes()

    again = _run(home)
    assert (again["batches_loaded"], again["batches_skipped"]) == (0, 14)
    assert _warehouse_rows(home, "select count(*) from raw_orders") == [(valid_orders,)]
    assert (home / "reports" / "report.md").read_bytes() == report
    flush()
    latest = list_flow_runs(limit=1, flow_name="etl")[0]
    extract_states = {t["state"] for t in list_task_runs(latest["id"]) if t["name"].startswith("extract")}
    assert extract_states == {"Cached"}


def test_changed_raw_file_replaces_only_its_batch(demo):
    home, manifest, _ = demo
    path = home / "raw" / "orders" / "orders-2024-03.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-100]))  # the file shrinks by 100 rows
    march = "select count(*) from raw_orders where _batch_id = 'orders/orders-2024-03.csv'"
    march_before = _warehouse_rows(home, march)[0][0]
    total_before = _warehouse_rows(home, "select count(*) from raw_orders")[0][0]

    summary = _run(home)

    assert summary["batches_loaded"] == 1
    march_after = _warehouse_rows(home, march)[0][0]
    removed = march_before - march_after
    assert 90 <= removed <= 100  # the cut rows, minus the bad ones among them
    assert _warehouse_rows(home, "select count(*) from raw_orders")[0][0] == total_before - removed


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def test_missing_block_is_one_line_and_leaves_results_intact(demo, capsys):
    import run
    from headwater import Block

    home, _, _ = demo
    report_before = (home / "reports" / "report.md").read_bytes()
    Block.delete("analytics")

    assert run.main(["--no-setup"]) == 1

    err = _one_line_error(capsys)
    assert "'analytics'" in err and "does not exist" in err and "run.py" in err
    assert (home / "reports" / "report.md").read_bytes() == report_before


def test_flow_with_a_missing_block_fails_before_touching_anything(demo):
    from etl_flow import EtlSetupError
    from headwater import Block

    home, _, _ = demo
    rows_before = _warehouse_rows(home, "select count(*) from raw_orders")
    mtime = (home / "reports" / "report.md").stat().st_mtime_ns
    Block.delete("raw")

    with pytest.raises(EtlSetupError, match="raw-data storage block 'raw' does not exist"):
        _run(home)
    assert (home / "reports" / "report.md").stat().st_mtime_ns == mtime
    assert _warehouse_rows(home, "select count(*) from raw_orders") == rows_before


def _point_warehouse_at_nothing() -> None:
    from headwater.testing import free_port
    from headwater_sql import SqlAlchemyConnector

    SqlAlchemyConnector(connection_info=f"postgresql+psycopg://etl@127.0.0.1:{free_port()}/warehouse").save(
        "warehouse", overwrite=True
    )


def test_unreachable_warehouse_is_one_line_and_leaves_results_intact(demo, capsys):
    import run

    home, _, _ = demo
    reports = sorted(p.name for p in (home / "reports").iterdir())
    report_before = (home / "reports" / "report.md").read_bytes()
    rows_before = _warehouse_rows(home, "select count(*) from raw_orders")
    _point_warehouse_at_nothing()

    assert run.main(["--no-setup"]) == 1

    err = _one_line_error(capsys)
    assert "127.0.0.1" in err and "warehouse" in err, err
    assert sorted(p.name for p in (home / "reports").iterdir()) == reports
    assert (home / "reports" / "report.md").read_bytes() == report_before
    assert _warehouse_rows(home, "select count(*) from raw_orders") == rows_before


def test_flow_with_an_unreachable_warehouse_fails_before_loading_and_publishes_nothing(demo):
    from etl_flow import etl
    from headwater.errors import ConnectionFailedError
    from headwater.history.reader import list_flow_runs, list_task_runs
    from headwater.history.writer import flush

    home, _, _ = demo
    mtime = (home / "reports" / "report.md").stat().st_mtime_ns
    _point_warehouse_at_nothing()

    with pytest.raises(ConnectionFailedError, match="127.0.0.1"):
        etl()

    flush()
    run = list_flow_runs(limit=1, flow_name="etl")[0]
    assert run["state"] == "Failed"
    tasks = {t["name"]: t for t in list_task_runs(run["id"])}
    assert tasks["check_warehouse"]["state"] == "Failed" and tasks["check_warehouse"]["run_count"] == 3  # retried twice
    assert "load" not in tasks and "publish" not in tasks
    assert (home / "reports" / "report.md").stat().st_mtime_ns == mtime


def test_point_blocks_moves_warehouse_and_profile_together_and_keeps_the_password_secret(headwater_home, monkeypatch,
                                                                                         capsys):
    from headwater import Block
    from point_blocks import main

    assert main(["--raw", "local", "--reports", "local", "--warehouse", "duckdb"]) == 0
    assert "warehouse -> sqlalchemy-connector/warehouse" in capsys.readouterr().out
    assert Block.load("analytics").get_profile()["analytics"]["outputs"]["demo"]["path"] == str(
        headwater_home / "warehouse.duckdb"
    )

    monkeypatch.setenv("PGPASSWORD", "planted-pg-password-81f3")
    assert main(["--warehouse", "postgres", "--postgres-url", "postgresql+psycopg://etl@127.0.0.1:5999/dw"]) == 0

    target = Block.load("analytics").get_profile()["analytics"]["outputs"]["postgres"]
    assert (target["host"], target["port"], target["user"], target["dbname"]) == ("127.0.0.1", 5999, "etl", "dw")
    assert target["password"] == "planted-pg-password-81f3"
    assert "planted-pg-password-81f3" not in repr(Block.load("warehouse"))
    stored = b"".join(p.read_bytes() for p in headwater_home.glob("headwater.db*") if p.is_file())
    assert b"planted-pg-password-81f3" not in stored
    with pytest.raises(SystemExit, match="--s3-bucket is required"):
        main(["--raw", "s3"])
