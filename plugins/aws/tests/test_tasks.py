"""The prefect-aws style S3 tasks, standalone and inside a flow (each call a task run)."""

from __future__ import annotations

from typing import Any

import pytest
from headwater import flow
from headwater.errors import ObjectNotFoundError
from headwater_aws import (
    AwsClientParameters,
    AwsCredentials,
    copy_objects,
    download_from_bucket,
    list_objects,
    move_objects,
    upload_to_bucket,
)

from .conftest import credentials_for


def test_tasks_standalone(s3_server: Any, s3_bucket_name: str) -> None:
    creds = credentials_for(s3_server)
    assert upload_to_bucket(b"one", s3_bucket_name, creds, key="a/one.txt") == "a/one.txt"
    generated = upload_to_bucket(b"two", s3_bucket_name, creds)
    assert s3_server.read_object(s3_bucket_name, generated) == b"two"
    assert download_from_bucket(s3_bucket_name, "a/one.txt", creds) == b"one"
    assert copy_objects("a/one.txt", "b/one.txt", s3_bucket_name, creds) == "b/one.txt"
    other = s3_server.create_bucket()
    assert move_objects("b/one.txt", "moved.txt", s3_bucket_name, creds, target_bucket_name=other) == "moved.txt"
    assert s3_server.object_keys(other) == ["moved.txt"]
    keys = [o["Key"] for o in list_objects(s3_bucket_name, creds, prefix="a")]
    assert keys == ["a/one.txt"]
    assert list_objects(s3_bucket_name, creds, jmespath_query="Contents[].Size") == [3, 3]
    assert len(list_objects(s3_bucket_name, creds, page_size=1, max_items=1)) == 1
    with pytest.raises(ObjectNotFoundError, match="b/one.txt"):
        download_from_bucket(s3_bucket_name, "b/one.txt", creds)


def test_client_parameters_argument_overrides_the_credentials(s3_server: Any, s3_bucket_name: str) -> None:
    creds = AwsCredentials(aws_access_key_id="k", aws_secret_access_key="s3cr3t-value", region_name="us-east-1")
    params = AwsClientParameters(endpoint_url=s3_server.endpoint)
    upload_to_bucket(b"via params", s3_bucket_name, creds, aws_client_parameters=params, key="p.txt")
    assert download_from_bucket(s3_bucket_name, "p.txt", creds, aws_client_parameters=params) == b"via params"


def test_tasks_inside_a_flow_are_task_runs(s3_server: Any, s3_bucket_name: str) -> None:
    creds = credentials_for(s3_server)

    @flow
    def pipeline(bucket: str) -> list[str]:
        upload_to_bucket(b"x", bucket, creds, key="in/x.txt")
        futures = [copy_objects.submit("in/x.txt", f"out/{i}.txt", bucket, creds) for i in range(3)]
        return [f.result() for f in futures]

    state = pipeline(s3_bucket_name, return_state=True)
    assert state.is_completed(), state
    assert sorted(state.result()) == ["out/0.txt", "out/1.txt", "out/2.txt"]
    assert s3_server.object_keys(s3_bucket_name, "out/") == ["out/0.txt", "out/1.txt", "out/2.txt"]
