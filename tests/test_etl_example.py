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
from pathlib import Path

import pytest

ORDERS, CUSTOMERS = 2_400, 400


def _setup(home: Path) -> dict:
    import run

    run.ensure_blocks(home)
    run.ensure_data(home, n_orders=ORDERS, n_customers=CUSTOMERS)
    return json.loads((home / "raw" / "_manifest.json").read_text())


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


@pytest.fixture
def demo(headwater_home):
    """Blocks and data created as `make demo` creates them, and one completed run."""
    manifest = _setup(headwater_home)
    summary = _run(headwater_home)
    return headwater_home, manifest, summary


def test_run_loads_valid_rows_reports_every_bad_row_and_builds_the_marts(demo):
    home, manifest, summary = demo
    bad = manifest["bad"]

    assert summary["inputs"]["orders"]["reasons"] == bad["orders"]
    assert summary["inputs"]["customers"]["reasons"] == bad["customers"]
    assert summary["inputs"]["products"]["reasons"] == bad["products"]
    valid_orders = manifest["rows"]["orders"] - sum(bad["orders"].values())
    assert _warehouse_rows(home, "select count(*), count(distinct order_id) from raw_orders") == [(valid_orders, valid_orders)]
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


def test_second_run_uses_the_cache_and_full_refresh_does_not_duplicate(demo):
    home, manifest, first = demo
    report_before = (home / "reports" / "report.md").read_bytes()
    count_before = _warehouse_rows(home, "select count(*) from raw_orders")[0][0]

    again = _run(home)
    assert again["batches_skipped"] == first["batches_loaded"] and again["batches_loaded"] == 0

    from headwater.history.reader import list_flow_runs, list_task_runs
    from headwater.history.writer import flush

    flush()
    latest = list_flow_runs(limit=1, flow_name="etl")[0]
    extract_states = {t["state"] for t in list_task_runs(latest["id"]) if t["name"].startswith("extract")}
    assert extract_states == {"Cached"}

    refreshed = _run(home, full_refresh=True)
    assert refreshed["batches_loaded"] == first["batches_loaded"]
    assert _warehouse_rows(home, "select count(*), count(distinct order_id) from raw_orders") == [(count_before, count_before)]
    assert _warehouse_rows(home, "select count(*) from etl_batches")[0][0] == first["batches_loaded"]
    assert (home / "reports" / "report.md").read_bytes() == report_before


def test_changed_raw_file_replaces_only_its_batch(demo):
    home, manifest, first = demo
    path = home / "raw" / "orders" / "orders-2024-03.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-100]))  # the file shrinks by 100 rows
    march_before = _warehouse_rows(home, "select count(*) from raw_orders where _batch_id = 'orders/orders-2024-03.csv'")[0][0]
    total_before = _warehouse_rows(home, "select count(*) from raw_orders")[0][0]

    summary = _run(home)

    assert summary["batches_loaded"] == 1
    march_after = _warehouse_rows(home, "select count(*) from raw_orders where _batch_id = 'orders/orders-2024-03.csv'")[0][0]
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


def test_unreachable_warehouse_is_one_line_and_leaves_results_intact(demo, capsys):
    import run
    from headwater_sql import SqlAlchemyConnector

    from headwater.testing import free_port

    home, _, _ = demo
    reports = sorted(p.name for p in (home / "reports").iterdir())
    report_before = (home / "reports" / "report.md").read_bytes()
    rows_before = _warehouse_rows(home, "select count(*) from raw_orders")
    SqlAlchemyConnector(connection_info=f"postgresql+psycopg://etl@127.0.0.1:{free_port()}/warehouse").save("warehouse", overwrite=True)

    assert run.main(["--no-setup"]) == 1

    err = _one_line_error(capsys)
    assert "127.0.0.1" in err and ("reach" in err or "connect" in err), err
    assert sorted(p.name for p in (home / "reports").iterdir()) == reports
    assert (home / "reports" / "report.md").read_bytes() == report_before
    assert _warehouse_rows(home, "select count(*) from raw_orders") == rows_before


def test_run_script_creates_blocks_and_prints_the_task_table(headwater_home, capsys):
    import run

    assert run.main(["--orders", str(ORDERS), "--customers", str(CUSTOMERS)]) == 0

    out = capsys.readouterr().out
    assert "created blocks: raw, warehouse, analytics, reports" in out
    for name in ("list_raw_files", "extract", "validate", "load", "transform_in_warehouse", "publish"):
        assert name in out
    assert "Completed" in out
    assert f"report: {headwater_home / 'reports' / 'report.md'}" in out
    assert (headwater_home / "reports" / "report.md").exists()
