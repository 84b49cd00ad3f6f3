"""Set up and run the ETL + dbt demo on embedded defaults (what `make demo` runs).

    python examples/etl/run.py                 # create missing blocks + data, run, print the task table
    python examples/etl/run.py --full-refresh  # reload every batch even if unchanged
    python examples/etl/run.py --no-setup      # run with the blocks as they are (fail if one is missing)

State lives in HEADWATER_HOME (`.headwater-demo/` in the checkout when unset). Blocks that
already exist are left alone, so after `point_blocks.py` the same command runs on S3, GCS
and PostgreSQL. Exit status: 0 when the flow completed, 1 with a one-line error otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

BLOCK_NAMES = ("raw", "warehouse", "analytics", "reports")


def home() -> Path:
    from headwater.settings import get_settings

    return get_settings().home.resolve()


def _exists(name: str) -> bool:
    from headwater import Block
    from headwater.errors import BlockNotFoundError

    try:
        Block.load(name)
    except BlockNotFoundError:
        return False
    return True


def default_blocks(base: Path) -> dict[str, Any]:
    """The embedded defaults: folders under ``base``, a DuckDB warehouse file, dbt-duckdb."""
    from headwater import LocalFileSystem
    from headwater_dbt import DbtCliProfile, DuckDBTargetConfigs
    from headwater_sql import SqlAlchemyConnector

    warehouse_file = base / "warehouse.duckdb"
    return {
        "raw": lambda: LocalFileSystem(basepath=str(base / "raw")),
        "reports": lambda: LocalFileSystem(basepath=str(base / "reports")),
        "warehouse": lambda: SqlAlchemyConnector(connection_info=f"duckdb:///{warehouse_file}"),
        "analytics": lambda: DbtCliProfile(
            name="analytics", target="demo", target_configs=DuckDBTargetConfigs(path=str(warehouse_file), schema="main")
        ),
    }


def ensure_blocks(base: Path) -> list[str]:
    """Save the default block for every name that does not exist yet; returns the names created."""
    created = []
    makers = None
    for name in BLOCK_NAMES:
        if _exists(name):
            continue
        makers = makers or default_blocks(base)
        block = makers[name]()
        if hasattr(block, "basepath"):
            Path(block.basepath).mkdir(parents=True, exist_ok=True)
        block.save(name)
        created.append(name)
    return created


def ensure_data(base: Path, n_orders: int = 24_000, n_customers: int = 3_000) -> str:
    """Make sure the ``raw`` block holds the generated files; returns what was done."""
    from generate_data import generate
    from headwater import Block

    raw = Block.load("raw")
    basepath = getattr(raw, "basepath", None)
    if basepath is not None:
        generate(basepath, n_orders=n_orders, n_customers=n_customers)
        return f"raw data in {basepath}"
    keys = {(o.get("key") or o.get("name") or "").rsplit("/", 1)[-1] for o in raw.list_objects("")}
    if "customers.jsonl" in keys:
        return "raw data already in the raw block"
    staging = base / "generated"
    generate(staging, n_orders=n_orders, n_customers=n_customers)
    raw.upload_from_folder(staging)
    return f"uploaded generated raw data to the raw block ({raw.get_block_type_slug()})"


def task_table(flow_run_id: str) -> str:
    """The flow run's task runs as a text table: name, state, duration."""
    from headwater.history.reader import list_task_runs
    from headwater.history.writer import flush

    flush()
    runs = list_task_runs(flow_run_id)
    width = max([len(r["name"]) for r in runs] + [4])
    lines = [f"{'task':<{width}}  {'state':<10}  {'duration':>9}", f"{'-' * width}  {'-' * 10}  {'-' * 9}"]
    for r in runs:
        duration = "" if r["duration"] is None else f"{r['duration']:.3f}s"
        lines.append(f"{r['name']:<{width}}  {r['state']:<10}  {duration:>9}")
    return "\n".join(lines)


def _last_flow_run_id(since: float) -> str | None:
    from headwater.history.reader import list_flow_runs
    from headwater.history.writer import flush

    flush()
    runs = list_flow_runs(limit=1, flow_name="etl")
    if runs and (runs[0]["started"] or since) >= since - 1:
        return runs[0]["id"]
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Set up and run the Headwater ETL + dbt demo.")
    parser.add_argument("--full-refresh", action="store_true", help="reload every batch, even unchanged ones")
    parser.add_argument("--no-setup", action="store_true", help="do not create missing blocks or data")
    parser.add_argument("--orders", type=int, default=24_000, help="orders to generate (default 24000)")
    parser.add_argument("--customers", type=int, default=3_000, help="customers to generate (default 3000)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HEADWATER_HOME", str(ROOT / ".headwater-demo"))
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    started = time.perf_counter()

    from headwater.errors import HeadwaterError

    flow_started: float | None = None
    try:
        base = home()
        if not args.no_setup:
            created = ensure_blocks(base)
            if created:
                print(f"created blocks: {', '.join(created)} (in {base})")
            print(ensure_data(base, args.orders, args.customers))
        from etl_flow import etl, load_blocks

        # Check the configuration before the flow starts, so that a missing block or an
        # unreachable warehouse is one line here rather than a failed run's log.
        warehouse = load_blocks(*BLOCK_NAMES)[1]
        warehouse.check()
        warehouse.close()
        flow_started = time.time()
        summary = etl(full_refresh=args.full_refresh, dbt_target_path=str(base / "dbt-target"))
    except HeadwaterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        run_id = _last_flow_run_id_safe(flow_started)
        if run_id:
            print()
            print(task_table(run_id))
    print()
    print(
        f"{summary['rows_valid']:,} valid rows, {summary['rows_rejected']:,} rejected (listed in rejects.csv); "
        f"{summary['batches_loaded']} batches loaded, {summary['batches_skipped']} unchanged; "
        f"dbt {summary['dbt']['statuses']}"
    )
    print(f"report: {_where_report()}")
    print(f"run history: HEADWATER_HOME={base} headwater runs show {run_id}")
    print(f"finished in {time.perf_counter() - started:.1f}s")
    return 0


def _last_flow_run_id_safe(since: float | None) -> str | None:
    if since is None:
        return None
    try:
        return _last_flow_run_id(since)
    except Exception:  # history is a nicety here; the run's own outcome was already reported
        return None


def _where_report() -> str:
    from headwater import Block

    reports = Block.load("reports")
    basepath = getattr(reports, "basepath", None)
    if basepath is not None:
        return str(Path(basepath) / "report.md")
    bucket = getattr(reports, "bucket_name", None) or getattr(reports, "bucket", None)
    return f"report.md in {reports.get_block_type_slug()} {bucket!r} (block 'reports')"


if __name__ == "__main__":
    raise SystemExit(main())
