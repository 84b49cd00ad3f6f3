"""Fixtures: every test gets an isolated HEADWATER_HOME; GCS tests use the session's fake-gcs-server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from headwater_gcs import GcpCredentials, GcsBucket

PRIVATE_KEY_MARKER = "hw-gcs-test-private-key-id-9f3a"


@pytest.fixture(autouse=True)
def _isolated_home(headwater_home: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # google.auth.default must not probe a metadata server
    return headwater_home


@pytest.fixture(scope="session")
def service_account_info() -> dict[str, str]:
    """A well-formed service-account key with a real (freshly generated) RSA private key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "hw-test-project",
        "private_key_id": PRIVATE_KEY_MARKER,
        "private_key": pem,
        "client_email": "etl@hw-test-project.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


@pytest.fixture
def service_account_file(tmp_path: Path, service_account_info: dict[str, str]) -> Path:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(service_account_info))
    return path


@pytest.fixture
def gcp_credentials(gcs_server: Any) -> GcpCredentials:
    return GcpCredentials(endpoint=gcs_server.endpoint, retry_timeout=5)


@pytest.fixture
def gcs_bucket(gcs_bucket_name: str, gcp_credentials: GcpCredentials) -> GcsBucket:
    return GcsBucket(bucket=gcs_bucket_name, gcp_credentials=gcp_credentials)


def make_tree(root: Path, files: int = 12, size: int = 300) -> dict[str, bytes]:
    """Write ``files`` files in nested folders under ``root``; return {relative posix path: bytes}."""
    import os

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
