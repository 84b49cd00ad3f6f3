"""The core conformance suite for every block type of headwater-aws."""

from __future__ import annotations

from headwater.testing import BlockConformanceSuite
from headwater_aws import AwsClientParameters, AwsCredentials, AwsSecret, MinIOCredentials, S3Bucket

from .conftest import SECRET_MARKER


def _creds() -> AwsCredentials:
    return AwsCredentials(
        aws_access_key_id="AKIAHWTEST0001",
        aws_secret_access_key=SECRET_MARKER,
        aws_session_token=SECRET_MARKER + "-session",
        region_name="eu-west-1",
        aws_client_parameters=AwsClientParameters(endpoint_url="http://127.0.0.1:9",
                                                  config={"retries": {"max_attempts": 1}}),
    )


class TestAwsCredentials(BlockConformanceSuite):
    block_cls = AwsCredentials
    plugin_name = "aws"

    def make_block(self) -> AwsCredentials:
        return _creds()


class TestMinIOCredentials(BlockConformanceSuite):
    block_cls = MinIOCredentials
    plugin_name = "aws"

    def make_block(self) -> MinIOCredentials:
        return MinIOCredentials(minio_root_user="minio-admin", minio_root_password=SECRET_MARKER,
                                aws_client_parameters=AwsClientParameters(endpoint_url="http://127.0.0.1:9"))


class TestS3Bucket(BlockConformanceSuite):
    block_cls = S3Bucket
    plugin_name = "aws"

    def make_block(self) -> S3Bucket:
        return S3Bucket(bucket_name="raw-data", credentials=_creds(), bucket_folder="landing", max_concurrency=4)


class TestS3BucketWithMinIO(BlockConformanceSuite):
    block_cls = S3Bucket
    plugin_name = "aws"

    def make_block(self) -> S3Bucket:
        return S3Bucket(bucket_name="raw-data", credentials=TestMinIOCredentials().make_block())


class TestAwsSecret(BlockConformanceSuite):
    block_cls = AwsSecret
    plugin_name = "aws"

    def make_block(self) -> AwsSecret:
        return AwsSecret(secret_name="etl/api-token", aws_credentials=_creds())
