"""A contract for storage blocks as deployment sources: code put in the block, deleted locally,
pulled and run by a real worker process. Plugins call it with their own block."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["run_deployment_from_storage"]

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
    return f"hello {name} from {WHERE}"
"""


def run_deployment_from_storage(block: Any, where: str, tmp_path: Path) -> tuple[str, str]:
    """Put a flow and a module it imports in ``block``, save it, delete the local copy, deploy
    ``flows.py:from_bucket`` from the saved block and run it with ``headwater worker start
    --run-once``. Returns what the flow wrote (``"hello ada from <where>"``) and the run's final state.

    Raises:
        AssertionError: the worker exited non-zero (its stderr is the message).
    """
    from headwater.history.reader import get_flow_run
    from headwater.orchestration.deployments import get_deployment
    from headwater.orchestration.pools import create_work_pool
    from headwater.orchestration.queue import create_run
    from headwater.orchestration.serving import flow_from_source

    code = tmp_path / "code"
    code.mkdir()
    (code / "flows.py").write_text(FLOWS)
    (code / "helper.py").write_text(HELPER.replace("{WHERE}", where))
    block.put_directory(local_path=str(code))
    block.save("flow-code")
    shutil.rmtree(code)  # the worker can only get the code from the block
    pool = f"{where}pool"
    create_work_pool(pool, "process")
    flow_from_source(type(block).load("flow-code"), "flows.py:from_bucket").deploy(
        f"from-{where}", work_pool_name=pool, parameters={"name": "ada"}, print_next_steps=False
    )
    run_id = create_run(get_deployment(f"from-bucket/from-{where}"))
    out = tmp_path / "out.txt"
    worker = subprocess.run(
        [str(Path(sys.executable).with_name("headwater")), "worker", "start", "--pool", pool, "--run-once"],
        env={**os.environ, "HW_TEST_OUT": str(out)}, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert worker.returncode == 0, worker.stderr
    return out.read_text(), get_flow_run(run_id)["state"]
