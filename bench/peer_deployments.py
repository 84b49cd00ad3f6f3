"""The Prefect 3.9 side of bench/deployments.py; runs inside bench/.venv-prefect (no headwater).

    bench/.venv-prefect/bin/python bench/peer_deployments.py N_SCHEDULED N_ADHOC N_QUEUED

Starts ``prefect server start`` on 127.0.0.1 (a free port, SQLite in the private PREFECT_HOME),
points every process at it with PREFECT_API_URL, and measures with Prefect's defaults (the
runner and the worker poll every 10 s):

- ``flow.serve(name="s")`` in a process of its own: runs scheduled a few seconds ahead, the
  flow's first line minus its scheduled time; then ``prefect deployment run`` to first line;
- a process work pool with ``prefect worker start``: the same two figures, then the worker's
  own CPU over a few idle seconds;
- N runs queued at once on a second pool, taken by 2 process workers with ``--limit 1``:
  the time from the workers' start to the last run's first line.

The server is stopped at the end (and on error). Prints one JSON line with every sample.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

FLOW = """
import os, time
from prefect import flow, task

@task
def one(x):
    return x + 1

@flow
def bench_flow(n: int = 0):
    with open(os.environ["HW_BENCH_OUT"], "a") as fh:
        fh.write(f"{n} {time.time()}\\n")
    return one(n)
"""

SERVE = """
import sys
sys.path.insert(0, sys.argv[1])
from flows import bench_flow
bench_flow.serve(name="s")
"""

PREFECT = str(Path(sys.executable).with_name("prefect"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(pred, timeout: float = 600, what: str = "condition") -> None:
    deadline = time.time() + timeout
    while not pred():
        if time.time() > deadline:
            raise SystemExit(f"peer_deployments: timed out waiting for {what}")
        time.sleep(0.05)


def _lines(out: Path) -> dict[int, float]:
    if not out.exists():
        return {}
    found = {}
    for line in out.read_text().splitlines():
        n, ts = line.split()
        found[int(n)] = float(ts)
    return found


def _spawn(argv: list[str], log: Path) -> subprocess.Popen:
    fh = open(log, "ab")  # noqa: SIM115
    return subprocess.Popen(argv, stdout=fh, stderr=fh, stdin=subprocess.DEVNULL, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _deployment_id(name: str) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return str(client.read_deployment_by_name(name).id)


def _has_deployment(name: str) -> bool:
    try:
        _deployment_id(name)
        return True
    except Exception:
        return False


def _completed(dep_id: str) -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        return len(
            client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep_id])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.COMPLETED]))
                ),
            )
        )


def _schedule(dep_id: str, runs: dict[int, float]) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    with get_client(sync_client=True) as client:
        for n, at in runs.items():
            when = dt.datetime.fromtimestamp(at, dt.timezone.utc)
            client.create_flow_run_from_deployment(dep_id, parameters={"n": n}, state=Scheduled(scheduled_time=when))


def _latencies(name: str, out: Path, first: int, n_sched: int, n_adhoc: int) -> tuple[list[float], list[float]]:
    """Scheduled runs of deployment ``name`` a few seconds ahead, then ad-hoc CLI runs."""
    dep_id = _deployment_id(name)
    base = time.time() + 3.0
    planned = {first + i: base + i * 0.5 for i in range(n_sched)}
    _schedule(dep_id, planned)
    _wait(lambda: all(k in _lines(out) for k in planned), what=f"{name}'s scheduled runs")
    lines = _lines(out)
    sched = [lines[k] - at for k, at in planned.items()]
    adhoc = []
    for k in range(first + n_sched, first + n_sched + n_adhoc):
        t0 = time.time()
        subprocess.run([PREFECT, "deployment", "run", name, "--param", f"n={k}"], check=True, capture_output=True)
        _wait(lambda k=k: k in _lines(out), what=f"ad-hoc run {k} of {name}")
        adhoc.append(_lines(out)[k] - t0)
    return sched, adhoc


def main() -> None:
    n_sched, n_adhoc, n_queued = (int(a) for a in sys.argv[1:4])
    home = Path(os.environ["PREFECT_HOME"])
    root = home / "project"
    root.mkdir(parents=True, exist_ok=True)
    (root / "flows.py").write_text(FLOW)
    out = root / "lines.txt"
    os.environ["HW_BENCH_OUT"] = str(out)
    port = _free_port()
    os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
    logs = home / "logs"
    logs.mkdir(exist_ok=True)
    procs: list[subprocess.Popen] = []
    result: dict[str, object] = {"n_queued": n_queued}
    try:
        server = _spawn([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], logs / "server.log")
        procs.append(server)

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False

        _wait(healthy, timeout=300, what="prefect server")

        # serve: one process serving its flow, polling every 10 s by default
        serve = _spawn([sys.executable, "-c", SERVE, str(root)], logs / "serve.log")
        procs.append(serve)
        _wait(lambda: _has_deployment("bench-flow/s"), timeout=300, what="the served deployment")
        time.sleep(1.0)
        result["serve_sched"], result["serve_adhoc"] = _latencies("bench-flow/s", out, 0, n_sched, n_adhoc)
        _stop(serve)

        # a process work pool and its worker
        subprocess.run([PREFECT, "work-pool", "create", "bench", "--type", "process"], check=True, capture_output=True)
        subprocess.run([PREFECT, "work-pool", "create", "q", "--type", "process"], check=True, capture_output=True)
        sys.path.insert(0, str(root))
        from prefect import flow

        for pool, dep in (("bench", "d"), ("q", "q")):
            flow.from_source(source=str(root), entrypoint="flows.py:bench_flow").deploy(
                name=dep, work_pool_name=pool, print_next_steps=False
            )
        worker = _spawn([PREFECT, "worker", "start", "--pool", "bench", "--type", "process"], logs / "worker.log")
        procs.append(worker)
        time.sleep(2.0)
        result["worker_sched"], result["worker_adhoc"] = _latencies("bench-flow/d", out, 1000, n_sched, n_adhoc)
        time.sleep(2.0)
        cpu = _proc_cpu(worker.pid)
        time.sleep(20.0)  # two of the worker's 10 s polls
        result["worker_idle"] = (_proc_cpu(worker.pid) - cpu) / 20.0
        _stop(worker)

        # N runs queued at once, 2 workers taking one at a time
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            dep_id = _deployment_id("bench-flow/q")
            for i in range(n_queued):
                client.create_flow_run_from_deployment(dep_id, parameters={"n": 10_000 + i})
        t0 = time.time()
        for k in range(2):
            procs.append(
                _spawn(
                    [PREFECT, "worker", "start", "--pool", "q", "--type", "process", "--limit", "1"],
                    logs / f"qworker{k}.log",
                )  # fmt: skip
            )
        want = set(range(10_000, 10_000 + n_queued))
        _wait(lambda: want <= set(_lines(out)), timeout=1800, what="the queued runs")
        _wait(lambda: _completed(dep_id) >= n_queued, timeout=600, what="the queued runs to complete")
        result["queued_total"] = time.time() - t0
    finally:
        for proc in reversed(procs):
            _stop(proc)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
