"""prefect-gcp's ``prefect_gcp.cloud_storage`` names: ``GcsBucket`` and the Cloud Storage tasks."""

from headwater_gcs._bucket import GcsBucket
from headwater_gcs._dataframe import DataFrameSerializationFormat
from headwater_gcs.tasks import (
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

__all__ = [
    "DataFrameSerializationFormat",
    "GcsBucket",
    "acloud_storage_create_bucket",
    "acloud_storage_download_blob_as_bytes",
    "acloud_storage_download_blob_to_file",
    "acloud_storage_upload_blob_from_file",
    "acloud_storage_upload_blob_from_string",
    "cloud_storage_copy_blob",
    "cloud_storage_create_bucket",
    "cloud_storage_download_blob_as_bytes",
    "cloud_storage_download_blob_to_file",
    "cloud_storage_upload_blob_from_file",
    "cloud_storage_upload_blob_from_string",
]
