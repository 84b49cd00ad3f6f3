"""The same ETL flow, unchanged, on S3 (moto server), GCS (fake-gcs-server) and PostgreSQL.

Only the block names are re-pointed, with examples/etl/point_blocks.py, as a user would.
The servers are real processes on 127.0.0.1 started by headwater.testing's fixtures; a test
whose server cannot be started is skipped with a reason saying how to provide it.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("headwater_aws", reason="headwater-aws is not installed: pip install -e plugins/aws")
pytest.importorskip("headwater_gcs", reason="headwater-gcs is not installed: pip install -e plugins/gcs")
pytest.importorskip("headwater_sql", reason="headwater-sql is not installed: pip install -e 'plugins/sql[postgres]'")
pytest.importorskip("dbt.adapters.postgres",
                    reason="dbt-postgres is not installed: pip install 'headwater-dbt[postgres]'")

ORDERS, CUSTOMERS = 1_200, 300


def test_flow_runs_unchanged_on_s3_gcs_and_postgres(s3_server, gcs_server, postgres_database, headwater_home,
                                                    monkeypatch):
    import sqlalchemy as sa
    from etl_flow import etl
    from point_blocks import point

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_access_key)
    raw_bucket = s3_server.create_bucket()
    reports_bucket = gcs_server.create_bucket()

    changed = point(
        raw="s3", reports="gcs", warehouse="postgres", upload_data=True,
        s3_bucket=raw_bucket, s3_endpoint_url=s3_server.endpoint,
        gcs_bucket=reports_bucket, gcs_endpoint=gcs_server.endpoint,
        postgres_url=postgres_database, orders=ORDERS, customers=CUSTOMERS,
    )
    assert changed["raw"] == "s3-bucket" and changed["reports"] == "gcs-bucket"
    manifest = json.loads((headwater_home / "generated" / "_manifest.json").read_text())

    assert "raw/customers.jsonl" in s3_server.object_keys(raw_bucket)

    summary = etl(dbt_target_path=str(headwater_home / "dbt-target"))
    again = etl(dbt_target_path=str(headwater_home / "dbt-target"), full_refresh=True)

    valid_orders = manifest["rows"]["orders"] - sum(manifest["bad"]["orders"].values())
    engine = sa.create_engine(postgres_database)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("select count(*), count(distinct order_id) from raw_orders")).one() == (
                valid_orders, valid_orders
            )
            assert conn.execute(sa.text("select count(*) from fct_orders")).scalar_one() == valid_orders
            revenue = conn.execute(sa.text("select sum(revenue) from monthly_revenue")).scalar_one()
    finally:
        engine.dispose()
    assert summary["inputs"]["orders"]["reasons"] == manifest["bad"]["orders"]
    assert str(revenue) == summary["revenue"] == again["revenue"]

    names = gcs_server.object_names(reports_bucket)
    assert names == ["reports/rejects.csv", "reports/report.md", "reports/summary.json"]
    report = gcs_server.read_object(reports_bucket, "reports/report.md").decode()
    assert f"| orders | 12 | {valid_orders:,} |" in report
    published = json.loads(gcs_server.read_object(reports_bucket, "reports/summary.json"))
    assert published["rows_rejected"] == again["rows_rejected"]

    # the S3 secret went to the secret backend: not into the store, the run history or its logs
    secret = s3_server.secret_access_key.encode()
    stored = b"".join(p.read_bytes() for p in headwater_home.glob("headwater.db*") if p.is_file())
    assert stored and secret not in stored
