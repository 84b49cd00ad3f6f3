"""prefect-aws's ``prefect_aws.s3`` names: ``S3Bucket`` and the S3 tasks."""

from headwater_aws import tasks as _tasks
from headwater_aws._bucket import S3Bucket
from headwater_aws.tasks import *  # noqa: F403 - every task name, as prefect_aws.s3 has them

__all__ = ["S3Bucket", *_tasks.__all__]
