"""The ``dask`` work-pool type: a deployment's runs executed on a running Dask cluster."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

FLOW = """
import os
from headwater import flow

@flow
def on_dask(x: int = 1):
    with open(os.path.join(os.environ["HW_DASK_OUT"], f"{x}.txt"), "w") as fh:
        fh.write(str(os.getpid()))
    return x
"""


def test_dask_pool_runs_deployment_on_the_cluster(
    tmp_path: Path, dask_address: str, same_home_as_workers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headwater.orchestration.deployments import get_deployment
    from headwater.orchestration.pools import create_work_pool
    from headwater.orchestration.queue import create_run
    from headwater.orchestration.serving import flow_from_source
    from headwater_dask import DaskCluster

    (tmp_path / "flows.py").write_text(FLOW)
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("HW_DASK_OUT", str(out))
    DaskCluster(address=dask_address).save("shared")
    create_work_pool("cluster", "dask", config={"cluster": "dask-cluster/shared"})
    flow_from_source(str(tmp_path), "flows.py:on_dask").deploy(
        "d", work_pool_name="cluster", print_next_steps=False, job_variables={"env": {"HW_DASK_OUT": str(out)}}
    )
    dep = get_deployment("on-dask/d")
    ids = [create_run(dep, {"x": i}) for i in range(3)]
    headwater = Path(sys.executable).with_name("headwater")
    done = subprocess.run(
        [str(headwater), "worker", "start", "--pool", "cluster", "--run-once"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    listed = subprocess.run(
        [str(headwater), "runs", "ls", "--deployment", "on-dask/d", "-o", "json"], capture_output=True, text=True
    )
    rows = json.loads(listed.stdout)
    assert sorted(r["id"] for r in rows) == sorted(ids)
    assert {r["state"] for r in rows} == {"Completed"} and {r["work_pool"] for r in rows} == {"cluster"}
    assert sorted(p.name for p in out.iterdir()) == ["0.txt", "1.txt", "2.txt"]


def test_dask_pool_needs_a_cluster_block_with_an_address() -> None:
    from headwater.orchestration.errors import WorkPoolError
    from headwater.orchestration.pools import create_work_pool

    with pytest.raises(WorkPoolError, match="needs --set cluster="):
        create_work_pool("c", "dask")
    with pytest.raises(WorkPoolError, match="cannot be loaded"):
        create_work_pool("c", "dask", config={"cluster": "dask-cluster/missing"})
