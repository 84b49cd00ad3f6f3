"""``headwater s3 upload|download|ls``: core's bucket commands for S3Bucket blocks."""

from __future__ import annotations

from typing import Any

from headwater.cli.buckets import bucket_commands

__all__ = ["s3"]


def _load(block_name: str) -> Any:
    from headwater_aws._bucket import S3Bucket

    return S3Bucket.load(block_name)


s3 = bucket_commands("s3", "S3Bucket", _load)
