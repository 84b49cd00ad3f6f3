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
    "copy_objects": "headwater_aws._tasks",
    "download_from_bucket": "headwater_aws._tasks",
    "list_objects": "headwater_aws._tasks",
    "move_objects": "headwater_aws._tasks",
    "upload_to_bucket": "headwater_aws._tasks",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from headwater_aws._bucket import S3Bucket  # noqa: F401
    from headwater_aws._tasks import copy_objects, download_from_bucket, list_objects, move_objects, upload_to_bucket  # noqa: F401
    from headwater_aws.credentials import AwsClientParameters, AwsCredentials, ClientType, MinIOCredentials  # noqa: F401
    from headwater_aws.secrets_manager import AwsSecret  # noqa: F401


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
