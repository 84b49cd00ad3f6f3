"""Validation and transformation of the raw records: pure functions, no I/O.

Every record either becomes a clean row or a reject with a reason; nothing is dropped
silently. Rows of one source file form one *batch* (the unit the load replaces).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "MARKETS",
    "ORDER_STATUSES",
    "Batch",
    "Reject",
    "parse_records",
    "validate_customers",
    "validate_orders",
    "validate_products",
]

MARKETS = frozenset({"DE", "FR", "GB", "NL", "ES", "IT", "SE", "PL", "US", "CA"})
ORDER_STATUSES = frozenset({"completed", "shipped", "returned", "cancelled"})
ORDER_COLUMNS = ("order_id", "customer_id", "product_id", "order_date", "quantity", "unit_price", "status")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)
_CENT = Decimal("0.01")


@dataclass
class Reject:
    """A record that did not pass validation."""

    batch_id: str
    line: int
    reason: str
    record: str

    def as_row(self) -> dict[str, Any]:
        return {"_batch_id": self.batch_id, "line": self.line, "reason": self.reason, "record": self.record[:500]}


@dataclass
class Batch:
    """The clean rows and the rejects of one source file."""

    batch_id: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    def reject(self, line: int, reason: str, record: Any) -> None:
        text = record if isinstance(record, str) else json.dumps(record, default=str)
        self.rejects.append(Reject(self.batch_id, line, reason, text))


def parse_records(key: str, content: bytes) -> list[tuple[int, Any]]:
    """Split a raw file into ``(line_number, record)`` pairs, without judging them.

    CSV gives lists of strings (the header row is checked and dropped), JSON Lines gives
    each line's text, JSON gives the elements of the top-level array.
    """
    text = content.decode("utf-8")
    if key.endswith(".csv"):
        rows = list(csv.reader(io.StringIO(text)))
        if not rows or tuple(rows[0]) != ORDER_COLUMNS:
            raise ValueError(f"{key}: expected the header {','.join(ORDER_COLUMNS)}")
        return [(i + 2, row) for i, row in enumerate(rows[1:]) if row]
    if key.endswith(".jsonl"):
        return [(i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip()]
    if key.endswith(".json"):
        data = json.loads(text)
        if not isinstance(data, list):
            raise ValueError(f"{key}: expected a JSON array of records")
        return list(enumerate(data, start=1))
    raise ValueError(f"{key}: unsupported file type (expected .csv, .jsonl or .json)")


def validate_customers(batch_id: str, records: list[tuple[int, Any]]) -> Batch:
    """Customers from JSON Lines: id, name, a plausible email, a market country, signup date."""
    batch = Batch(batch_id)
    seen: set[int] = set()
    for line, text in records:
        try:
            rec = json.loads(text)
        except json.JSONDecodeError:
            batch.reject(line, "malformed_json", text)
            continue
        cid = rec.get("customer_id") if isinstance(rec, dict) else None
        if not isinstance(cid, int) or isinstance(cid, bool):
            batch.reject(line, "missing_customer_id", text)
        elif cid in seen:
            batch.reject(line, "duplicate_customer_id", text)
        elif not _EMAIL.match(str(rec.get("email") or "")):
            batch.reject(line, "invalid_email", text)
        elif rec.get("country") not in MARKETS:
            batch.reject(line, "unknown_country", text)
        elif (signup := _date(rec.get("signup_date"))) is None:
            batch.reject(line, "invalid_date", text)
        else:
            seen.add(cid)
            batch.rows.append({
                "customer_id": cid,
                "customer_name": str(rec.get("name") or "").strip(),
                "email": rec["email"].strip().lower(),
                "country": rec["country"],
                "signup_date": signup,
                "_batch_id": batch_id,
            })
    return batch


def validate_products(batch_id: str, records: list[tuple[int, Any]]) -> Batch:
    """Products from a JSON array: id, name, category, a non-negative list price."""
    batch = Batch(batch_id)
    seen: set[str] = set()
    for line, rec in records:
        pid = rec.get("product_id") if isinstance(rec, dict) else None
        price = _money(rec.get("list_price")) if isinstance(rec, dict) else None
        if not isinstance(pid, str) or not pid:
            batch.reject(line, "missing_product_id", rec)
        elif pid in seen:
            batch.reject(line, "duplicate_product_id", rec)
        elif price is None:
            batch.reject(line, "invalid_price", rec)
        elif price < 0:
            batch.reject(line, "negative_price", rec)
        else:
            seen.add(pid)
            batch.rows.append({
                "product_id": pid,
                "product_name": str(rec.get("name") or "").strip(),
                "category": str(rec.get("category") or "unknown"),
                "list_price": price,
                "_batch_id": batch_id,
            })
    return batch


def validate_orders(
    batch_id: str, records: list[tuple[int, Any]], customers: set[int], products: set[str], seen_orders: set[int]
) -> Batch:
    """Orders from CSV; ``seen_orders`` carries order ids across files (updated in place).

    An order must reference a valid customer and product, have a real date, a positive whole
    quantity, a non-negative price with at most two decimals' worth of meaning, and a known
    status. Its amount is ``quantity * unit_price``.
    """
    batch = Batch(batch_id)
    for line, row in records:
        text = ",".join(row)
        if len(row) != len(ORDER_COLUMNS):
            batch.reject(line, "wrong_column_count", text)
            continue
        order_id, customer_id, product_id, order_date, quantity, unit_price, status = (v.strip() for v in row)
        oid = _int(order_id)
        cid = _int(customer_id)
        qty = _int(quantity)
        price = _money(unit_price)
        day = _date(order_date)
        reason = None
        if oid is None:
            reason = "invalid_order_id"
        elif oid in seen_orders:
            reason = "duplicate_order_id"
        elif not customer_id:
            reason = "missing_customer_id"
        elif cid not in customers:
            reason = "unknown_customer"
        elif product_id not in products:
            reason = "unknown_product"
        elif day is None:
            reason = "invalid_date"
        elif qty is None or qty <= 0:
            reason = "invalid_quantity"
        elif price is None or price < 0:
            reason = "invalid_price"
        elif status.lower() not in ORDER_STATUSES:
            reason = "unknown_status"
        if reason:
            batch.reject(line, reason, text)
            continue
        seen_orders.add(oid)
        batch.rows.append({
            "order_id": oid,
            "customer_id": cid,
            "product_id": product_id,
            "order_date": day,
            "quantity": qty,
            "unit_price": price,
            "amount": (price * qty).quantize(_CENT),
            "status": status.lower(),
            "_batch_id": batch_id,
        })
    return batch


def _int(value: str) -> int | None:
    try:
        return int(value) if value.lstrip("-").isdigit() else None
    except ValueError:
        return None


def _money(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount.quantize(_CENT) if amount.is_finite() else None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None
