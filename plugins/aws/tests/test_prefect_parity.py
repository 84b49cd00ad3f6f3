"""What code written for prefect-aws relies on, against moto's server: awaitable sync names in
async flows, botocore Config objects, verify rules, hashable credentials, Secrets Manager tasks,
``basepath=``, and ``except ClientError`` still catching Headwater's errors."""

from __future__ import annotations

import asyncio
import pickle
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError, NoCredentialsError
from headwater import Block, flow
from headwater.errors import BlockNotFoundError, ConfigError, ConnectionFailedError, ObjectNotFoundError
from headwater_aws import (
    AwsClientParameters,
    AwsCredentials,
    AwsSecret,
    MinIOCredentials,
    S3Bucket,
    SecretValueError,
    copy_objects,
    create_secret,
    delete_secret,
    list_objects,
    move_objects,
    read_secret,
    s3_download,
    s3_upload,
    update_secret,
)

from .conftest import SECRET_MARKER, credentials_for


def _sm(server: Any) -> Any:
    import boto3

    return boto3.session.Session().client("secretsmanager", endpoint_url=server.endpoint, region_name="us-east-1",
                                          aws_access_key_id="k", aws_secret_access_key="s")


# -- item 1: an async flow awaits every sync-named call -----------------------------------------


def test_async_flow_awaits_sync_named_block_methods_and_tasks(s3_server: Any, tmp_path: Path) -> None:
    name = s3_server.create_bucket()
    credentials_for(s3_server).save("aws")
    (tmp_path / "up.txt").write_bytes(b"from disk")
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "sub" / "t.txt").write_bytes(b"tree")
    secret_name = f"etl/parity-{uuid.uuid4().hex[:6]}"

    @flow
    async def etl() -> dict[str, Any]:
        creds = await AwsCredentials.load("aws")
        await S3Bucket(bucket_name=name, credentials=creds, bucket_folder="raw").save("raw")
        bucket = await Block.load("raw")
        await bucket.write_path("a.txt", b"hello")
        out: dict[str, Any] = {"read": await bucket.read_path("a.txt")}
        await bucket.upload_from_path(tmp_path / "up.txt", "up.txt")
        await bucket.download_object_to_path("up.txt", tmp_path / "down.txt")
        await bucket.copy_object("a.txt", "b.txt")
        await bucket.move_object("b.txt", "c.txt")
        await bucket.put_directory(str(tmp_path / "tree"), "tree")
        await bucket.get_directory("tree", str(tmp_path / "tree-copy"))
        out["listed"] = sorted(o["Key"] for o in await bucket.list_objects())
        await s3_upload(b"task bytes", name, creds, key="task/t.bin")
        out["task_read"] = await s3_download(name, "task/t.bin", creds)
        await copy_objects("task/t.bin", "task/copy.bin", name, creds)
        await move_objects("task/copy.bin", "task/moved.bin", name, creds)
        out["task_list"] = sorted(o["Key"] for o in await list_objects(name, creds, prefix="task/"))
        await create_secret(secret_name, "v1", creds)
        await update_secret(secret_name, b"v2", creds)
        out["secret"] = await read_secret(secret_name, creds)
        block = AwsSecret(secret_name=secret_name, aws_credentials=creds)
        await block.write_secret(b"v3")
        out["block_secret"] = await block.read_secret()
        out["deleted"] = await delete_secret(secret_name, creds, force_delete_without_recovery=True)
        await S3Bucket.delete("raw")
        return out

    out = asyncio.run(etl())
    assert out["read"] == b"hello"
    assert (tmp_path / "down.txt").read_bytes() == b"from disk"
    assert (tmp_path / "tree-copy" / "sub" / "t.txt").read_bytes() == b"tree"
    assert out["listed"] == ["raw/a.txt", "raw/c.txt", "raw/tree/sub/t.txt", "raw/up.txt"]
    assert out["task_read"] == b"task bytes"
    assert out["task_list"] == ["task/moved.bin", "task/t.bin"]
    assert s3_server.object_keys(name) == ["raw/a.txt", "raw/c.txt", "raw/tree/sub/t.txt", "raw/up.txt",
                                           "task/moved.bin", "task/t.bin"]
    assert out["secret"] == b"v2" and out["block_secret"] == b"v3"
    assert out["deleted"]["Name"] == secret_name
    with pytest.raises(BlockNotFoundError):
        S3Bucket.load("raw")


