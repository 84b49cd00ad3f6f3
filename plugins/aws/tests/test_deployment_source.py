"""A deployment whose code lives in an S3Bucket: a worker pulls it from moto and runs the flow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from headwater_aws import S3Bucket

FLOWS = """
import os
import pathlib

from headwater import flow
from helper import greeting


@flow
def from_bucket(name: str = "world"):
    pathlib.Path(os.environ["HW_TEST_OUT"]).write_text(greeting(name))
"""

HELPER = """
def greeting(name):
    return f"hello {name} from s3"
"""


def test_worker_pulls_the_code_from_an_s3_bucket_and_runs_the_flow(s3_server, aws_credentials, tmp_path):
    from headwater.orchestration.deployments import get_deployment
    from headwater.orchestration.pools import create_work_pool
    from headwater.orchestration.queue import create_run
    from headwater.orchestration.serving import flow_from_source

    code = tmp_path / "code"
    code.mkdir()
    (code / "flows.py").write_text(FLOWS)
    (code / "helper.py").write_text(HELPER)
    bucket = S3Bucket(bucket_name=s3_server.create_bucket(), bucket_folder="proj", credentials=aws_credentials)
    bucket.put_directory(local_path=str(code))
    bucket.save("flow-code")
    shutil.rmtree(code)  # the worker can only get the code from the bucket
    create_work_pool("s3pool", "process")
    flow_from_source(S3Bucket.load("flow-code"), "flows.py:from_bucket").deploy(
        "from-s3", work_pool_name="s3pool", parameters={"name": "ada"}, print_next_steps=False
    )
    run_id = create_run(get_deployment("from-bucket/from-s3"))
    out = tmp_path / "out.txt"
    worker = subprocess.run(
        [str(Path(sys.executable).with_name("headwater")), "worker", "start", "--pool", "s3pool", "--run-once"],
        env={**os.environ, "HW_TEST_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert worker.returncode == 0, worker.stderr
    assert out.read_text() == "hello ada from s3"
    from headwater.history.reader import get_flow_run

    assert get_flow_run(run_id)["state"] == "Completed"
