"""What code written for prefect-gcp relies on, against fake-gcs-server: awaitable sync names in
async flows, ``SecretDict(secret_value=...)``, GcpCredentials' dump, and ``except`` clauses for
google-api-core's errors still catching Headwater's."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path
from typing import Any

import pytest
from google.api_core.exceptions import GoogleAPICallError, NotFound
from headwater import Block, flow
from headwater.blocks import SecretDict
from headwater.errors import ObjectNotFoundError
from headwater_gcs import (
    GcpCredentials,
    GcsBucket,
    cloud_storage_create_bucket,
    cloud_storage_download_blob_as_bytes,
    cloud_storage_download_blob_to_file,
    cloud_storage_upload_blob_from_file,
    cloud_storage_upload_blob_from_string,
)

from .conftest import PRIVATE_KEY_MARKER


def test_async_flow_awaits_sync_named_block_methods_and_tasks(gcs_server: Any, tmp_path: Path) -> None:
    creds = GcpCredentials(endpoint=gcs_server.endpoint, retry_timeout=5)
    name = gcs_server.create_bucket()
    (tmp_path / "up.txt").write_bytes(b"from disk")
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "sub" / "t.txt").write_bytes(b"tree")
    new_bucket = f"{name}-new"

    @flow
    async def etl() -> dict[str, Any]:
        await creds.save("gcp")
        loaded = await GcpCredentials.load("gcp")
        await GcsBucket(bucket=name, gcp_credentials=loaded, bucket_folder="raw").save("raw")
        bucket = await Block.load("raw")
        out: dict[str, Any] = {"bucket": (await bucket.get_bucket()).name}
        await bucket.write_path("a.txt", b"hello")
        out["read"] = await bucket.read_path("a.txt")
        await bucket.upload_from_path(tmp_path / "up.txt", "up.txt")
        await bucket.download_object_to_path("up.txt", tmp_path / "down.txt")
        await bucket.put_directory(str(tmp_path / "tree"), "tree")
        await bucket.get_directory("tree", str(tmp_path / "tree-copy"))
        out["blobs"] = sorted(b.name for b in await bucket.list_blobs())
        out["folders"] = await bucket.list_folders()
        out["objects"] = len(await bucket.list_objects())
        await cloud_storage_create_bucket(new_bucket, loaded)
        await cloud_storage_upload_blob_from_string("task text", new_bucket, "t/s.txt", loaded)
        await cloud_storage_upload_blob_from_file(tmp_path / "up.txt", new_bucket, "t/f.txt", loaded)
        out["task_read"] = await cloud_storage_download_blob_as_bytes(new_bucket, "t/s.txt", loaded)
        await cloud_storage_download_blob_to_file(new_bucket, "t/f.txt", tmp_path / "task-down.txt", loaded)
        await GcsBucket.delete("raw")
        return out

    out = asyncio.run(etl())
    assert out["bucket"] == name and out["read"] == b"hello"
    assert out["blobs"] == ["raw/a.txt", "raw/tree/sub/t.txt", "raw/up.txt"]
    assert out["objects"] == 3 and out["folders"] == ["tree", "tree/sub"]
    assert (tmp_path / "down.txt").read_bytes() == b"from disk"
    assert (tmp_path / "tree-copy" / "sub" / "t.txt").read_bytes() == b"tree"
    assert out["task_read"] == b"task text"
    assert (tmp_path / "task-down.txt").read_bytes() == b"from disk"
    assert gcs_server.read_object(new_bucket, "t/s.txt") == b"task text"


def test_sync_true_forces_values_inside_a_loop(gcs_bucket: GcsBucket) -> None:
    async def main() -> tuple[Any, ...]:
        gcs_bucket.write_path("s.txt", b"sync", _sync=True)
        return gcs_bucket.read_path("s.txt", _sync=True), cloud_storage_download_blob_as_bytes(
            gcs_bucket.bucket, "s.txt", gcs_bucket.gcp_credentials, _sync=True)

    assert asyncio.run(main()) == (b"sync", b"sync")


def test_secret_dict_takes_secret_value(service_account_info: dict[str, str]) -> None:
    creds = GcpCredentials(service_account_info=SecretDict(secret_value=service_account_info), project="p")
    assert creds.service_account_info is not None
    assert creds.service_account_info.get_secret_value() == service_account_info
    assert SecretDict(service_account_info) == SecretDict(secret_value=service_account_info)
    assert PRIVATE_KEY_MARKER not in repr(creds)
    with pytest.raises(TypeError, match="give the value once"):
        SecretDict(service_account_info, secret_value=service_account_info)


def test_credentials_dump_has_prefect_keys_unless_headwater_fields_are_set(
    service_account_info: dict[str, str],
) -> None:
    plain = GcpCredentials(service_account_info=service_account_info, project="p")
    assert set(plain.model_dump()) == {"service_account_file", "service_account_info", "project"}
    assert set(plain.model_dump(mode="json")) == {"service_account_file", "service_account_info", "project"}
    assert PRIVATE_KEY_MARKER not in plain.model_dump_json()
    custom = GcpCredentials(endpoint="http://127.0.0.1:4443", retry_timeout=5)
    assert custom.model_dump()["endpoint"] == "http://127.0.0.1:4443"
    assert custom.model_dump()["retry_timeout"] == 5
    # the store keeps every field all the same
    custom.save("custom")
    assert GcpCredentials.load("custom").retry_timeout == 5


def test_headwater_errors_are_also_google_api_errors(gcs_bucket: GcsBucket) -> None:
    with pytest.raises(NotFound) as info:
        gcs_bucket.read_path("missing.txt")
    err = info.value
    assert isinstance(err, ObjectNotFoundError) and isinstance(err, GoogleAPICallError)
    assert err.code == 404
    assert "missing.txt" in str(err) and "\n" not in str(err)
    again = pickle.loads(pickle.dumps(err))
    assert isinstance(again, NotFound) and isinstance(again, ObjectNotFoundError) and str(again) == str(err)
    with pytest.raises(NotFound):
        cloud_storage_download_blob_as_bytes(gcs_bucket.bucket, "missing.txt", gcs_bucket.gcp_credentials)


def test_missing_default_credentials_is_also_google_auths_error(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from google.auth.exceptions import DefaultCredentialsError
    from headwater.errors import ConfigError

    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))  # no gcloud login either
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    with pytest.raises(DefaultCredentialsError) as info:
        GcpCredentials().get_credentials_from_service_account()
    assert isinstance(info.value, ConfigError)
    assert str(info.value).startswith("no Google Cloud credentials found: ")
