"""prefect-aws's ``prefect_aws.s3`` names: ``S3Bucket`` and the S3 tasks."""

from headwater_aws._bucket import S3Bucket
from headwater_aws._tasks import (
    acopy_objects,
    adownload_from_bucket,
    alist_objects,
    amove_objects,
    aupload_to_bucket,
    copy_objects,
    download_from_bucket,
    list_objects,
    move_objects,
    s3_copy,
    s3_download,
    s3_list_objects,
    s3_move,
    s3_upload,
    upload_to_bucket,
)

__all__ = [
    "S3Bucket",
    "acopy_objects",
    "adownload_from_bucket",
    "alist_objects",
    "amove_objects",
    "aupload_to_bucket",
    "copy_objects",
    "download_from_bucket",
    "list_objects",
    "move_objects",
    "s3_copy",
    "s3_download",
    "s3_list_objects",
    "s3_move",
    "s3_upload",
    "upload_to_bucket",
]
