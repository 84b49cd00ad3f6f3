"""Warehouse side of the pipeline: the landing tables, the idempotent load, the mart queries.

Written with SQLAlchemy Core on the engine of the ``warehouse`` connector block, in SQL that
DuckDB, PostgreSQL and SQLite all accept, so the same code loads any of them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from etl_validate import Batch
from headwater.errors import ConnectionFailedError, HeadwaterError

__all__ = ["TABLES", "WarehouseError", "load_batches", "query_marts"]

# table -> (column, type, size) ; every landing table carries the batch (source file) it came from
TABLES: dict[str, list[tuple[str, str, int | None]]] = {
    "raw_customers": [("customer_id", "bigint", None), ("customer_name", "str", 200), ("email", "str", 320),
                      ("country", "str", 2), ("signup_date", "date", None), ("_batch_id", "str", 200)],
    "raw_products": [("product_id", "str", 20), ("product_name", "str", 200), ("category", "str", 50),
                     ("list_price", "money", None), ("_batch_id", "str", 200)],
    "raw_orders": [("order_id", "bigint", None), ("customer_id", "bigint", None), ("product_id", "str", 20),
                   ("order_date", "date", None), ("quantity", "int", None), ("unit_price", "money", None),
                   ("amount", "money", None), ("status", "str", 20), ("_batch_id", "str", 200)],
    "raw_rejects": [("_batch_id", "str", 200), ("line", "int", None), ("reason", "str", 50), ("record", "text", None)],
    "etl_batches": [("table_name", "str", 100), ("batch_id", "str", 200), ("checksum", "str", 64),
                    ("row_count", "int", None), ("reject_count", "int", None), ("loaded_at", "timestamp", None)],
}


class WarehouseError(HeadwaterError):
    """The warehouse refused the load or a query; nothing of this run was written."""


def _metadata() -> tuple[Any, dict[str, Any]]:
    import sqlalchemy as sa

    kinds = {"bigint": sa.BigInteger, "int": sa.Integer, "date": sa.Date, "text": sa.Text,
             "money": lambda _n: sa.Numeric(14, 2), "timestamp": lambda _n: sa.DateTime(timezone=False)}
    md = sa.MetaData()
    tables = {}
    for name, columns in TABLES.items():
        cols = []
        for col, kind, size in columns:
            typ = sa.String(size) if kind == "str" else (
                kinds[kind](size) if kind in ("money", "timestamp") else kinds[kind]()
            )
            cols.append(sa.Column(col, typ))
        tables[name] = sa.Table(name, md, *cols)
    return md, tables


def _checksum(batch: Batch) -> str:
    digest = hashlib.sha256()
    for row in batch.rows:
        digest.update(json.dumps(row, default=str, sort_keys=True).encode())
    for reject in batch.rejects:
        digest.update(json.dumps(reject.as_row(), sort_keys=True).encode())
    return digest.hexdigest()


def _describe(warehouse: Any) -> str:
    label = getattr(warehouse, "database_label", None)
    return str(label) if label else f"block {warehouse.block_document_name!r}"


def _fail(warehouse: Any, doing: str, exc: BaseException) -> HeadwaterError:
    import sqlalchemy.exc as sa_exc

    if isinstance(exc, HeadwaterError):
        return exc
    first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    where = _describe(warehouse)
    outcome = "; the transaction was rolled back, nothing was written" if doing == "loading" else ""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, OSError)):
        return ConnectionFailedError(f"cannot reach the warehouse {where} while {doing}: {first}{outcome}")
    return WarehouseError(f"the warehouse {where} failed while {doing}: {first}{outcome}")


def load_batches(warehouse: Any, batches: dict[str, list[Batch]], full_refresh: bool = False) -> dict[str, Any]:
    """Load all batches in one transaction.

    A batch (one source file) replaces the rows that batch loaded before: delete by batch id,
    insert, record its checksum. A batch whose checksum is already recorded is skipped unless
    ``full_refresh``. Either every batch of this run lands or none does.
    """
    import sqlalchemy as sa

    md, tables = _metadata()
    ledger, rejects = tables["etl_batches"], tables["raw_rejects"]
    stats: dict[str, Any] = {"rows_loaded": 0, "rejects_loaded": 0, "batches_loaded": 0, "batches_skipped": 0,
                             "tables": {}}
    try:
        with warehouse.get_connection(begin=True) as conn:
            md.create_all(conn, checkfirst=True)
            ledger_rows = conn.execute(sa.select(ledger.c.table_name, ledger.c.batch_id, ledger.c.checksum))
            known = {(r[0], r[1]): r[2] for r in ledger_rows}
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            for table_name, table_batches in batches.items():
                table = tables[table_name]
                for batch in table_batches:
                    checksum = _checksum(batch)
                    if not full_refresh and known.get((table_name, batch.batch_id)) == checksum:
                        stats["batches_skipped"] += 1
                        continue
                    conn.execute(sa.delete(table).where(table.c._batch_id == batch.batch_id))
                    conn.execute(sa.delete(rejects).where(rejects.c._batch_id == batch.batch_id))
                    if batch.rows:
                        conn.execute(sa.insert(table), batch.rows)
                    if batch.rejects:
                        conn.execute(sa.insert(rejects), [r.as_row() for r in batch.rejects])
                    conn.execute(
                        sa.delete(ledger).where(ledger.c.table_name == table_name, ledger.c.batch_id == batch.batch_id)
                    )
                    conn.execute(sa.insert(ledger).values(
                        table_name=table_name, batch_id=batch.batch_id, checksum=checksum,
                        row_count=len(batch.rows), reject_count=len(batch.rejects), loaded_at=now,
                    ))
                    stats["rows_loaded"] += len(batch.rows)
                    stats["rejects_loaded"] += len(batch.rejects)
                    stats["batches_loaded"] += 1
            for table_name in batches:
                count = sa.select(sa.func.count()).select_from(tables[table_name])
                stats["tables"][table_name] = conn.execute(count).scalar_one()
    except Exception as exc:
        raise _fail(warehouse, "loading", exc) from exc
    return stats


_MART_QUERIES = {
    "monthly": "select order_month, sum(orders) as orders, sum(revenue) as revenue from monthly_revenue group by "
               "order_month order by order_month",
    "categories": "select category, sum(orders) as orders, sum(revenue) as revenue from monthly_revenue group by "
                  "category order by revenue desc",
    "countries": "select country, customers, orders, revenue from country_revenue order by revenue desc",
    "top_customers": "select customer_id, country, orders, revenue from customer_value order by revenue desc, "
                     "customer_id limit 10",
}


def query_marts(warehouse: Any) -> dict[str, list[tuple[Any, ...]]]:
    """The rows the report shows, read from the marts dbt built."""
    import sqlalchemy as sa

    try:
        with warehouse.get_connection(begin=False) as conn:
            return {name: [tuple(r) for r in conn.execute(sa.text(sql))] for name, sql in _MART_QUERIES.items()}
    except Exception as exc:
        raise _fail(warehouse, "reading the marts", exc) from exc
