"""Bench: mapping trivial tasks on a Dask LocalCluster, raw ``client.map`` + ``gather`` vs a
Headwater flow with ``DaskTaskRunner`` on the same cluster.

Run: ``.venv/bin/python bench/dask.py [--tasks 1000] [--runs 5]``. Prints median and min-max
of each, and the ratio (target: Headwater within 1.5x of raw Dask).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

# This file is named dask.py: keep its folder off sys.path so `import dask` finds the library.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]


def inc(x: int) -> int:
    return x + 1


def raw_dask(client, n: int) -> float:
    start = time.perf_counter()
    # pure=False: every run submits fresh keys, as a flow run does.
    results = client.gather(client.map(inc, range(n), pure=False))
    elapsed = time.perf_counter() - start
    assert results == [x + 1 for x in range(n)]
    return elapsed


def headwater_dask(address: str, n: int) -> float | None:
    try:
        from headwater import flow, task
        from headwater_dask import DaskTaskRunner
    except ImportError as exc:
        print(f"headwater flow runtime not available ({exc}); skipping the DaskTaskRunner bench")
        return None

    hinc = task(inc, name="inc")

    @flow(task_runner=DaskTaskRunner(address=address))
    def mapped(n: int) -> list[int]:
        return [f.result() for f in hinc.map(range(n))]

    start = time.perf_counter()
    results = mapped(n)
    elapsed = time.perf_counter() - start
    assert results == [x + 1 for x in range(n)]
    return elapsed


def summary(times: list[float]) -> str:
    return f"median {statistics.median(times):.3f} s  (min {min(times):.3f}, max {max(times):.3f}, runs {len(times)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="hw-bench-dask-")
    os.environ.setdefault("DASK_TEMPORARY_DIRECTORY", os.path.join(tmp, "dask"))
    os.environ.setdefault("HEADWATER_HOME", os.path.join(tmp, "home"))
    # Run history is recorded as usual; only the console lines (2 per task) are silenced.
    os.environ.setdefault("HEADWATER_LOGGING_LEVEL", "WARNING")
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=40,
                      scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as cluster, \
            Client(cluster, set_as_default=False) as client:
        raw_dask(client, 50)  # warm the workers
        raw = [raw_dask(client, args.tasks) for _ in range(args.runs)]
        print(f"raw client.map + gather, {args.tasks} tasks: {summary(raw)}")
        if headwater_dask(cluster.scheduler_address, 50) is None:
            return 0
        ours = [headwater_dask(cluster.scheduler_address, args.tasks) for _ in range(args.runs)]
        print(f"headwater flow + DaskTaskRunner, {args.tasks} tasks: {summary(ours)}")
        ratio = statistics.median(ours) / statistics.median(raw)
        print(f"ratio headwater / raw: {ratio:.2f}x (target <= 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