def test_sync_flow_gets_plain_values_and_sync_true_forces_them(s3_bucket: S3Bucket) -> None:
    @flow
    def sync_flow() -> bytes:
        s3_bucket.write_path("s.txt", b"sync")
        return s3_bucket.read_path("s.txt")

    async def main() -> tuple[Any, ...]:
        forced = s3_bucket.read_path("s.txt", _sync=True)
        return forced, s3_download(s3_bucket.bucket_name, "s.txt", s3_bucket.credentials, _sync=True)

    assert sync_flow() == b"sync"
    assert asyncio.run(main()) == (b"sync", b"sync")


# -- item 2: prefect-aws's client parameters and credentials -------------------------------------


def test_botocore_config_object_and_unsigned_read_of_a_public_object(s3_server: Any) -> None:
    name = s3_server.create_bucket()
    s3_server.client().put_object(Bucket=name, Key="pub/data.csv", Body=b"a,b\n1,2\n", ACL="public-read")
    anonymous = AwsCredentials(
        region_name="us-east-1",
        aws_client_parameters=AwsClientParameters(
            endpoint_url=s3_server.endpoint, config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1})
        ),
    )
    assert anonymous.aws_client_parameters.config == {"signature_version": "unsigned", "retries": {"max_attempts": 1}}
    assert S3Bucket(bucket_name=name, credentials=anonymous).read_path("pub/data.csv") == b"a,b\n1,2\n"
    # saved and loaded, the block still reads anonymously (the config is stored as JSON)
    S3Bucket(bucket_name=name, credentials=anonymous).save("public")
    assert S3Bucket.load("public").read_path("pub/data.csv") == b"a,b\n1,2\n"
    # the same without UNSIGNED has no credentials to sign with: botocore's error, also Headwater's
    signed = AwsCredentials(region_name="us-east-1",
                            aws_client_parameters=AwsClientParameters(endpoint_url=s3_server.endpoint))
    with pytest.raises(NoCredentialsError) as info:
        S3Bucket(bucket_name=name, credentials=signed).read_path("pub/data.csv")
    assert isinstance(info.value, ConnectionFailedError)
    assert "no usable AWS credentials" in str(info.value)


