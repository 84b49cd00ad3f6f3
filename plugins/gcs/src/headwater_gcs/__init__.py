"""Google Cloud Storage for Headwater: ``GcpCredentials``, ``GcsBucket`` and Cloud Storage tasks.

Names are imported on first use, so ``import headwater_gcs`` stays cheap and never imports
google-cloud-storage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "GcpCredentials": "headwater_gcs.credentials",
    "GcsBucket": "headwater_gcs._bucket",
    "acloud_storage_create_bucket": "headwater_gcs.tasks",
    "acloud_storage_download_blob_as_bytes": "headwater_gcs.tasks",
    "acloud_storage_download_blob_to_file": "headwater_gcs.tasks",
    "acloud_storage_upload_blob_from_file": "headwater_gcs.tasks",
    "acloud_storage_upload_blob_from_string": "headwater_gcs.tasks",
    "cloud_storage_copy_blob": "headwater_gcs.tasks",
    "cloud_storage_create_bucket": "headwater_gcs.tasks",
    "cloud_storage_download_blob_as_bytes": "headwater_gcs.tasks",
    "cloud_storage_download_blob_to_file": "headwater_gcs.tasks",
    "cloud_storage_upload_blob_from_file": "headwater_gcs.tasks",
    "cloud_storage_upload_blob_from_string": "headwater_gcs.tasks",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from headwater_gcs._bucket import GcsBucket  # noqa: F401
    from headwater_gcs.credentials import GcpCredentials  # noqa: F401
    from headwater_gcs.tasks import (  # noqa: F401
        acloud_storage_create_bucket,
        acloud_storage_download_blob_as_bytes,
        acloud_storage_download_blob_to_file,
        acloud_storage_upload_blob_from_file,
        acloud_storage_upload_blob_from_string,
        cloud_storage_copy_blob,
        cloud_storage_create_bucket,
        cloud_storage_download_blob_as_bytes,
        cloud_storage_download_blob_to_file,
        cloud_storage_upload_blob_from_file,
        cloud_storage_upload_blob_from_string,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'headwater_gcs' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
