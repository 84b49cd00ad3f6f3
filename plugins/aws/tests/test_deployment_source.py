"""A deployment whose code lives in an S3Bucket: a worker pulls it from moto and runs the flow."""

from __future__ import annotations

from headwater.testing.deployment_source import run_deployment_from_storage
from headwater_aws import S3Bucket


def test_worker_pulls_the_code_from_an_s3_bucket_and_runs_the_flow(s3_server, aws_credentials, tmp_path):
    bucket = S3Bucket(bucket_name=s3_server.create_bucket(), bucket_folder="proj", credentials=aws_credentials)
    assert run_deployment_from_storage(bucket, "s3", tmp_path) == ("hello ada from s3", "Completed")
