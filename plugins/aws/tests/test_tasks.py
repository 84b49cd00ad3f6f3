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
    keys = [o["Key"] for o in list_objects(s3_bucket_name, creds, prefix="a/")]
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


def test_async_tasks_and_older_names_as_in_prefect_aws(s3_server: Any, s3_bucket_name: str) -> None:
    """``from prefect_aws.s3 import aupload_to_bucket, s3_upload, ...`` only needs the import changed."""
    import asyncio

    from headwater_aws.s3 import (
        acopy_objects,
        adownload_from_bucket,
        alist_objects,
        amove_objects,
        aupload_to_bucket,
        s3_copy,
        s3_download,
        s3_list_objects,
        s3_move,
        s3_upload,
    )

    creds = credentials_for(s3_server)

    @flow
    async def pipeline() -> Any:
        key = await aupload_to_bucket(b"async", s3_bucket_name, creds, key="in/a.txt")
        copied = await acopy_objects(key, "copied/a.txt", s3_bucket_name, creds)
        moved = await amove_objects(copied, "moved/a.txt", s3_bucket_name, creds)
        listed = [o["Key"] for o in await alist_objects(s3_bucket_name, creds, prefix="")]
        return key, moved, listed, await adownload_from_bucket(s3_bucket_name, moved, creds)

    assert asyncio.run(pipeline()) == ("in/a.txt", "moved/a.txt", ["in/a.txt", "moved/a.txt"], b"async")
    assert s3_server.read_object(s3_bucket_name, "moved/a.txt") == b"async"
    assert s3_server.read_object(s3_bucket_name, "copied/a.txt") is None

    assert s3_upload(b"old", s3_bucket_name, creds, key="old.txt") == "old.txt"
    assert s3_download(s3_bucket_name, "old.txt", creds) == b"old"
    assert s3_copy("old.txt", "old2.txt", s3_bucket_name, creds) == "old2.txt"
    assert s3_move("old2.txt", "old3.txt", s3_bucket_name, creds) == "old3.txt"
    assert [o["Key"] for o in s3_list_objects(s3_bucket_name, creds, prefix="old")] == ["old.txt", "old3.txt"]
