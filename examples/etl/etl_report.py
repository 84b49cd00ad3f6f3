"""Render the pipeline's report (Markdown), its summary (JSON) and the rejected rows (CSV).

The report's content depends only on the data, never on the time or the machine, so two
runs over the same input publish the same bytes; run details live in the summary.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from decimal import Decimal
from typing import Any

from etl_validate import Batch

__all__ = ["render_report"]

_KIND = {"raw_customers": "customers", "raw_products": "products", "raw_orders": "orders"}


def _num(value: Any) -> str:
    if isinstance(value, (Decimal, float)):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _table(headers: list[str], rows: list[tuple[Any, ...]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_num(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render_report(
    batches: dict[str, list[Batch]], load_stats: dict[str, Any], dbt: dict[str, Any],
    marts: dict[str, list[tuple[Any, ...]]]
) -> dict[str, bytes]:
    """Return ``{"report.md": ..., "rejects.csv": ..., "summary.json": ...}``."""
    inputs = {}
    for table, table_batches in batches.items():
        reasons = Counter(r.reason for b in table_batches for r in b.rejects)
        inputs[_KIND[table]] = {
            "files": len(table_batches),
            "valid": sum(len(b.rows) for b in table_batches),
            "rejected": sum(reasons.values()),
            "reasons": dict(sorted(reasons.items())),
        }
    revenue = sum((row[2] for row in marts["monthly"]), Decimal(0))
    summary = {
        "inputs": inputs,
        "rows_valid": sum(v["valid"] for v in inputs.values()),
        "rows_rejected": sum(v["rejected"] for v in inputs.values()),
        "warehouse_rows": load_stats["tables"],
        "batches_loaded": load_stats["batches_loaded"],
        "batches_skipped": load_stats["batches_skipped"],
        "dbt": dbt,
        "revenue": str(revenue),
        "files": ["report.md", "rejects.csv", "summary.json"],
    }

    md = ["# Sales pipeline report", ""]
    md += ["## Inputs", "", _table(["source", "files", "valid rows", "rejected rows"],
                                   [(k, v["files"], v["valid"], v["rejected"]) for k, v in inputs.items()]), ""]
    md += ["## Rejected rows by reason", "", "Every rejected row is listed, with its file and line, in `rejects.csv`.",
           ""]
    by_reason = [(k, reason, n) for k, v in inputs.items() for reason, n in v["reasons"].items()]
    md += [_table(["source", "reason", "rows"], by_reason), ""]
    md += ["## Warehouse", "", _table(["table", "rows"], sorted(load_stats["tables"].items())), ""]
    md += [f"dbt: {dbt['models']} models and {dbt['tests']} tests, "
           + ", ".join(f"{n} {s}" for s, n in dbt["statuses"].items()) + ".", ""]
    md += [f"## Revenue (completed and shipped orders): {_num(revenue)}", ""]
    md += ["### By month", "", _table(["month", "orders", "revenue"], marts["monthly"]), ""]
    md += ["### By category", "", _table(["category", "orders", "revenue"], marts["categories"]), ""]
    md += ["### By country", "", _table(["country", "customers", "orders", "revenue"], marts["countries"]), ""]
    md += ["### Top customers", "", _table(["customer", "country", "orders", "revenue"], marts["top_customers"]), ""]

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["file", "line", "reason", "record"])
    for table_batches in batches.values():
        for batch in table_batches:
            writer.writerows((r.batch_id, r.line, r.reason, r.record) for r in batch.rejects)
    return {
        "report.md": "\n".join(md).encode(),
        "rejects.csv": buf.getvalue().encode(),
        "summary.json": (json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n").encode(),
    }
