"""Tasks for one-off S3 operations, with prefect-aws's names and signatures.

Inside a flow each call is a task run (retries, history); outside one it is a plain call.
Bucket paths here are full keys (there is no ``bucket_folder``), as in prefect-aws.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from headwater.runtime import async_twin
from headwater.runtime.dispatching import dispatch_task

from headwater_aws.credentials import AwsClientParameters, AwsCredentials, MinIOCredentials

__all__ = [
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

F = TypeVar("F", bound=Callable[..., Any])
Credentials = AwsCredentials | MinIOCredentials


def _as_task(fn: F) -> F:
    """``headwater.task`` when the flow runtime is available; the plain function otherwise."""
    try:
        from headwater import task
    except (ImportError, AttributeError):
        return fn
    return task(fn)  # type: ignore[no-any-return]


def _bucket(name: str, credentials: Credentials, client_parameters: AwsClientParameters | None = None) -> Any:
    from headwater_aws._bucket import S3Bucket

    if client_parameters is not None:
        credentials = credentials.model_copy(update={"aws_client_parameters": client_parameters})
    return S3Bucket(bucket_name=name, credentials=credentials)


@_as_task
def download_from_bucket(
    bucket: str, key: str, aws_credentials: Credentials, aws_client_parameters: AwsClientParameters | None = None,
) -> bytes:
    """The bytes of ``s3://bucket/key``.

    Args:
        bucket: Bucket name.
        key: Full key of the object.
        aws_credentials: Credentials block.
        aws_client_parameters: Client parameters overriding the credentials' own.

    Raises:
        ObjectNotFoundError: no such object or bucket.
    """
    return _bucket(bucket, aws_credentials, aws_client_parameters).read_path(key)


@_as_task
def upload_to_bucket(
    data: bytes, bucket: str, aws_credentials: Credentials, aws_client_parameters: AwsClientParameters | None = None,
    key: str | None = None,
) -> str:
    """Upload ``data`` as ``s3://bucket/key`` (default key: a new UUID); returns the key."""
    return _bucket(bucket, aws_credentials, aws_client_parameters).write_path(key or str(uuid.uuid4()), data)


@_as_task
def list_objects(
    bucket: str, aws_credentials: Credentials, aws_client_parameters: AwsClientParameters | None = None,
    prefix: str = "", delimiter: str = "", page_size: int | None = None, max_items: int | None = None,
    jmespath_query: str | None = None,
) -> list[dict[str, Any]]:
    """The objects of ``bucket`` whose keys start with ``prefix`` (a plain key prefix).

    Returns:
        boto3's ``Contents`` entries (``Key``, ``Size``, ``LastModified``, ``ETag``, ...), or the
        items matched by ``jmespath_query``.
    """
    target = _bucket(bucket, aws_credentials, aws_client_parameters)
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if delimiter:
        params["Delimiter"] = delimiter
    paging = {k: v for k, v in (("PageSize", page_size), ("MaxItems", max_items)) if v}
    try:
        pages = target._client().get_paginator("list_objects_v2").paginate(**params, PaginationConfig=paging)
        if jmespath_query:
            return list(pages.search(jmespath_query))
        return [obj for page in pages for obj in page.get("Contents", [])]
    except Exception as exc:
        raise target._fail(exc, "list") from None


@_as_task
def copy_objects(
    source_path: str, target_path: str, source_bucket_name: str, aws_credentials: Credentials,
    target_bucket_name: str | None = None, **copy_kwargs: Any,
) -> str:
    """Copy ``s3://source_bucket_name/source_path`` to ``target_path`` in ``target_bucket_name``
    (default: the same bucket) on the server side; returns the target key."""
    source = _bucket(source_bucket_name, aws_credentials)
    return source.copy_object(source_path, target_path, target_bucket_name or source_bucket_name, **copy_kwargs)


@_as_task
def move_objects(
    source_path: str, target_path: str, source_bucket_name: str, aws_credentials: Credentials,
    target_bucket_name: str | None = None,
) -> str:
    """Move an object (server-side copy, then delete); returns the target key."""
    source = _bucket(source_bucket_name, aws_credentials)
    return source.move_object(source_path, target_path, target_bucket_name or source_bucket_name)


# -- async twins and older names, as prefect-aws has them ---------------------------------------------


adownload_from_bucket = async_twin(download_from_bucket, "adownload_from_bucket")
aupload_to_bucket = async_twin(upload_to_bucket, "aupload_to_bucket")
alist_objects = async_twin(list_objects, "alist_objects")
acopy_objects = async_twin(copy_objects, "acopy_objects")
amove_objects = async_twin(move_objects, "amove_objects")

# Called from async code, the sync names return their twin's coroutine (Prefect 3's dispatch).
download_from_bucket = dispatch_task(download_from_bucket, adownload_from_bucket)
upload_to_bucket = dispatch_task(upload_to_bucket, aupload_to_bucket)
list_objects = dispatch_task(list_objects, alist_objects)
copy_objects = dispatch_task(copy_objects, acopy_objects)
move_objects = dispatch_task(move_objects, amove_objects)

s3_download = download_from_bucket
s3_upload = upload_to_bucket
s3_list_objects = list_objects
s3_copy = copy_objects
s3_move = move_objects
