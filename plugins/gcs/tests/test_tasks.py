"""The Cloud Storage tasks, called inside a Headwater flow against fake-gcs-server."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from headwater.errors import ObjectNotFoundError, StorageError
from headwater_gcs import (
    GcpCredentials,
    cloud_storage_copy_blob,
    cloud_storage_create_bucket,
    cloud_storage_download_blob_as_bytes,
    cloud_storage_download_blob_to_file,
    cloud_storage_upload_blob_from_file,
    cloud_storage_upload_blob_from_string,
)


def test_tasks_in_a_flow(gcs_server: Any, gcp_credentials: GcpCredentials, tmp_path: Path) -> None:
    from headwater import flow

    src = tmp_path / "in.txt"
    src.write_bytes(b"from a file")

    @flow
    def pipeline() -> dict[str, Any]:
        bucket = cloud_storage_create_bucket("tasks-flow", gcp_credentials, location="EU")
        cloud_storage_upload_blob_from_string("héllo", bucket, "s.txt", gcp_credentials, content_type="text/plain")
        cloud_storage_upload_blob_from_file(src, bucket, "f.txt", gcp_credentials)
        cloud_storage_upload_blob_from_file(io.BytesIO(b"object"), bucket, "o.txt", gcp_credentials)
        copied = cloud_storage_copy_blob(bucket, bucket, "s.txt", gcp_credentials, dest_blob="copy/s.txt")
        path = cloud_storage_download_blob_to_file(bucket, "f.txt", tmp_path / "out", gcp_credentials)
        return {"copied": copied, "bytes": cloud_storage_download_blob_as_bytes(bucket, "copy/s.txt", gcp_credentials),
                "path": str(path)}

    (tmp_path / "out").mkdir()
    result = pipeline()
    assert result["copied"] == "copy/s.txt" and result["bytes"] == "héllo".encode()
    assert Path(result["path"]).read_bytes() == b"from a file"
    assert gcs_server.object_names("tasks-flow") == ["copy/s.txt", "f.txt", "o.txt", "s.txt"]
    assert gcs_server.read_object("tasks-flow", "o.txt") == b"object"


def test_tasks_raise_clear_errors(gcs_bucket_name: str, gcp_credentials: GcpCredentials, gcs_server: Any,
                                  tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFoundError, match=f"gs://{gcs_bucket_name}/absent"):
        cloud_storage_download_blob_as_bytes(gcs_bucket_name, "absent", gcp_credentials)
    with pytest.raises(ObjectNotFoundError, match="bucket 'nope-bucket' does not exist"):
        cloud_storage_upload_blob_from_string(b"x", "nope-bucket", "k", gcp_credentials)
    with pytest.raises(StorageError, match="already exists"):
        cloud_storage_create_bucket(gcs_bucket_name, gcp_credentials)
    with pytest.raises(ObjectNotFoundError):
        cloud_storage_download_blob_to_file(gcs_bucket_name, "absent", tmp_path / "x.bin", gcp_credentials)
    assert not (tmp_path / "x.bin").exists()


def test_async_tasks_as_in_prefect_gcp(gcs_server: Any, gcp_credentials: GcpCredentials, tmp_path: Path) -> None:
    """``from prefect_gcp.cloud_storage import acloud_storage_...`` only needs the import changed."""
    import asyncio

    from headwater import flow
    from headwater_gcs.cloud_storage import (
        acloud_storage_create_bucket,
        acloud_storage_download_blob_as_bytes,
        acloud_storage_download_blob_to_file,
        acloud_storage_upload_blob_from_file,
        acloud_storage_upload_blob_from_string,
    )

    src = tmp_path / "in.txt"
    src.write_bytes(b"file body")

    @flow
    async def pipeline() -> Any:
        bucket = await acloud_storage_create_bucket("tasks-async", gcp_credentials)
        first = await acloud_storage_upload_blob_from_string("text", bucket, "a/s.txt", gcp_credentials)
        second = await acloud_storage_upload_blob_from_file(src, bucket, "a/f.txt", gcp_credentials)
        path = await acloud_storage_download_blob_to_file(bucket, second, tmp_path / "out.txt", gcp_credentials)
        return first, second, path, await acloud_storage_download_blob_as_bytes(bucket, first, gcp_credentials)

    assert asyncio.run(pipeline()) == ("a/s.txt", "a/f.txt", tmp_path / "out.txt", b"text")
    assert gcs_server.read_object("tasks-async", "a/f.txt") == b"file body"
    assert (tmp_path / "out.txt").read_bytes() == b"file body"


def test_copy_to_a_missing_bucket_names_that_bucket(gcs_bucket_name: str, gcp_credentials: GcpCredentials,
                                                    gcs_server: Any) -> None:
    cloud_storage_upload_blob_from_string(b"x", gcs_bucket_name, "src.txt", gcp_credentials)
    with pytest.raises(ObjectNotFoundError) as caught:
        cloud_storage_copy_blob(gcs_bucket_name, "no-such-dest-bucket", "src.txt", gcp_credentials, dest_blob="d.txt")
    message = str(caught.value)
    assert "bucket 'no-such-dest-bucket' does not exist" in message
    assert "no object" not in message  # the source object is there; it was not the problem
    assert gcs_server.object_names(gcs_bucket_name) == ["src.txt"]
