"""Google Cloud Storage for Headwater: ``GcpCredentials``, ``GcsBucket`` and Cloud Storage tasks.

Names are imported on first use, so ``import headwater_gcs`` stays cheap and never imports
google-cloud-storage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.lazy import lazy_exports

__version__ = "0.1.0"

_TASKS = [f"{prefix}cloud_storage_{verb}" for prefix in ("", "a") for verb in (
    "create_bucket", "download_blob_as_bytes", "download_blob_to_file", "upload_blob_from_file",
    "upload_blob_from_string")] + ["cloud_storage_copy_blob"]
_EXPORTS = {"GcpCredentials": "headwater_gcs.credentials", "GcsBucket": "headwater_gcs._bucket",
            **dict.fromkeys(_TASKS, "headwater_gcs.tasks")}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from headwater_gcs._bucket import GcsBucket  # noqa: F401
    from headwater_gcs.credentials import GcpCredentials  # noqa: F401
    from headwater_gcs.tasks import *  # noqa: F403 - every task, for type checkers


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
