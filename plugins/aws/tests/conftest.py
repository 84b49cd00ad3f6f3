"""Fixtures: every test gets an isolated HEADWATER_HOME; S3 tests use real servers on 127.0.0.1."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from headwater_aws import AwsClientParameters, AwsCredentials, S3Bucket

SECRET_MARKER = "hw-aws-test-secret-4b1d"


@pytest.fixture(autouse=True)
def _isolated_home(headwater_home: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never probe an instance metadata service
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return headwater_home


def credentials_for(server: Any, **params: Any) -> AwsCredentials:
    """Credentials for a test server, with quick failure (one retry, short timeouts)."""
    config = {"retries": {"max_attempts": 2, "mode": "standard"}, "connect_timeout": 3, "read_timeout": 30}
    return AwsCredentials(
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        region_name=server.region,
        aws_client_parameters=AwsClientParameters(endpoint_url=server.endpoint, config={**config, **params}),
    )


@pytest.fixture
def aws_credentials(s3_server: Any) -> AwsCredentials:
    return credentials_for(s3_server)


@pytest.fixture
def s3_bucket(s3_endpoint: Any) -> S3Bucket:
    """A fresh bucket on each S3 server in turn (moto, SeaweedFS), as an S3Bucket block."""
    return S3Bucket(bucket_name=s3_endpoint.create_bucket(), credentials=credentials_for(s3_endpoint))


def make_tree(root: Path, files: int = 12, size: int = 300) -> dict[str, bytes]:
    """Write ``files`` files in nested folders under ``root``; return {relative posix path: bytes}."""
    contents = {}
    for i in range(files):
        rel = f"d{i % 3}/sub{i % 2}/f{i}.bin" if i % 4 else f"top{i}.bin"
        data = os.urandom(size + i)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        contents[rel] = data
    return contents


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
