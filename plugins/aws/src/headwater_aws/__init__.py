"""AWS for Headwater: ``AwsCredentials``, ``MinIOCredentials``, ``S3Bucket``, ``AwsSecret``,
S3 tasks and the ``aws-secrets-manager`` secret backend.

Names are imported on first use, so ``import headwater_aws`` stays cheap and never imports boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.lazy import lazy_exports

__version__ = "0.1.0"

_TASKS = ("acopy_objects", "adownload_from_bucket", "alist_objects", "amove_objects", "aupload_to_bucket",
          "copy_objects", "download_from_bucket", "list_objects", "move_objects", "upload_to_bucket",
          "s3_copy", "s3_download", "s3_list_objects", "s3_move", "s3_upload")
_EXPORTS = {
    **dict.fromkeys(
        ("AwsClientParameters", "AwsCredentials", "ClientType", "MinIOCredentials"), "headwater_aws.credentials"
    ),
    "S3Bucket": "headwater_aws._bucket",
    **dict.fromkeys(("AwsSecret", "SecretValueError", "read_secret", "create_secret", "update_secret", "delete_secret",
                     "aread_secret", "acreate_secret", "aupdate_secret", "adelete_secret"),
                    "headwater_aws.secrets_manager"),
    **dict.fromkeys(_TASKS, "headwater_aws.tasks"),
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from headwater_aws._bucket import S3Bucket  # noqa: F401
    from headwater_aws.credentials import AwsClientParameters, AwsCredentials, ClientType, MinIOCredentials  # noqa: F401
    from headwater_aws.secrets_manager import *  # noqa: F403 - the block and the Secrets Manager tasks
    from headwater_aws.tasks import *  # noqa: F403 - every task, for type checkers


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
