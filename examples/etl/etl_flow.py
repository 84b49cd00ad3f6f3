"""The ETL + dbt pipeline. Every system it touches is a block loaded by name:

    raw        storage block with the raw files   (LocalFileSystem, S3Bucket, GcsBucket, ...)
    warehouse  SqlAlchemyConnector                 (DuckDB file, PostgreSQL, ...)
    analytics  DbtCliProfile for the dbt project   (dbt-duckdb, dbt-postgres, ...)
    reports    storage block for the report        (LocalFileSystem, S3Bucket, GcsBucket, ...)

Steps: check the blocks -> list and extract the raw files (retried, cached by content) ->
validate and transform (every bad row is counted with its reason) -> load the warehouse
(one transaction; each source file is a batch that replaces its earlier rows, so re-runs
never duplicate) -> ``dbt build`` -> build the report -> publish it to ``reports``.

Run it with ``python examples/etl/run.py`` (creates the default blocks) or, once the blocks
exist, ``headwater run examples/etl/etl_flow.py:etl``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # so `headwater run` finds the sibling modules

from etl_report import render_report  # noqa: E402
from etl_validate import Batch, parse_records, validate_customers, validate_orders, validate_products  # noqa: E402
from etl_warehouse import TABLES, load_batches, query_marts  # noqa: E402
from headwater import Block, flow, get_run_logger, task  # noqa: E402
from headwater.errors import BlockNotFoundError, ConfigError, ConnectionFailedError, HeadwaterError  # noqa: E402
from headwater.runtime import unmapped  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent / "dbt_project"
CUSTOMERS, PRODUCTS, ORDERS = "customers.jsonl", "products.json", "orders/"
# A change to the parser must not be answered from results cached by the old one.
_PARSER_VERSION = hashlib.sha256(inspect.getsource(parse_records).encode()).hexdigest()[:12]


class EtlSetupError(ConfigError):
    """A block the pipeline needs is missing or of the wrong kind."""


def _load(name: str, role: str, needs: tuple[str, ...]) -> Any:
    try:
        block = Block.load(name)
    except BlockNotFoundError:
        raise EtlSetupError(
            f"the {role} block {name!r} does not exist: run `python examples/etl/run.py` to create the demo blocks, "
            f"or `python examples/etl/point_blocks.py` to point them at your systems"
        ) from None
    missing = [m for m in needs if not hasattr(block, m)]
    if missing:
        raise EtlSetupError(
            f"block {name!r} is a {block.get_block_type_slug()} block, which cannot serve as the {role} "
            f"(it has no {', '.join(missing)}); point {name!r} at a suitable block"
        )
    return block


def load_blocks(raw: str, warehouse: str, dbt_profile: str, reports: str) -> tuple[Any, Any, Any, Any]:
    """Load the four blocks by name, failing with one clear line if one is missing or unsuitable."""
    return (
        _load(raw, "raw-data storage", ("read_path", "list_objects")),
        _load(warehouse, "warehouse", ("get_connection", "check")),
        _load(dbt_profile, "dbt profile", ("get_profile",)),
        _load(reports, "report storage", ("write_path",)),
    )


def _connection_trouble(task: Any, task_run: Any, state: Any) -> bool:
    """Retry the warehouse tasks only when the database could not be reached: a rejected
    statement fails the same way every time."""
    return isinstance(state.exception, ConnectionFailedError)


def _fingerprint_key(context: Any, parameters: dict[str, Any]) -> str:
    """Cache key of an extract: the parser, which storage, which object, and that object's size and version."""
    raw, obj = parameters["raw"], parameters["obj"]
    ident = [_PARSER_VERSION, raw.get_block_type_slug(), raw.block_document_name or "", obj["key"], obj.get("size"),
             obj.get("version")]
    return "extract-" + hashlib.sha256(json.dumps(ident, default=str).encode()).hexdigest()[:32]


@task(retries=3, retry_delay_seconds=[1, 2, 4])
def list_raw_files(raw: Any) -> list[dict[str, Any]]:
    """The raw files to process: customers, products and the monthly order files."""
    wanted = []
    for obj in raw.list_objects(""):
        rel = obj["key"]  # relative to the block's basepath / bucket_folder, as read_path takes it
        if rel in (CUSTOMERS, PRODUCTS) or (rel.startswith(ORDERS) and rel.endswith(".csv")):
            version = obj.get("etag") or obj.get("md5_hash") or obj.get("crc32c") or str(obj.get("last_modified"))
            wanted.append({"key": rel, "size": obj.get("size"), "version": version})
    keys = {o["key"] for o in wanted}
    if CUSTOMERS not in keys or PRODUCTS not in keys or not any(k.startswith(ORDERS) for k in keys):
        raise EtlSetupError(
            f"the raw block {raw.block_document_name!r} holds no {CUSTOMERS}, {PRODUCTS} and {ORDERS}*.csv: "
            "run `python examples/etl/run.py` to generate the demo data, or upload it there"
        )
    return sorted(wanted, key=lambda o: o["key"])


