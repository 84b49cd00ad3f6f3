"""Tasks for one-off Cloud Storage operations, with prefect-gcp's names and signatures."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from headwater.errors import ObjectNotFoundError, StorageError
from headwater.runtime import async_twin
from headwater.runtime.dispatching import dispatch_task

from headwater_gcs._translate import Where, translate
from headwater_gcs.credentials import GcpCredentials

__all__ = [
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

F = TypeVar("F", bound=Callable[..., Any])


def _as_task(fn: F) -> F:
    """``headwater.task`` when the flow runtime is installed; the plain function otherwise."""
    try:
        from headwater import task
    except (ImportError, AttributeError):
        return fn
    return task(fn)  # type: ignore[no-any-return]


def _call(action: str, credentials: GcpCredentials, bucket: str, blob: str | None, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:
        where = Where(credentials.describe_endpoint(), bucket, blob)
        exists = None
        if blob is not None and getattr(exc, "code", None) == 404:
            from headwater_gcs._connection import connection_for

            exists = connection_for(credentials).bucket_exists(bucket)
        raise translate(exc, action, where, bucket_exists=exists) from None


def _blob(credentials: GcpCredentials, project: str | None, bucket: str, blob: str, **kwargs: Any) -> Any:
    client = credentials.get_cloud_storage_client(project=project)
    return client.bucket(bucket).blob(blob, **kwargs)


@_as_task
def cloud_storage_create_bucket(
    bucket: str, gcp_credentials: GcpCredentials, project: str | None = None, location: str | None = None,
    **create_kwargs: Any,
) -> str:
    """Create a bucket; returns its name.

    Raises:
        StorageError: it already exists or the name is not allowed.
    """
    client = gcp_credentials.get_cloud_storage_client(project=project)
    try:
        client.create_bucket(bucket, location=location, **create_kwargs)
    except Exception as exc:
        if getattr(exc, "code", None) == 409:
            raise StorageError(f"cannot create bucket {Where(gcp_credentials.describe_endpoint(), bucket)}: "
                               "it already exists") from None
        raise translate(exc, "create bucket", Where(gcp_credentials.describe_endpoint(), bucket)) from None
    return bucket


@_as_task
def cloud_storage_download_blob_as_bytes(
    bucket: str, blob: str, gcp_credentials: GcpCredentials, chunk_size: int | None = None,
    encryption_key: str | None = None, timeout: float | tuple[float, float] = 60, project: str | None = None,
    **download_kwargs: Any,
) -> bytes:
    """The bytes of ``gs://bucket/blob``.

    Raises:
        ObjectNotFoundError: no such blob or bucket.
    """
    ref = _blob(gcp_credentials, project, bucket, blob, chunk_size=chunk_size, encryption_key=encryption_key)
    return _call("download", gcp_credentials, bucket, blob,
                 lambda: ref.download_as_bytes(timeout=timeout, **download_kwargs))


@_as_task
def cloud_storage_download_blob_to_file(
    bucket: str, blob: str, path: str | Path, gcp_credentials: GcpCredentials, chunk_size: int | None = None,
    encryption_key: str | None = None, timeout: float | tuple[float, float] = 60, project: str | None = None,
    **download_kwargs: Any,
) -> str | Path:
    """Download ``gs://bucket/blob`` to ``path`` (a file, or a folder to put it in); returns the path.

    The file appears only once the download is complete.
    """
    from headwater.blocks.transfers import replace_atomically

    target = Path(path)
    if target.is_dir():
        target = target / os.path.basename(blob)
    ref = _blob(gcp_credentials, project, bucket, blob, chunk_size=chunk_size, encryption_key=encryption_key)
    _call("download", gcp_credentials, bucket, blob,
          lambda: replace_atomically(target, lambda fh: ref.download_to_file(fh, timeout=timeout, **download_kwargs)))
    return target if isinstance(path, Path) else str(target)


@_as_task
def cloud_storage_upload_blob_from_string(
    data: str | bytes, bucket: str, blob: str, gcp_credentials: GcpCredentials, content_type: str | None = None,
    chunk_size: int | None = None, encryption_key: str | None = None, timeout: float | tuple[float, float] = 60,
    project: str | None = None, **upload_kwargs: Any,
) -> str:
    """Upload ``data`` as ``gs://bucket/blob``; returns the blob's name."""
    ref = _blob(gcp_credentials, project, bucket, blob, chunk_size=chunk_size, encryption_key=encryption_key)
    _call("upload to", gcp_credentials, bucket, blob,
          lambda: ref.upload_from_string(data, content_type=content_type, timeout=timeout, **upload_kwargs))
    return blob


