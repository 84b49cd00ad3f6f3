"""``headwater gcs upload|download|ls``: core's bucket commands for GcsBucket blocks."""

from __future__ import annotations

from typing import Any

from headwater.cli.buckets import bucket_commands

__all__ = ["gcs"]


def _load(block_name: str) -> Any:
    from headwater_gcs._bucket import GcsBucket

    return GcsBucket.load(block_name)


gcs = bucket_commands("gcs", "GcsBucket", _load)