@task(
    retries=3, retry_delay_seconds=[1, 2, 4], cache_key_fn=_fingerprint_key, persist_result=True,
    task_run_name="extract {obj[key]}",
)
def extract(raw: Any, obj: dict[str, Any]) -> list[tuple[int, Any]]:
    """Read one raw file and split it into records (cached by the object's identity and size)."""
    return parse_records(obj["key"], raw.read_path(obj["key"]))


@task
def validate(extracted: dict[str, list[tuple[int, Any]]]) -> dict[str, list[Batch]]:
    """Validate and transform every record; rejected records keep their line and reason."""
    customers = validate_customers(CUSTOMERS, extracted[CUSTOMERS])
    products = validate_products(PRODUCTS, extracted[PRODUCTS])
    known_customers = {r["customer_id"] for r in customers.rows}
    known_products = {r["product_id"] for r in products.rows}
    seen: set[int] = set()
    orders = [
        validate_orders(key, records, known_customers, known_products, seen)
        for key, records in sorted(extracted.items())
        if key.startswith(ORDERS)
    ]
    logger = get_run_logger()
    for kind, batches in (("customers", [customers]), ("products", [products]), ("orders", orders)):
        reasons = Counter(r.reason for b in batches for r in b.rejects)
        good = sum(len(b.rows) for b in batches)
        logger.info("%s: %d valid, %d rejected %s", kind, good, sum(reasons.values()), dict(sorted(reasons.items())))
    return {"raw_customers": [customers], "raw_products": [products], "raw_orders": orders}


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=_connection_trouble)
def check_warehouse(warehouse: Any) -> None:
    """Fail early, before anything is written, when the warehouse cannot be reached."""
    warehouse.check()


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=_connection_trouble)
def load(warehouse: Any, batches: dict[str, list[Batch]], full_refresh: bool = False) -> dict[str, Any]:
    """Load every batch in one transaction; a batch replaces that source file's earlier rows."""
    stats = load_batches(warehouse, batches, full_refresh=full_refresh)
    get_run_logger().info(
        "loaded %d rows in %d batches; %d unchanged batches skipped",
        stats["rows_loaded"], stats["batches_loaded"], stats["batches_skipped"],
    )
    return stats


@task
def transform_in_warehouse(profile: Any, target_path: str | None = None) -> dict[str, Any]:
    """``dbt build``: staging views, marts and their tests."""
    from headwater_dbt import DbtCoreOperation

    command = "dbt build"
    if target_path:
        command += f" --target-path {target_path} --log-path {Path(target_path) / 'logs'}"
    result = DbtCoreOperation(commands=[command], project_dir=PROJECT_DIR, dbt_cli_profile=profile).run()
    nodes = [n for inv in result.invocations for n in inv.nodes]
    statuses = Counter(n.status for n in nodes)
    return {
        "models": sum(1 for n in nodes if n.unique_id.startswith("model.")),
        "tests": sum(1 for n in nodes if n.unique_id.startswith("test.")),
        "statuses": dict(sorted(statuses.items())),
    }


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=_connection_trouble)
def build_report(warehouse: Any, batches: dict[str, list[Batch]], load_stats: dict[str, Any],
                 dbt: dict[str, Any]) -> dict[str, bytes]:
    """Query the marts and render the report, the summary and the rejected rows."""
    marts = query_marts(warehouse)
    return render_report(batches, load_stats, dbt, marts)


@task(retries=3, retry_delay_seconds=[1, 2, 4])
def publish(reports: Any, files: dict[str, bytes]) -> list[str]:
    """Write the report files; the summary goes last, so it only exists once the rest does."""
    order = sorted(files, key=lambda name: name == "summary.json")
    return [reports.write_path(name, files[name]) for name in order]


@flow(name="etl")
def etl(
    raw_block: str = "raw",
    warehouse_block: str = "warehouse",
    dbt_profile_block: str = "analytics",
    reports_block: str = "reports",
    full_refresh: bool = False,
    dbt_target_path: str | None = None,
) -> dict[str, Any]:
    """Extract the raw files, validate, load the warehouse, run dbt, publish the report.

    Args:
        raw_block: Storage block holding the raw files.
        warehouse_block: SqlAlchemyConnector block of the warehouse.
        dbt_profile_block: DbtCliProfile block pointing dbt at the same warehouse.
        reports_block: Storage block the report is published to.
        full_refresh: Reload every batch even when it is unchanged.
        dbt_target_path: Where dbt writes its artifacts and logs (default: the project's target/ and logs/).

    Returns:
        The summary that is also published as ``summary.json``.
    """
    raw, warehouse, profile, reports = load_blocks(raw_block, warehouse_block, dbt_profile_block, reports_block)

    files = list_raw_files(raw)
    futures = extract.map(unmapped(raw), files)
    extracted = {obj["key"]: fut.result() for obj, fut in zip(files, futures, strict=True)}
    batches = validate(extracted)
    check_warehouse(warehouse)
    load_stats = load(warehouse, batches, full_refresh)
    warehouse.close()  # release the database (a DuckDB file allows one writer) before dbt opens it
    dbt = transform_in_warehouse(profile, dbt_target_path)
    files_out = build_report(warehouse, batches, load_stats, dbt)
    warehouse.close()
    publish(reports, files_out)
    return json.loads(files_out["summary.json"])


__all__ = ["TABLES", "EtlSetupError", "HeadwaterError", "etl", "load_blocks"]