@_as_task
def cloud_storage_upload_blob_from_file(
    file: str | Path | io.IOBase, bucket: str, blob: str, gcp_credentials: GcpCredentials,
    content_type: str | None = None, chunk_size: int | None = None, encryption_key: str | None = None,
    timeout: float | tuple[float, float] = 60, project: str | None = None, **upload_kwargs: Any,
) -> str:
    """Upload a local file (path) or a binary file object as ``gs://bucket/blob``; returns the blob's name.

    Raises:
        ObjectNotFoundError: the local file does not exist.
    """
    if isinstance(file, (str, Path)) and not Path(file).is_file():
        raise ObjectNotFoundError(f"no local file {str(file)!r} to upload")
    ref = _blob(gcp_credentials, project, bucket, blob, chunk_size=chunk_size, encryption_key=encryption_key)

    def upload() -> None:
        if isinstance(file, (str, Path)):
            ref.upload_from_filename(str(file), content_type=content_type, timeout=timeout, **upload_kwargs)
        else:
            ref.upload_from_file(file, content_type=content_type, timeout=timeout, **upload_kwargs)

    _call("upload to", gcp_credentials, bucket, blob, upload)
    return blob


@_as_task
def cloud_storage_copy_blob(
    source_bucket: str, dest_bucket: str, source_blob: str, gcp_credentials: GcpCredentials,
    dest_blob: str | None = None, timeout: float | tuple[float, float] = 60, project: str | None = None,
    **copy_kwargs: Any,
) -> str:
    """Copy ``gs://source_bucket/source_blob`` to ``gs://dest_bucket/dest_blob`` (default: the same
    name) on the server side; returns the destination blob's name."""
    client = gcp_credentials.get_cloud_storage_client(project=project)
    source = client.bucket(source_bucket)
    dest = client.bucket(dest_bucket)
    def copy() -> Any:
        try:
            return source.copy_blob(source.blob(source_blob), dest, new_name=dest_blob, timeout=timeout, **copy_kwargs)
        except Exception as exc:
            if getattr(exc, "code", None) == 404 and dest_bucket != source_bucket:
                # The 404 may be the destination bucket's: say so rather than blame the source object.
                from headwater_gcs._connection import connection_for

                if connection_for(gcp_credentials).bucket_exists(dest_bucket) is False:
                    where = Where(gcp_credentials.describe_endpoint(), dest_bucket, dest_blob or source_blob)
                    raise translate(exc, f"copy gs://{source_bucket}/{source_blob} to gs://{dest_bucket}", where,
                                    bucket_exists=False) from None
            raise

    return _call("copy", gcp_credentials, source_bucket, source_blob, copy).name


# -- async twins (prefect-gcp's ``acloud_storage_*`` tasks) ------------------------------------------


acloud_storage_create_bucket = async_twin(cloud_storage_create_bucket, "acloud_storage_create_bucket")
acloud_storage_download_blob_as_bytes = async_twin(cloud_storage_download_blob_as_bytes,
                                                    "acloud_storage_download_blob_as_bytes")
acloud_storage_download_blob_to_file = async_twin(cloud_storage_download_blob_to_file,
                                                   "acloud_storage_download_blob_to_file")
acloud_storage_upload_blob_from_string = async_twin(cloud_storage_upload_blob_from_string,
                                                     "acloud_storage_upload_blob_from_string")
acloud_storage_upload_blob_from_file = async_twin(cloud_storage_upload_blob_from_file,
                                                   "acloud_storage_upload_blob_from_file")

# Called from async code, the sync names return their twin's coroutine (Prefect 3's dispatch).
cloud_storage_create_bucket = dispatch_task(cloud_storage_create_bucket, acloud_storage_create_bucket)
cloud_storage_download_blob_as_bytes = dispatch_task(cloud_storage_download_blob_as_bytes,
                                                     acloud_storage_download_blob_as_bytes)
cloud_storage_download_blob_to_file = dispatch_task(cloud_storage_download_blob_to_file,
                                                    acloud_storage_download_blob_to_file)
cloud_storage_upload_blob_from_string = dispatch_task(cloud_storage_upload_blob_from_string,
                                                      acloud_storage_upload_blob_from_string)
cloud_storage_upload_blob_from_file = dispatch_task(cloud_storage_upload_blob_from_file,
                                                    acloud_storage_upload_blob_from_file)
