"""A deployment whose code lives in an GcsBucket: a worker pulls it from fake-gcs-server and runs the flow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from headwater_gcs import GcsBucket

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
    return f"hello {name} from gcs"
"""


def test_worker_pulls_the_code_from_a_gcs_bucket_and_runs_the_flow(gcs_bucket_name, gcp_credentials, tmp_path):
    from headwater.orchestration.deployments import get_deployment
    from headwater.orchestration.pools import create_work_pool
    from headwater.orchestration.queue import create_run
    from headwater.orchestration.serving import flow_from_source

    code = tmp_path / "code"
    code.mkdir()
    (code / "flows.py").write_text(FLOWS)
    (code / "helper.py").write_text(HELPER)
    bucket = GcsBucket(bucket=gcs_bucket_name, bucket_folder="proj", gcp_credentials=gcp_credentials)
    bucket.put_directory(local_path=str(code))
    bucket.save("flow-code")
    shutil.rmtree(code)  # the worker can only get the code from the bucket
    create_work_pool("gcspool", "process")
    flow_from_source(GcsBucket.load("flow-code"), "flows.py:from_bucket").deploy(
        "from-gcs", work_pool_name="gcspool", parameters={"name": "ada"}, print_next_steps=False
    )
    run_id = create_run(get_deployment("from-bucket/from-gcs"))
    out = tmp_path / "out.txt"
    worker = subprocess.run(
        [str(Path(sys.executable).with_name("headwater")), "worker", "start", "--pool", "gcspool", "--run-once"],
        env={**os.environ, "HW_TEST_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert worker.returncode == 0, worker.stderr
    assert out.read_text() == "hello ada from gcs"
    from headwater.history.reader import get_flow_run

    assert get_flow_run(run_id)["state"] == "Completed"
