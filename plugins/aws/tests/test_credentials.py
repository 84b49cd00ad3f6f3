"""AwsCredentials / MinIOCredentials: sessions, the shared client cache, assumed roles, lazy boto3."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest
from headwater.errors import ConfigError, ConnectionFailedError
from headwater_aws import AwsClientParameters, AwsCredentials, ClientType, MinIOCredentials, S3Bucket
from pydantic import SecretStr

from .conftest import SECRET_MARKER, credentials_for


def test_plugin_load_and_import_do_not_import_boto3() -> None:
    code = (
        "import sys, headwater_aws\n"
        "from headwater.plugins import load_plugins, block_type_registry, secret_backend_factories\n"
        "load_plugins(); reg = block_type_registry()\n"
        "assert {'aws-credentials', 'minio-credentials', 's3-bucket', 'aws-secret'} <= set(reg), sorted(reg)\n"
        "assert 'aws-secrets-manager' in secret_backend_factories()\n"
        "S3 = headwater_aws.S3Bucket; headwater_aws.AwsCredentials(region_name='x')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 's3transfer')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_client_is_cached_per_credentials_and_shared_across_threads(s3_server: Any) -> None:
    creds = credentials_for(s3_server)
    same = credentials_for(s3_server)
    other = creds.model_copy(update={"region_name": "eu-west-1"})
    clients: list[Any] = []
    barrier = threading.Barrier(8)

    def grab() -> None:
        barrier.wait()
        clients.append(creds.get_s3_client())

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in clients}) == 1
    assert same.get_s3_client() is clients[0]
    assert other.get_s3_client() is not clients[0]
    assert creds.get_client(ClientType.S3) is clients[0]
    assert creds.get_client("secretsmanager") is not clients[0]
    assert clients[0].list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_changed_secret_gets_a_new_client(s3_server: Any) -> None:
    creds = credentials_for(s3_server)
    changed = creds.model_copy(
        update={"aws_secret_access_key": SecretStr(creds.aws_secret_access_key.get_secret_value() + "x")}
    )
    assert changed.get_s3_client() is not creds.get_s3_client()


def test_client_parameters_reach_the_client(s3_server: Any) -> None:
    creds = credentials_for(s3_server, max_pool_connections=33)
    client = creds.get_s3_client()
    assert client.meta.endpoint_url == s3_server.endpoint
    assert client.meta.config.max_pool_connections == 33
    assert client.meta.region_name == s3_server.region


def test_bad_client_config_is_one_clear_error_at_construction() -> None:
    with pytest.raises(ConfigError, match="aws_client_parameters.config: unknown botocore option.*'no_such_option'"):
        AwsCredentials(aws_client_parameters=AwsClientParameters(config={"no_such_option": 1}))


def test_contradictory_verify_settings_warn_and_verify_false_wins() -> None:
    # prefect-aws's rule (see test_prefect_parity): a warning, not a refusal
    with pytest.warns(UserWarning, match="verify_cert_path is ignored"):
        creds = AwsCredentials(aws_client_parameters={"verify": False, "verify_cert_path": "/etc/ssl/ca.pem"})
    assert creds.aws_client_parameters.get_params_override()["verify"] is False


def test_minio_credentials_talk_to_the_server(s3_server: Any) -> None:
    creds = MinIOCredentials(minio_root_user="minio", minio_root_password=SECRET_MARKER,
                             aws_client_parameters=AwsClientParameters(endpoint_url=s3_server.endpoint))
    bucket = S3Bucket(bucket_name=s3_server.create_bucket(), credentials=creds)
    bucket.write_path("x.txt", b"minio")
    assert s3_server.read_object(bucket.bucket_name, "x.txt") == b"minio"


def test_assume_role_uses_the_roles_temporary_credentials(s3_server: Any) -> None:
    creds = credentials_for(s3_server).model_copy(update={
        "assume_role_arn": "arn:aws:iam::123456789012:role/etl",
        "assume_role_kwargs": {"RoleSessionName": "hw-test", "DurationSeconds": 900},
    })
    session = creds.get_boto3_session()
    frozen = session.get_credentials().get_frozen_credentials()
    assert frozen.access_key != s3_server.access_key_id
    assert frozen.token
    identity = session.client("sts", endpoint_url=s3_server.endpoint).get_caller_identity()
    assert "assumed-role/etl/hw-test" in identity["Arn"]
    bucket = S3Bucket(bucket_name=s3_server.create_bucket(), credentials=creds)
    bucket.write_path("k", b"via role")
    assert bucket.read_path("k") == b"via role"


def test_assume_role_failure_names_the_role_and_endpoint() -> None:
    creds = AwsCredentials(aws_access_key_id="AKIAX", aws_secret_access_key=SECRET_MARKER, region_name="us-east-1",
                           assume_role_arn="arn:aws:iam::123456789012:role/etl",
                           aws_client_parameters=AwsClientParameters(
                               endpoint_url="http://127.0.0.1:9",
                               config={"retries": {"max_attempts": 1}, "connect_timeout": 1}))
    with pytest.raises(ConnectionFailedError) as info:
        creds.get_boto3_session()
    assert "role/etl" in str(info.value) and "127.0.0.1:9" in str(info.value)
    assert SECRET_MARKER not in str(info.value)


def test_saved_credentials_load_into_a_bucket_by_reference(s3_server: Any) -> None:
    creds = credentials_for(s3_server)
    creds.save("moto")
    S3Bucket(bucket_name=s3_server.create_bucket(), credentials=AwsCredentials.load("moto"), bucket_folder="f").save(
        "raw"
    )
    bucket = S3Bucket.load("raw")
    assert bucket.credentials == creds
    bucket.write_path("a.txt", b"ok")
    assert s3_server.read_object(bucket.bucket_name, "f/a.txt") == b"ok"
