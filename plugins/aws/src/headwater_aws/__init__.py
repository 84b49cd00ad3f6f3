"""AWS for Headwater: ``AwsCredentials``, ``MinIOCredentials``, ``S3Bucket``, ``AwsSecret``,
S3 tasks and the ``aws-secrets-manager`` secret backend.

Names are imported on first use, so ``import headwater_aws`` stays cheap and never imports boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AwsClientParameters": "headwater_aws.credentials",
    "AwsCredentials": "headwater_aws.credentials",
    "ClientType": "headwater_aws.credentials",
    "MinIOCredentials": "headwater_aws.credentials",
    "S3Bucket": "headwater_aws._bucket",
    "AwsSecret": "headwater_aws.secrets_manager",
    "acopy_objects": "headwater_aws.tasks",
    "adownload_from_bucket": "headwater_aws.tasks",
    "alist_objects": "headwater_aws.tasks",
    "amove_objects": "headwater_aws.tasks",
    "aupload_to_bucket": "headwater_aws.tasks",
    "s3_copy": "headwater_aws.tasks",
    "s3_download": "headwater_aws.tasks",
    "s3_list_objects": "headwater_aws.tasks",
    "s3_move": "headwater_aws.tasks",
    "s3_upload": "headwater_aws.tasks",
    "copy_objects": "headwater_aws.tasks",
    "download_from_bucket": "headwater_aws.tasks",
    "list_objects": "headwater_aws.tasks",
    "move_objects": "headwater_aws.tasks",
    "upload_to_bucket": "headwater_aws.tasks",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from headwater_aws._bucket import S3Bucket  # noqa: F401
    from headwater_aws.credentials import AwsClientParameters, AwsCredentials, ClientType, MinIOCredentials  # noqa: F401
    from headwater_aws.secrets_manager import AwsSecret  # noqa: F401
    from headwater_aws.tasks import (  # noqa: F401
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'headwater_aws' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
