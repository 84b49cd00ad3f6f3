"""A deployment whose code lives in a GcsBucket: a worker pulls it from fake-gcs-server and runs the flow."""

from __future__ import annotations

from headwater.testing.deployment_source import run_deployment_from_storage
from headwater_gcs import GcsBucket


def test_worker_pulls_the_code_from_a_gcs_bucket_and_runs_the_flow(gcs_bucket_name, gcp_credentials, tmp_path):
    bucket = GcsBucket(bucket=gcs_bucket_name, bucket_folder="proj", gcp_credentials=gcp_credentials)
    assert run_deployment_from_storage(bucket, "gcs", tmp_path) == ("hello ada from gcs", "Completed")