@pytest.mark.parametrize("config, message", [
    ({"s3": {"adressing_style": "path"}}, "unknown S3 option(s) 'adressing_style' in 's3'"),
    (Config(s3={"no_such": 1}), "unknown S3 option(s) 'no_such' in 's3'"),
    ({"signature_version": "s3v9"}, "unknown signature_version 's3v9'"),
])
def test_config_with_options_s3_does_not_know_is_one_clear_line(config: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        AwsClientParameters(config=config)
    text = str(info.value)
    assert text.startswith("invalid aws_client_parameters.config: ") and message in text and "\n" not in text


def test_cli_refuses_an_s3_option_s3_does_not_know_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from headwater.cli import main

    with pytest.raises(SystemExit) as info:
        main(["block", "create", "aws-credentials", "typo", "--set",
              'aws_client_parameters.config={"s3": {"adressing_style": "path"}}'])
    err = capsys.readouterr().err.strip()
    assert info.value.code != 0
    assert err.count("\n") == 0 and "unknown S3 option(s) 'adressing_style' in 's3'" in err
    with pytest.raises(BlockNotFoundError):
        AwsCredentials.load("typo")  # nothing half-written


def test_verify_combinations_warn_as_prefect_does() -> None:
    with pytest.warns(UserWarning, match="verify_cert_path will be ignored|verify_cert_path is ignored"):
        params = AwsClientParameters(verify=False, verify_cert_path="/etc/ssl/ca.pem")
    assert params.verify is False and params.verify_cert_path is None
    assert params.get_params_override()["verify"] is False
    with pytest.warns(DeprecationWarning, match="verify should be a boolean"):
        params = AwsClientParameters(verify="/etc/ssl/old.pem")
    assert params.get_params_override()["verify"] == "/etc/ssl/old.pem"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        params = AwsClientParameters(verify="/etc/ssl/old.pem", verify_cert_path="/etc/ssl/new.pem")
    assert {type(w.message) for w in caught} == {DeprecationWarning, UserWarning}
    assert params.get_params_override()["verify"] == "/etc/ssl/new.pem"


def test_credentials_are_hashable_and_equal_ones_hash_alike(s3_server: Any) -> None:
    a = credentials_for(s3_server)
    b = credentials_for(s3_server)
    other = AwsCredentials(aws_access_key_id="other", aws_secret_access_key=SECRET_MARKER)
    cache = {a: "client"}
    assert cache[b] == "client" and other not in cache
    m1 = MinIOCredentials(minio_root_user="u", minio_root_password=SECRET_MARKER,
                          aws_client_parameters={"config": Config(retries={"max_attempts": 2})})
    m2 = MinIOCredentials(minio_root_user="u", minio_root_password=SECRET_MARKER,
                          aws_client_parameters={"config": {"retries": {"max_attempts": 2}}})
    assert hash(m1) == hash(m2) and len({m1, m2}) == 1
    assert hash(m1) != hash(MinIOCredentials(minio_root_user="u", minio_root_password="another"))


def test_bucket_constructor_takes_basepath(s3_server: Any) -> None:
    name = s3_server.create_bucket()
    bucket = S3Bucket(bucket_name=name, credentials=credentials_for(s3_server), basepath="/runs/")
    assert bucket.bucket_folder == "runs"
    bucket.write_path("x.txt", b"x")
    assert s3_server.read_object(name, "runs/x.txt") == b"x"
    with pytest.raises(ConfigError, match="pass only one of them"):
        S3Bucket(bucket_name=name, basepath="a", bucket_folder="b")


# -- item 2: Secrets Manager tasks ----------------------------------------------------------------


def test_secrets_manager_tasks_in_a_flow(s3_server: Any) -> None:
    creds = credentials_for(s3_server)
    name = f"etl/task-{uuid.uuid4().hex[:6]}"

    @flow
    def manage() -> dict[str, Any]:
        created = create_secret(name, SECRET_MARKER, creds, description="parity", tags=[{"Key": "t", "Value": "1"}])
        first = read_secret(name, creds)
        updated = update_secret(name, b"binary-value", creds)
        second = read_secret(name, creds)
        deleted = delete_secret(name, creds, recovery_window_in_days=7)
        return {"created": created, "first": first, "updated": updated, "second": second, "deleted": deleted}

    out = manage()
    assert out["created"]["Name"] == name and out["created"]["ARN"].startswith("arn:aws:secretsmanager:")
    assert out["first"] == SECRET_MARKER and out["second"] == b"binary-value"
    assert out["updated"]["ARN"] == out["created"]["ARN"]
    assert out["deleted"]["Name"] == name and "DeletionDate" in out["deleted"]
    described = _sm(s3_server).describe_secret(SecretId=name)
    assert described["Description"] == "parity" and "DeletedDate" in described


def test_delete_secret_recovery_window_is_validated(s3_server: Any) -> None:
    creds = credentials_for(s3_server)
    name = f"etl/window-{uuid.uuid4().hex[:6]}"
    create_secret(name, "v", creds)
    for days in (6, 31):
        with pytest.raises(ValueError, match="between 7 and 30 days") as info:
            delete_secret(name, creds, recovery_window_in_days=days)
        assert isinstance(info.value, SecretValueError)
    assert _sm(s3_server).get_secret_value(SecretId=name)["SecretString"] == "v"  # nothing deleted
    # force deletes at once, whatever the window says (as prefect-aws's task)
    delete_secret(name, creds, recovery_window_in_days=90, force_delete_without_recovery=True)
    with pytest.raises(ClientError):
        _sm(s3_server).get_secret_value(SecretId=name)


# -- item 6: except clauses written for botocore still catch Headwater's errors --------------------


def test_headwater_errors_are_also_botocore_client_errors(s3_bucket: S3Bucket, s3_server: Any) -> None:
    with pytest.raises(ClientError) as info:
        s3_bucket.read_path("missing.txt")
    err = info.value
    assert isinstance(err, ObjectNotFoundError)
    assert err.response["Error"]["Code"] in ("NoSuchKey", "404")
    assert "missing.txt" in str(err) and "\n" not in str(err)
    again = pickle.loads(pickle.dumps(err))
    assert isinstance(again, ClientError) and isinstance(again, ObjectNotFoundError) and str(again) == str(err)

    creds = credentials_for(s3_server)
    with pytest.raises(ClientError) as info:
        read_secret(f"etl/absent-{uuid.uuid4().hex[:6]}", creds)
    assert isinstance(info.value, ObjectNotFoundError)
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError):
        AwsSecret(secret_name="etl/absent-block", aws_credentials=creds).read_secret()
