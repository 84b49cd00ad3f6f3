"""AwsSecret and the aws-secrets-manager secret backend, against moto's Secrets Manager."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from headwater.errors import ObjectNotFoundError, SecretBackendError
from headwater.settings import reset_settings
from headwater_aws import AwsClientParameters, AwsCredentials, AwsSecret, S3Bucket

from .conftest import SECRET_MARKER, credentials_for


def _sm(server: Any) -> Any:
    import boto3

    return boto3.session.Session().client("secretsmanager", endpoint_url=server.endpoint, region_name="us-east-1",
                                          aws_access_key_id="k", aws_secret_access_key="s")


def test_aws_secret_write_read_delete(s3_server: Any) -> None:
    secret = AwsSecret(secret_name=f"etl/token-{uuid.uuid4().hex[:6]}", aws_credentials=credentials_for(s3_server))
    with pytest.raises(ObjectNotFoundError, match="does not exist"):
        secret.read_secret()
    arn = secret.write_secret(b"first")
    assert arn.startswith("arn:aws:secretsmanager:")
    assert secret.write_secret(b"second") == arn
    assert secret.read_secret() == b"second"
    assert bytes(_sm(s3_server).get_secret_value(SecretId=secret.secret_name)["SecretBinary"]) == b"second"
    assert secret.delete_secret(force_delete_without_recovery=True) == arn
    with pytest.raises(ObjectNotFoundError):
        secret.read_secret()
    with pytest.raises(ValueError, match="between 7 and 30"):
        secret.delete_secret(recovery_window_in_days=3)


@pytest.fixture
def aws_backend(s3_server: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    prefix = f"hw-test-{uuid.uuid4().hex[:6]}/"
    monkeypatch.setenv("HEADWATER_SECRETS_BACKEND", "aws-secrets-manager")
    monkeypatch.setenv("HEADWATER_AWS_SECRETS_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.setenv("HEADWATER_AWS_SECRETS_PREFIX", prefix)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "hwtest")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hwtest-secret")
    reset_settings()
    return prefix


def test_block_secrets_live_in_secrets_manager_not_the_store(aws_backend: str, s3_server: Any,
                                                             headwater_home: Any) -> None:
    creds = AwsCredentials(aws_access_key_id="AKIAHW", aws_secret_access_key=SECRET_MARKER, region_name="us-east-1",
                           aws_client_parameters=AwsClientParameters(endpoint_url=s3_server.endpoint))
    S3Bucket(bucket_name="raw", credentials=creds).save("raw")
    listed = _sm(s3_server).list_secrets(Filters=[{"Key": "name", "Values": [aws_backend]}])["SecretList"]
    assert [s["Name"] for s in listed] and all(s["Name"].startswith(aws_backend) for s in listed)
    [entry] = listed
    assert entry["Name"].endswith("/credentials.aws_secret_access_key")
    assert _sm(s3_server).get_secret_value(SecretId=entry["Name"])["SecretString"] == SECRET_MARKER
    blob = b"".join(p.read_bytes() for p in headwater_home.glob("headwater.db*") if p.is_file())
    assert SECRET_MARKER.encode() not in blob
    loaded = S3Bucket.load("raw")
    assert loaded.credentials.aws_secret_access_key.get_secret_value() == SECRET_MARKER
    S3Bucket.delete("raw")
    assert _sm(s3_server).list_secrets(Filters=[{"Key": "name", "Values": [aws_backend]}])["SecretList"] == []


def test_backend_describes_its_configuration(aws_backend: str, s3_server: Any) -> None:
    from headwater.blocks.secrets import get_secret_backend

    text = get_secret_backend().describe()
    assert aws_backend in text and s3_server.endpoint in text and "us-east-1" in text


def test_unreachable_secrets_endpoint_is_one_clear_error(aws_backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from headwater.testing import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("HEADWATER_AWS_SECRETS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    reset_settings()
    with pytest.raises(SecretBackendError) as info:
        AwsCredentials(aws_secret_access_key=SECRET_MARKER).save("c")
    assert endpoint in str(info.value) and "HEADWATER_AWS_SECRETS_ENDPOINT_URL" in str(info.value)
    assert SECRET_MARKER not in str(info.value)


def test_bad_backend_configuration_is_refused(aws_backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from headwater.errors import ConfigError

    monkeypatch.setenv("HEADWATER_AWS_SECRETS_RECOVERY_DAYS", "3")
    reset_settings()
    with pytest.raises(ConfigError, match="HEADWATER_AWS_SECRETS_RECOVERY_DAYS"):
        AwsCredentials(aws_secret_access_key=SECRET_MARKER).save("c")
