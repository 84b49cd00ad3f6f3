"""prefect-aws's ``prefect_aws.s3`` names: ``S3Bucket`` and the S3 tasks."""

from headwater_aws._bucket import S3Bucket
from headwater_aws._tasks import copy_objects, download_from_bucket, list_objects, move_objects, upload_to_bucket

__all__ = ["S3Bucket", "copy_objects", "download_from_bucket", "list_objects", "move_objects", "upload_to_bucket"]
