"""prefect-gcp's ``prefect_gcp.cloud_storage`` names: ``GcsBucket`` and the Cloud Storage tasks."""

from headwater_gcs import tasks as _tasks
from headwater_gcs._bucket import GcsBucket
from headwater_gcs._dataframe import DataFrameSerializationFormat
from headwater_gcs.tasks import *  # noqa: F403 - every task name, as prefect_gcp.cloud_storage has them

__all__ = ["DataFrameSerializationFormat", "GcsBucket", *_tasks.__all__]
