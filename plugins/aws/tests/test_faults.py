"""Bad input and faults: one clear error naming bucket, key and endpoint; nothing half-written."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from headwater.errors import (
    BlockValidationError,
    ConnectionFailedError,
    ObjectNotFoundError,
    StorageError,
    TransferError,
)
from headwater.testing import free_port
from headwater.testing.s3 import SEAWEEDFS_SKIP_REASON, MotoServer, SeaweedFsServer, seaweedfs_binary
from headwater_aws import AwsClientParameters, AwsCredentials, S3Bucket

from .conftest import SECRET_MARKER, credentials_for, make_tree

MiB = 1024 * 1024


def test_missing_key_names_key_bucket_and_endpoint(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFoundError) as info:
        s3_bucket.read_path("no/such.txt")
    message = str(info.value)
    assert "no/such.txt" in message and s3_bucket.bucket_name in message
    assert s3_bucket.credentials.aws_client_parameters.endpoint_url in message
    with pytest.raises(ObjectNotFoundError, match="no/such.txt"):
        s3_bucket.download_object_to_path("no/such.txt", tmp_path / "x.txt")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ObjectNotFoundError, match="no objects under"):
        s3_bucket.download_folder_to_path("empty", tmp_path / "d")
    with pytest.raises(ObjectNotFoundError, match="no/such.txt"):
        s3_bucket.copy_object("no/such.txt", "elsewhere.txt")


def test_missing_bucket_says_the_bucket_does_not_exist(s3_server: Any) -> None:
    bucket = S3Bucket(bucket_name="hw-never-created", credentials=credentials_for(s3_server))
    for call in (lambda: bucket.read_path("k.txt"), bucket.check, lambda: bucket.list_objects(),
                 lambda: bucket.write_path("k.txt", b"x")):
        with pytest.raises(ObjectNotFoundError) as info:
            call()
        assert "bucket 'hw-never-created' does not exist" in str(info.value)
        assert s3_server.endpoint in str(info.value)


def test_unreachable_endpoint_is_a_connection_error(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    creds = AwsCredentials(aws_access_key_id="AKIAHWTEST", aws_secret_access_key=SECRET_MARKER, region_name="us-east-1",
                           aws_client_parameters=AwsClientParameters(
                               endpoint_url=endpoint, config={"retries": {"max_attempts": 1}, "connect_timeout": 1}))
    bucket = S3Bucket(bucket_name="raw", credentials=creds)
    with pytest.raises(ConnectionFailedError) as info:
        bucket.read_path("a.txt")
    assert endpoint in str(info.value) and "s3://raw/a.txt" in str(info.value)
    assert SECRET_MARKER not in str(info.value)
    with pytest.raises(ConnectionFailedError, match="cannot be reached"):
        bucket.check()
    make_tree(tmp_path / "src", files=3)
    with pytest.raises(TransferError, match="0 of 3 file"):
        bucket.upload_from_folder(tmp_path / "src")


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(BlockValidationError, match="max_concurrency"):
        S3Bucket(bucket_name="b", max_concurrency=0)
    with pytest.raises(BlockValidationError, match="multipart_chunksize"):
        S3Bucket(bucket_name="b", multipart_chunksize=1024)


@pytest.fixture(scope="module")
def authenticating_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto server that checks access keys against its IAM users (none exist)."""
    from headwater.testing.s3 import MOTO_SKIP_REASON, moto_available

    if not moto_available():
        pytest.skip(MOTO_SKIP_REASON)
    server = MotoServer(tmp_path_factory.mktemp("moto-auth") / "server.log", env={"INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    server.start()
    yield server
    server.stop()


def test_wrong_credentials_are_refused_clearly_without_the_secret(authenticating_moto: MotoServer) -> None:
    creds = credentials_for(authenticating_moto).model_copy(update={"aws_access_key_id": "AKIAWRONGKEY000"})
    creds = AwsCredentials.model_validate({**creds.model_dump(), "aws_secret_access_key": SECRET_MARKER})
    bucket = S3Bucket(bucket_name="raw-data", credentials=creds)
    for call in (bucket.check, lambda: bucket.read_path("a/b.txt")):
        with pytest.raises(ConnectionFailedError) as info:
            call()
        message = str(info.value)
        assert "refused the credentials" in message and "raw-data" in message
        assert authenticating_moto.endpoint in message
        assert SECRET_MARKER not in message and "AKIAWRONGKEY000" not in message


def test_server_dying_mid_folder_upload_reports_what_was_transferred(tmp_path: Path) -> None:
    server = MotoServer(tmp_path / "moto.log").start()
    try:
        bucket = S3Bucket(bucket_name=server.create_bucket(), max_concurrency=4,
                          credentials=credentials_for(server, retries={"max_attempts": 1}, connect_timeout=1))
        make_tree(tmp_path / "src", files=60)
        done = [0]

        def kill_after_ten(nbytes: int) -> None:
            done[0] += 1
            if done[0] == 10:
                server.stop()

        with pytest.raises(TransferError) as info:
            bucket.upload_from_folder(tmp_path / "src", "out", progress=kill_after_ten)
    finally:
        server.stop()
    error = info.value
    message = str(error)
    assert "of 60 file(s) transferred" in message and "not transferred:" in message and "failed:" in message
    assert 10 <= len(error.transferred) < 60  # type: ignore[attr-defined]
    assert len(error.transferred) + len(error.failed) + len(error.not_transferred) == 60  # type: ignore[attr-defined]
    assert f"{len(error.transferred)} of 60" in message  # type: ignore[attr-defined]


def test_failed_multipart_upload_is_aborted_leaving_nothing(s3_bucket: S3Bucket, s3_endpoint: Any) -> None:
    bucket = s3_bucket.model_copy(update={"multipart_threshold": 5 * MiB, "multipart_chunksize": 5 * MiB})

    class BreaksMidway(io.BytesIO):
        def read(self, size: int = -1) -> bytes:
            if self.tell() >= 6 * MiB:
                raise OSError("disk read error")
            return super().read(size)

    with pytest.raises(StorageError) as info:
        bucket.upload_from_file_object(BreaksMidway(os.urandom(12 * MiB)), "partial.bin")
    assert "partial.bin" in str(info.value)
    assert s3_endpoint.read_object(bucket.bucket_name, "partial.bin") is None
    assert s3_endpoint.multipart_uploads(bucket.bucket_name) == []


def test_server_killed_mid_multipart_upload_leaves_no_object(tmp_path: Path) -> None:
    if seaweedfs_binary() is None:
        pytest.skip(SEAWEEDFS_SKIP_REASON)
    server = SeaweedFsServer(tmp_path / "weed").start()
    try:
        name = server.create_bucket()
        bucket = S3Bucket(bucket_name=name, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB,
                          credentials=credentials_for(server, retries={"max_attempts": 1}, connect_timeout=1,
                                                      read_timeout=5))
        (tmp_path / "big.bin").write_bytes(os.urandom(20 * MiB))
        sent = [0]

        def kill_after_first_part(nbytes: int) -> None:
            sent[0] += nbytes
            if sent[0] >= 5 * MiB:
                server.stop()

        with pytest.raises(TransferError) as info:
            bucket.upload_from_path(tmp_path / "big.bin", "big.bin", progress=kill_after_first_part)
        message = str(info.value)
        assert "multipart upload" in message and f"of {20 * MiB} bytes" in message and "big.bin" in message
        assert "no object was written" in message
        assert "abort_incomplete_uploads()" in message  # the server was gone: the abort could not be sent
        restarted = SeaweedFsServer(tmp_path / "weed", ports=server.ports).start()
        try:
            assert restarted.read_object(name, "big.bin") is None
            assert restarted.object_keys(name) == []
            assert len(restarted.multipart_uploads(name)) == 1
            assert bucket.abort_incomplete_uploads() == 1
            assert restarted.multipart_uploads(name) == []
        finally:
            restarted.stop()
    finally:
        server.stop()


def test_credentials_check_lists_buckets_on_an_s3_endpoint(s3_endpoint: Any) -> None:
    """Against each S3 server (moto, SeaweedFS): AwsCredentials and MinIOCredentials alike."""
    from headwater_aws import MinIOCredentials

    credentials_for(s3_endpoint).check()
    MinIOCredentials(minio_root_user=s3_endpoint.access_key_id, minio_root_password=s3_endpoint.secret_access_key,
                     aws_client_parameters=AwsClientParameters(endpoint_url=s3_endpoint.endpoint)).check()
    endpoint = f"http://127.0.0.1:{free_port()}"
    creds = AwsCredentials(aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key=SECRET_MARKER,
                           region_name="us-east-1",
                           aws_client_parameters=AwsClientParameters(endpoint_url=endpoint,
                                                                     config={"retries": {"max_attempts": 1}}))
    with pytest.raises(ConnectionFailedError) as info:
        creds.check()
    assert str(info.value).startswith(f"cannot check the credentials against S3 (endpoint {endpoint}): "
                                      "the endpoint cannot be reached")


def test_credentials_check_asks_sts_on_aws(s3_server: Any, authenticating_moto: MotoServer,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """No endpoint_url: STS GetCallerIdentity (botocore's AWS_ENDPOINT_URL_STS points it at moto)."""
    from headwater_aws.credentials import clear_client_cache

    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", s3_server.endpoint)
    clear_client_cache()
    good = AwsCredentials(aws_access_key_id=s3_server.access_key_id, aws_secret_access_key=s3_server.secret_access_key,
                          region_name=s3_server.region)
    good.check()
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", authenticating_moto.endpoint)
    clear_client_cache()
    wrong = AwsCredentials(aws_access_key_id="AKIAWRONGKEY000", aws_secret_access_key=SECRET_MARKER,
                           region_name=authenticating_moto.region)
    with pytest.raises(ConnectionFailedError) as info:
        wrong.check()
    message = str(info.value)
    assert message.startswith("cannot check the credentials against AWS STS (endpoint AWS "
                              f"{authenticating_moto.region}): "
                              "the endpoint refused the credentials")
    assert SECRET_MARKER not in message and "AKIAWRONGKEY000" not in message
    clear_client_cache()


def test_bucket_names_and_client_config_are_checked_at_construction() -> None:
    from headwater.errors import ConfigError

    for name in ("", "../../etc passwd", "Has_Upper", "x" * 64, "192.168.1.1"):
        with pytest.raises(BlockValidationError, match="bucket_name"):
            S3Bucket(bucket_name=name)
    with pytest.raises(ConfigError, match="retriez"):
        AwsCredentials(aws_client_parameters=AwsClientParameters(config={"retriez": {"max_attempts": 1}}))
    assert AwsClientParameters(config={"retries": {"max_attempts": 1}}).config == {"retries": {"max_attempts": 1}}
