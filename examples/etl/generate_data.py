"""Generate the demo's raw files, deterministically, with some deliberately bad rows.

Layout written under the target folder:

    customers.jsonl          one JSON object per line (a few lines are bad)
    products.json            a JSON array
    orders/orders-2024-MM.csv  one CSV file per month

Every bad row is injected on purpose and counted by reason in ``_manifest.json``, so a test
can check that the pipeline reports exactly those (the pipeline's validation and this
generator are written independently). The same arguments always give the same bytes.

Usage:
    python examples/etl/generate_data.py OUT_DIR [--orders 24000] [--customers 3000]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

GENERATOR_VERSION = 1
COUNTRIES = ["DE", "FR", "GB", "NL", "ES", "IT", "SE", "PL", "US", "CA"]
CATEGORIES = ["books", "garden", "kitchen", "music", "outdoor", "toys"]
STATUSES = ["completed", "completed", "completed", "completed", "shipped", "returned", "cancelled"]
FIRST = ["Ada", "Alan", "Grace", "Linus", "Margaret", "Edsger", "Barbara", "Ken", "Frances", "Donald", "Radia",
         "Niklaus"]
LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Dijkstra", "Liskov", "Thompson", "Allen", "Knuth",
        "Perlman", "Wirth"]
ORDER_COLUMNS = ["order_id", "customer_id", "product_id", "order_date", "quantity", "unit_price", "status"]
MONTHS = 12
BAD_ORDER_SHARE = 0.02
BAD_CUSTOMER_SHARE = 0.01


def generate(out_dir: str | Path, n_orders: int = 24_000, n_customers: int = 3_000, n_products: int = 120,
             seed: int = 7) -> dict[str, Any]:
    """Write the raw files under ``out_dir`` and return the manifest (what was injected).

    Skips the work when ``out_dir/_manifest.json`` already describes the same arguments.
    """
    out = Path(out_dir)
    params = {"version": GENERATOR_VERSION, "orders": n_orders, "customers": n_customers, "products": n_products,
              "seed": seed}
    manifest_path = out / "_manifest.json"
    if manifest_path.exists():
        existing = json.loads(manifest_path.read_text())
        if existing.get("params") == params and all((out / f).exists() for f in existing["files"]):
            return existing
    rng = random.Random(seed)
    files: dict[str, bytes] = {}
    bad: dict[str, dict[str, int]] = {"customers": {}, "products": {}, "orders": {}}

    products = _products(rng, n_products, bad["products"])
    files["products.json"] = json.dumps(products, indent=1).encode()
    good_products = [p["product_id"] for p in products if p["list_price"] >= 0]

    lines, good_customers = _customers(rng, n_customers, bad["customers"])
    files["customers.jsonl"] = ("\n".join(lines) + "\n").encode()

    per_month = n_orders // MONTHS
    next_id = 100_000
    seen_ids: list[int] = []
    for month in range(1, MONTHS + 1):
        rows, next_id = _orders(rng, month, per_month, next_id, good_customers, good_products, seen_ids, bad["orders"])
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(ORDER_COLUMNS)
        writer.writerows(rows)
        files[f"orders/orders-2024-{month:02d}.csv"] = buf.getvalue().encode()

    for rel, content in files.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    manifest = {
        "params": params,
        "files": sorted(files),
        "rows": {"customers": n_customers, "products": n_products, "orders": per_month * MONTHS},
        "bad": {kind: dict(sorted(v.items())) for kind, v in bad.items()},
    }
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _count(bucket: dict[str, int], reason: str) -> None:
    bucket[reason] = bucket.get(reason, 0) + 1


def _products(rng: random.Random, n: int, bad: dict[str, int]) -> list[dict[str, Any]]:
    products = []
    for i in range(n):
        products.append({
            "product_id": f"P{i + 1:04d}",
            "name": f"{rng.choice(['Classic', 'Deluxe', 'Mini', 'Pro', 'Eco'])} {rng.choice(CATEGORIES)} item {i + 1}",
            "category": CATEGORIES[i % len(CATEGORIES)],
            "list_price": round(rng.uniform(2, 250), 2),
        })
    products[-1]["list_price"] = -1.0
    _count(bad, "negative_price")
    return products


def _customers(rng: random.Random, n: int, bad: dict[str, int]) -> tuple[list[str], list[int]]:
    lines: list[str] = []
    good: list[int] = []
    start = date(2021, 1, 1)
    for i in range(n):
        cid = i + 1
        first, last = rng.choice(FIRST), rng.choice(LAST)
        record: dict[str, Any] = {
            "customer_id": cid,
            "name": f"{first} {last}",
            "email": f"{first}.{last}.{cid}@example.com".lower(),
            "country": rng.choice(COUNTRIES),
            "signup_date": (start + timedelta(days=rng.randrange(0, 1000))).isoformat(),
        }
        if i > 0 and rng.random() < BAD_CUSTOMER_SHARE:
            kind = rng.choice(["malformed_json", "invalid_email", "unknown_country", "duplicate_customer_id"])
            _count(bad, kind)
            if kind == "malformed_json":
                lines.append(json.dumps(record)[:-9])
                continue
            if kind == "invalid_email":
                record["email"] = f"{first}.{last}-at-example.com"
            elif kind == "unknown_country":
                record["country"] = "XX"
            else:
                record["customer_id"] = good[rng.randrange(len(good))]
                lines.append(json.dumps(record))
                continue
            lines.append(json.dumps(record))
            continue
        lines.append(json.dumps(record))
        good.append(cid)
    return lines, good


def _orders(
    rng: random.Random,
    month: int,
    count: int,
    next_id: int,
    customers: list[int],
    products: list[str],
    seen_ids: list[int],
    bad: dict[str, int],
) -> tuple[list[list[str]], int]:
    first_day = date(2024, month, 1)
    days = ((first_day.replace(month=month % 12 + 1, year=2024 + month // 12)) - first_day).days
    rows: list[list[str]] = []
    for _ in range(count):
        row = [
            str(next_id),
            str(rng.choice(customers)),
            rng.choice(products),
            (first_day + timedelta(days=rng.randrange(days))).isoformat(),
            str(rng.choice([1, 1, 1, 2, 2, 3, 4, 5])),
            f"{rng.uniform(2, 250):.2f}",
            rng.choice(STATUSES),
        ]
        if seen_ids and rng.random() < BAD_ORDER_SHARE:
            kind = rng.choice([
                "missing_customer_id", "unknown_customer", "unknown_product", "invalid_date",
                "invalid_quantity", "invalid_price", "unknown_status", "duplicate_order_id", "wrong_column_count",
            ])
            _count(bad, kind)
            if kind == "missing_customer_id":
                row[1] = ""
            elif kind == "unknown_customer":
                row[1] = str(900_000 + rng.randrange(1000))
            elif kind == "unknown_product":
                row[2] = "P9999"
            elif kind == "invalid_date":
                row[3] = rng.choice(["2024-02-30", "yesterday", "31/12/2024"])
            elif kind == "invalid_quantity":
                row[4] = rng.choice(["0", "-2", "two", "1.5"])
            elif kind == "invalid_price":
                row[5] = rng.choice(["", "12,50", "-4.00", "n/a"])
            elif kind == "unknown_status":
                row[6] = "lost-in-space"
            elif kind == "duplicate_order_id":
                rows.append([str(seen_ids[rng.randrange(len(seen_ids))]), *row[1:]])
                continue
            else:
                row = row[:4]
            row[0] = str(next_id)
            next_id += 1
            rows.append(row)
            continue
        seen_ids.append(next_id)
        next_id += 1
        rows.append(row)
    return rows, next_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--orders", type=int, default=24_000)
    parser.add_argument("--customers", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    manifest = generate(args.out_dir, n_orders=args.orders, n_customers=args.customers, seed=args.seed)
    print(json.dumps(manifest["bad"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
