"""Point the ETL demo's block names at other systems; the flow itself does not change.

    # raw files on S3, reports on GCS, warehouse and dbt on PostgreSQL:
    python examples/etl/point_blocks.py \\
        --raw s3 --s3-bucket raw-data --s3-endpoint-url http://127.0.0.1:9000 \\
        --reports gcs --gcs-bucket reports --gcs-endpoint http://127.0.0.1:4443 \\
        --warehouse postgres --postgres-url postgresql+psycopg://etl@127.0.0.1:5432/analytics \\
        --upload-data
    python examples/etl/run.py

    # and back to the embedded defaults:
    python examples/etl/point_blocks.py --raw local --reports local --warehouse duckdb

Each name (`raw`, `reports`, `warehouse`, `analytics`) is replaced, whatever block type it
had: S3 credentials come from --aws-access-key-id and the AWS_SECRET_ACCESS_KEY environment
variable (stored by the secret backend, never on the command line); a PostgreSQL password
comes from PGPASSWORD. `--upload-data` copies the generated raw files into the new `raw`
storage. Requires the plugin of each system chosen (headwater-aws, headwater-gcs,
headwater-sql[postgres], headwater-dbt[postgres]).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

__all__ = ["point", "replace_block"]


def replace_block(name: str, block: Any) -> None:
    """Save ``block`` as ``name``, removing any block of another type saved under that name."""
    from headwater import Block
    from headwater.errors import BlockNotFoundError
    from headwater.store.documents import list_documents

    own = block.get_block_type_slug()
    for doc in list_documents():
        if doc.name == name and doc.slug != own:
            try:
                Block.delete(f"{doc.slug}/{name}")
            except BlockNotFoundError:
                pass
    block.save(name, overwrite=True)


def _storage(kind: str, role: str, opts: dict[str, Any], base: Path) -> Any:
    if kind == "local":
        from headwater import LocalFileSystem

        folder = Path(opts.get(f"{role}_folder") or base / role)
        folder.mkdir(parents=True, exist_ok=True)
        return LocalFileSystem(basepath=str(folder))
    if kind == "s3":
        from headwater_aws import AwsClientParameters, AwsCredentials, S3Bucket

        secret = opts.get("aws_secret_access_key") or os.environ.get("AWS_SECRET_ACCESS_KEY")
        credentials = AwsCredentials(
            aws_access_key_id=opts.get("aws_access_key_id") or os.environ.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=secret,
            region_name=opts.get("aws_region") or "us-east-1",
            aws_client_parameters=AwsClientParameters(endpoint_url=opts.get("s3_endpoint_url")),
        )
        replace_block("etl-aws", credentials)
        return S3Bucket(bucket_name=_need(opts, "s3_bucket"), credentials=AwsCredentials.load("etl-aws"),
                        bucket_folder=opts.get(f"{role}_prefix") or role)
    if kind == "gcs":
        from headwater_gcs import GcpCredentials, GcsBucket

        credentials = GcpCredentials(project=opts.get("gcs_project") or "headwater-demo",
                                     endpoint=opts.get("gcs_endpoint"))
        replace_block("etl-gcp", credentials)
        return GcsBucket(bucket=_need(opts, "gcs_bucket"), gcp_credentials=GcpCredentials.load("etl-gcp"),
                         bucket_folder=opts.get(f"{role}_prefix") or role)
    raise SystemExit(f"unknown storage kind {kind!r}: use local, s3 or gcs")


def _need(opts: dict[str, Any], key: str) -> str:
    value = opts.get(key)
    if not value:
        raise SystemExit(f"--{key.replace('_', '-')} is required for this choice")
    return value


def _warehouse(kind: str, opts: dict[str, Any], base: Path) -> tuple[Any, Any]:
    from headwater_dbt import DbtCliProfile, DuckDBTargetConfigs, PostgresTargetConfigs
    from headwater_sql import SqlAlchemyConnector

    if kind == "duckdb":
        path = Path(opts.get("duckdb_path") or base / "warehouse.duckdb").resolve()
        connector = SqlAlchemyConnector(connection_info=f"duckdb:///{path}")
        target = DuckDBTargetConfigs(path=str(path), schema="main")
        return connector, DbtCliProfile(name="analytics", target="demo", target_configs=target)
    if kind == "postgres":
        import sqlalchemy as sa

        url = sa.engine.make_url(_need(opts, "postgres_url"))
        if url.password is None and os.environ.get("PGPASSWORD"):
            url = url.set(password=os.environ["PGPASSWORD"])
        connector = SqlAlchemyConnector(connection_info=url.render_as_string(hide_password=False))
        replace_block("warehouse", connector)
        target = PostgresTargetConfigs(credentials=SqlAlchemyConnector.load("warehouse"),
                                       schema=opts.get("postgres_schema") or "public")
        return None, DbtCliProfile(name="analytics", target="postgres", target_configs=target)
    raise SystemExit(f"unknown warehouse kind {kind!r}: use duckdb or postgres")


def point(raw: str | None = None, reports: str | None = None, warehouse: str | None = None,
          upload_data: bool = False, **opts: Any) -> dict[str, str]:
    """Re-point the block names; returns ``{name: block type slug}`` for what was changed.

    ``opts`` are the command-line options by their Python names (``s3_bucket=...``).
    """
    from headwater.settings import get_settings

    base = get_settings().home.resolve()
    changed: dict[str, str] = {}
    if raw:
        block = _storage(raw, "raw", opts, base)
        replace_block("raw", block)
        changed["raw"] = block.get_block_type_slug()
        if upload_data:
            from generate_data import generate

            staging = base / "generated"
            generate(staging, n_orders=opts.get("orders") or 24_000, n_customers=opts.get("customers") or 3_000)
            block.upload_from_folder(staging)
    if reports:
        block = _storage(reports, "reports", opts, base)
        replace_block("reports", block)
        changed["reports"] = block.get_block_type_slug()
    if warehouse:
        from headwater_sql import SqlAlchemyConnector

        connector, profile = _warehouse(warehouse, opts, base)
        if connector is not None:
            replace_block("warehouse", connector)
        replace_block("analytics", profile)
        changed["warehouse"] = SqlAlchemyConnector.get_block_type_slug()
        changed["analytics"] = profile.get_block_type_slug()
    return changed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Point the ETL demo's blocks at other systems.")
    p.add_argument("--raw", choices=["local", "s3", "gcs"])
    p.add_argument("--reports", choices=["local", "s3", "gcs"])
    p.add_argument("--warehouse", choices=["duckdb", "postgres"])
    p.add_argument("--upload-data", action="store_true", help="copy the generated raw files into the new raw storage")
    p.add_argument("--s3-bucket")
    p.add_argument("--s3-endpoint-url", help="for S3-compatible servers (MinIO, SeaweedFS, moto)")
    p.add_argument("--aws-access-key-id")
    p.add_argument("--aws-region")
    p.add_argument("--gcs-bucket")
    p.add_argument("--gcs-endpoint", help="for fake-gcs-server or another emulator")
    p.add_argument("--gcs-project")
    p.add_argument("--postgres-url", help="postgresql+psycopg://USER@HOST:PORT/DB (password from PGPASSWORD)")
    p.add_argument("--postgres-schema", default="public")
    p.add_argument("--duckdb-path")
    args = vars(p.parse_args(argv))
    os.environ.setdefault("HEADWATER_HOME", str(ROOT / ".headwater-demo"))
    from headwater.errors import HeadwaterError

    try:
        changed = point(**args)
    except HeadwaterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, slug in changed.items():
        print(f"{name} -> {slug}/{name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
