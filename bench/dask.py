"""Bench: a flow mapping trivial tasks with ``DaskTaskRunner`` vs raw ``client.map`` + ``gather``.

Run: ``.venv/bin/python bench/dask.py [--quick] [--repeat N] [--tasks N]``.

Both run on the same ``LocalCluster`` (2 worker processes, 1 thread each, 127.0.0.1),
alternately. The Headwater side records the full run history (task runs, states, logs;
console lines silenced) and ships every call to the workers as a cloudpickled payload.
Target: within 1.5x of the raw Dask floor (Prefect on Dask manages ~1 task per second on
complex tasks, prefect#18191). No Prefect peer row: the peer venv has no prefect-dask.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any


def inc(x: int) -> int:
    return x + 1


def main() -> int:
    # Imported here, not at module level: Dask's spawned workers re-import this module
    # without bench/ on their path.
    import harness
    from harness import compare

    harness.unshadow()  # this file is dask.py: `import dask` must find the library
    args = harness.bench_args(__doc__.splitlines()[0], repeat=5)
    n = 200 if args.quick else 1000
    os.environ.update(harness.headwater_env())
    os.environ["DASK_TEMPORARY_DIRECTORY"] = str(harness.fresh_dir("hwbench-dask-"))

    cluster, client = _start_cluster()
    try:
        headwater, raw = _workloads(cluster, client, n)
        stats = compare({"hw": headwater, "floor": raw}, repeat=args.repeat, warmup=1)
    finally:
        client.close()
        cluster.close()
    hw, floor = stats["hw"], stats["floor"]
    missed = harness.report("dask", _rows(n, hw, floor), extra={"tasks": n, "workers": 2}, json_out=not args.no_json)
    print(f"   ratio Headwater / raw Dask: {hw.median / floor.median:.2f}x (target <= 1.5x)")
    return harness.exit_code(missed)


def _start_cluster() -> tuple[Any, Any]:
    """A LocalCluster of 2 single-thread worker processes on 127.0.0.1, and a client of it."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=40,
                           scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    return cluster, Client(cluster, set_as_default=False)


def _workloads(cluster: Any, client: Any, n: int) -> tuple[Callable[[], None], Callable[[], None]]:
    """``(Headwater flow mapping inc over n items, raw client.map + gather)``, both checking the result."""
    from headwater import flow, task
    from headwater_dask import DaskTaskRunner

    expected = [x + 1 for x in range(n)]

    def raw() -> None:
        # pure=False: fresh keys every round, as every flow run submits new task runs.
        assert client.gather(client.map(inc, range(n), pure=False)) == expected

    hinc = task(inc, name="inc")

    @flow(task_runner=DaskTaskRunner(address=cluster.scheduler_address))
    def mapped() -> list[int]:
        return [f.result() for f in hinc.map(range(n))]

    def headwater() -> None:
        assert mapped() == expected

    return headwater, raw


def _rows(n: int, hw: Any, floor: Any) -> list[Any]:
    from harness import Row

    return [
        Row(f"flow mapping {n:,} trivial tasks on 2 Dask workers", hw, floor=floor, target=1.5 * floor.median,
            note="target 1.5x floor"),
        Row("  per task", hw.scaled(1 / n), floor=floor.scaled(1 / n), target=1.5 * floor.median / n),
    ]


if __name__ == "__main__":
    sys.exit(main())
