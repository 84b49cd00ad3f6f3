"""The ``dask`` work-pool type: flow runs of a pool run on an existing Dask cluster.

The pool names a saved :class:`~headwater_dask.DaskCluster` block with a scheduler
``address`` (``headwater work-pool create gpu --type dask --set cluster=dask-cluster/prod``).
A worker claims the pool's runs as the process worker does and submits each one to the
cluster, where it runs in a process of its own on a Dask worker. Dask workers must reach the
store (``HEADWATER_DATABASE_URL``) and the deployments' sources.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from headwater.orchestration.errors import WorkPoolError
from headwater.orchestration.workers import BaseWorker, Job

__all__ = ["DaskWorker", "run_on_dask_worker"]


def run_on_dask_worker(spec: dict[str, Any], grace_seconds: float) -> int:
    """Runs on a Dask worker: the flow run in a subprocess, stopped if its cancellation is asked."""
    import json
    import os

    from headwater.orchestration.queue import cancelled_among

    env = {**os.environ, **{str(k): str(v) for k, v in (spec.get("env") or {}).items()}}
    proc = subprocess.Popen(
        [sys.executable, "-m", "headwater.orchestration._child"],
        stdin=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=env,
    )
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(spec) + "\n")
    proc.stdin.close()
    stop_at = None
    while True:
        try:
            return proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            pass
        if stop_at is None:
            try:
                if cancelled_among([spec["id"]]):
                    proc.terminate()
                    stop_at = time.time() + grace_seconds
            except Exception:
                pass
        elif time.time() >= stop_at:
            proc.kill()


class DaskJob(Job):
    def __init__(self, future: Any) -> None:
        self.future = future

    def done(self) -> bool:
        return bool(self.future.done())

    @property
    def exit_code(self) -> int | None:
        try:
            return int(self.future.result(timeout=0))
        except Exception:
            return None

    def kill(self) -> None:
        try:
            self.future.cancel(force=True)
        except Exception:
            pass


class DaskWorker(BaseWorker):
    """Claims a pool's runs and runs each one on the pool's Dask cluster."""

    type = "dask"

    @classmethod
    def validate_pool_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        ref = config.get("cluster")
        if not ref:
            raise WorkPoolError(
                "a dask work pool needs --set cluster=dask-cluster/NAME (a saved DaskCluster block with an address)"
            )
        block = cls._cluster_block(ref)
        if not block.address:
            raise WorkPoolError(
                f"DaskCluster block {ref!r} has no address: a dask work pool runs on an existing cluster"
            )
        return {"cluster": ref}

    @staticmethod
    def _cluster_block(ref: str) -> Any:
        from headwater.blocks import Block
        from headwater.errors import HeadwaterError

        try:
            return Block.load(ref if "/" in ref else f"dask-cluster/{ref}")
        except HeadwaterError as exc:
            raise WorkPoolError(f"the pool's cluster block {ref!r} cannot be loaded: {exc}") from None

    def setup(self) -> None:
        from headwater_dask._cluster import connect

        block = self._cluster_block(self.pool_config["cluster"])
        self.client = connect(block.address, block.client_kwargs)

    def launch(self, spec: dict[str, Any]) -> Job:
        env = (spec.get("job_variables") or {}).get("env") or {}
        if env:
            spec = {**spec, "env": env}
        future = self.client.submit(run_on_dask_worker, spec, self.grace, key=f"headwater-run-{spec['id']}", pure=False)
        future.add_done_callback(lambda _f: self.wake.set())
        return DaskJob(future)

    def teardown(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
