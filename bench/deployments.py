"""Orchestration: scheduled time to first line, ad-hoc runs, queued runs over workers,
scheduler CPU for 1,000 cron deployments, idle worker CPU (issue 16).

Workloads (``--quick`` shrinks them):

- **scheduled -> first line**: a process worker is running; runs are scheduled a few seconds
  ahead; the figure is the flow's first line time minus its scheduled time (p50 and p99).
- **ad-hoc `deployment run` -> first line**, against the floor: a plain ``python`` process
  that imports headwater and runs the flow (spawn to first line).
- **N queued runs over 2 process workers**, against the floor: N plain ``python`` processes
  running the flow, 2 at a time.
- **scheduler CPU per minute** with 1,000 deployments on ``* * * * *`` (six 10-second ticks).
- **idle worker CPU**: a worker on an empty pool, CPU seconds per second.

The two latency workloads also run under ``flow.serve(name="s")`` (one serving process).

With the Prefect peer venv (``bench/.venv-prefect``; skipped with ``--no-peer``) the same
workloads run under Prefect 3.9 by ``bench/peer_deployments.py``: its own ``prefect server
start`` on 127.0.0.1 (stopped at the end), ``flow.serve`` and a process work pool with
``prefect worker start``, Prefect's default polling; the figures fill the Prefect column.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import harness
from harness import Row, Stats

FLOW = """
import os, time
from headwater import flow, task

@task
def one(x):
    return x + 1

@flow
def bench_flow(n: int = 0):
    with open(os.environ["HW_BENCH_OUT"], "a") as fh:
        fh.write(f"{n} {time.time()}\\n")
    return one(n)

if __name__ == "__main__":
    bench_flow(int(os.environ.get("HW_N", "0")))
"""


def _setup(root: Path) -> dict[str, str]:
    (root / "flows.py").write_text(FLOW)
    env = harness.headwater_env(root / "home")
    env.update(HW_BENCH_OUT=str(root / "lines.txt"), HEADWATER_LOGGING_LEVEL="WARNING")
    return env


def _in_env(env: dict[str, str]) -> None:
    os.environ.update(env)
    from headwater.settings import reset_settings

    reset_settings()


def _lines(root: Path) -> dict[int, float]:
    path = root / "lines.txt"
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        n, ts = line.split()
        out[int(n)] = float(ts)
    return out


def _wait(pred, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while not pred():
        if time.time() > deadline:
            raise harness.BenchError("timed out")
        time.sleep(0.02)


def _worker(env: dict[str, str], pool: str, *extra: str) -> subprocess.Popen:
    hw = Path(sys.executable).with_name("headwater")
    log = open(Path(env["HEADWATER_HOME"]) / f"worker-{pool}-{time.time()}.log", "w")  # noqa: SIM115
    return subprocess.Popen(
        [str(hw), "worker", "start", "--pool", pool, "--no-scheduler", *extra], env=env, stdout=log, stderr=log
    )


SERVE = """
import sys
sys.path.insert(0, sys.argv[1])
from flows import bench_flow
bench_flow.serve(name="s")
"""


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=60)


def served_latency(root: Path, n: int) -> tuple[list[float], list[float]]:
    """Scheduled and ad-hoc runs of a deployment made by ``flow.serve`` in a process of its own."""
    from headwater.orchestration.deployments import get_deployment

    env = _setup(root)
    _in_env(env)
    log = open(root / "serve.log", "w")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-c", SERVE, str(root)], env=env, stdout=log, stderr=log)
    try:

        def saved() -> bool:
            try:
                get_deployment("bench-flow/s")
                return True
            except Exception:
                return False

        _wait(saved, timeout=120)
        dep = get_deployment("bench-flow/s")
        sched_lat, adhoc = _measure_latencies(root, env, dep, "bench-flow/s", n)
    finally:
        _stop(server)
    return sched_lat, adhoc


def _measure_latencies(root: Path, env: dict[str, str], dep: Any, name: str, n: int) -> tuple[list[float], list[float]]:
    """Scheduled time to first line for ``n`` runs due 0.5 s apart, then ad-hoc runs: the
    `headwater deployment run` command's start to the flow's first line."""
    from headwater.orchestration.queue import create_run

    time.sleep(1.0)
    scheduled = {}
    base = time.time() + 3.0
    for i in range(n):
        scheduled[i] = base + i * 0.5
        create_run(dep, {"n": i}, scheduled[i])
    _wait(lambda: len(_lines(root)) >= n)
    lines = _lines(root)
    sched_lat = [lines[i] - scheduled[i] for i in range(n)]
    hw = Path(sys.executable).with_name("headwater")
    adhoc = []
    for i in range(n, n + max(3, n // 4)):
        t0 = time.time()
        subprocess.run([str(hw), "deployment", "run", name, "--param", f"n={i}", "-o", "json"], env=env, check=True,
                       capture_output=True)
        _wait(lambda i=i: i in _lines(root))
        adhoc.append(_lines(root)[i] - t0)
    return sched_lat, adhoc


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def scheduled_latency(root: Path, n: int) -> tuple[list[float], list[float], float, float]:
    from headwater.orchestration.deployments import get_deployment
    from headwater.orchestration.pools import create_work_pool
    from headwater.orchestration.serving import flow_from_source

    env = _setup(root)
    _in_env(env)
    create_work_pool("bench", "process")
    flow_from_source(str(root), "flows.py:bench_flow").deploy("d", work_pool_name="bench", print_next_steps=False)
    dep = get_deployment("bench-flow/d")
    worker = _worker(env, "bench")
    try:
        sched_lat, adhoc = _measure_latencies(root, env, dep, "bench-flow/d", n)
        floor = []
        for i in range(n + 1000, n + 1000 + len(adhoc)):
            t0 = time.time()
            subprocess.run(
                [sys.executable, str(root / "flows.py")], env={**env, "HW_N": str(i)}, check=True, capture_output=True
            )
            floor.append(_lines(root)[i] - t0)
        time.sleep(2)
        cpu = _proc_cpu(worker.pid)
        time.sleep(5)
        idle = (_proc_cpu(worker.pid) - cpu) / 5
    finally:
        _stop(worker)
    return sched_lat, adhoc, statistics.median(floor), idle, floor


def _proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick  # utime + stime of the worker itself


def queued(root: Path, n: int) -> tuple[float, float]:
    from headwater.orchestration.deployments import get_deployment
    from headwater.orchestration.pools import create_work_pool
    from headwater.orchestration.queue import create_run
    from headwater.orchestration.serving import flow_from_source
    from headwater.store.engine import db_write

    env = _setup(root)
    _in_env(env)
    create_work_pool("q", "process")
    flow_from_source(str(root), "flows.py:bench_flow").deploy("q", work_pool_name="q", print_next_steps=False)
    dep = get_deployment("bench-flow/q")
    with db_write() as tx:
        for i in range(n):
            create_run(dep, {"n": i}, tx=tx)
    t0 = time.time()
    workers = [_worker(env, "q", "--limit", "1", "--run-once") for _ in range(2)]
    for w in workers:
        w.wait(timeout=3600)
    hw_total = time.time() - t0
    t0 = time.time()
    running: list[subprocess.Popen] = []
    for i in range(n):
        while len(running) >= 2:
            running = [p for p in running if p.poll() is None]
            if len(running) >= 2:
                time.sleep(0.002)
        running.append(subprocess.Popen([sys.executable, str(root / "flows.py")], env={**env, "HW_N": str(10_000 + i)}))
    for p in running:
        p.wait()
    floor_total = time.time() - t0
    return hw_total, floor_total


def scheduler_cpu(root: Path, n: int) -> float:
    from headwater.orchestration.deployments import Deployment, save_deployment
    from headwater.orchestration.queue import mark_late, reap_expired
    from headwater.orchestration.scheduler import Scheduler, SchedulerSettings
    from headwater.orchestration.schedules import Cron

    env = _setup(root)
    _in_env(env)
    for i in range(n):
        save_deployment(
            Deployment(
                name=f"d{i}",
                flow_name="bench-flow",
                entrypoint="flows.py:bench_flow",
                source={"type": "local", "path": str(root)},
                schedules=[Cron("* * * * *")],
            )
        )
    s = Scheduler(SchedulerSettings())
    now = time.time()
    s.tick(now)  # the first pass fills the horizon; the steady state is what a minute costs
    minutes = 12  # schedules are topped up every few minutes: average over several
    c0 = time.process_time()
    for k in range(1, 6 * minutes + 1):
        s.tick(now + 10 * k)
        mark_late(15, now + 10 * k)
        reap_expired(now + 10 * k)
    return (time.process_time() - c0) / minutes


def _peer(n_sched: int, n_adhoc: int, n_queued: int) -> dict[str, Any] | None:
    """The Prefect side (bench/peer_deployments.py), or None when it fails (said on stderr)."""
    script = Path(__file__).with_name("peer_deployments.py")
    print(f"[bench] Prefect peer: serve, process worker, {n_queued} queued runs (a few minutes)", file=sys.stderr)
    try:
        result = harness.run_peer_script(script, str(n_sched), str(n_adhoc), str(n_queued), timeout=3600)
    except (harness.BenchError, subprocess.TimeoutExpired) as exc:
        print(f"[bench] Prefect peer dropped: {str(exc)[-1500:]}", file=sys.stderr)
        return None
    print(f"[bench] Prefect samples: {json.dumps(result)}", file=sys.stderr)
    return result


def _of(peer: dict[str, Any] | None, key: str) -> Stats | None:
    if not peer or peer.get(key) is None:
        return None
    value = peer[key]
    return Stats.of(value if isinstance(value, list) else [value])


def _latency_rows(where: str, sched: list[float], adhoc: list[float], floor: list[float], floor_med: float,
                  peer: dict[str, Any] | None) -> list[Row]:
    """The three latency rows of ``where`` ("worker" or "serve"): scheduled time to first line
    (p50, p99) and an ad-hoc run to its first line, with Prefect's figures of the same."""
    peer_sched, peer_adhoc = _of(peer, f"{where}_sched"), _of(peer, f"{where}_adhoc")
    return [
        Row(f"scheduled time -> first line, {where}, p50", Stats.of(sched), peer=peer_sched, target=0.100),
        Row(
            f"scheduled time -> first line, {where}, p99",
            Stats.of([_p99(sched)]),
            peer=Stats.of([_p99(peer_sched.samples)]) if peer_sched else None,
            target=0.500,
        ),
        Row(
            f"ad-hoc deployment run -> first line, {where}",
            Stats.of(adhoc),
            floor=Stats.of(floor),
            peer=peer_adhoc,
            target=1.5 * floor_med,
            note="target 1.5x floor",
        ),
    ]


def main() -> None:
    args = harness.bench_args("Orchestration: deployments, scheduler, workers", repeat=1)
    quick = args.quick
    n_sched = 10 if quick else 40
    n_adhoc = max(3, n_sched // 4)
    n = 200 if quick else 1000
    n_peer_queued = 10 if quick else 40  # Prefect's workers poll every 10 s: 1,000 runs would take hours
    peer = _peer(n_sched, n_adhoc, n_peer_queued) if harness.peer_enabled(args) else None
    rows = []
    sched, adhoc, floor_med, idle, floor = scheduled_latency(harness.fresh_dir(), n_sched)
    rows += _latency_rows("worker", sched, adhoc, floor, floor_med, peer)
    s_sched, s_adhoc = served_latency(harness.fresh_dir(), n_sched)
    rows += _latency_rows("serve", s_sched, s_adhoc, floor, floor_med, peer)
    hw_total, floor_total = queued(harness.fresh_dir(), n)
    p_queued = _of(peer, "queued_total")
    note = "target 1.3x floor"
    if p_queued:
        note += f"; Prefect ran only {n_peer_queued} runs ({p_queued.median:.1f} s), shown scaled to {n}"
    rows.append(
        Row(
            f"{n} queued one-task runs, 2 process workers",
            Stats.of([hw_total]),
            floor=Stats.of([floor_total]),
            peer=p_queued.scaled(n / n_peer_queued) if p_queued else None,
            target=1.3 * floor_total,
            note=note,
        )
    )
    cpu = scheduler_cpu(harness.fresh_dir(), 200 if quick else 1000)
    rows.append(
        Row(
            f"scheduler CPU per minute, {200 if quick else 1000} cron deployments",
            Stats.of([cpu]),
            target=1.0 if not quick else 0.2,
        )
    )
    rows.append(
        Row(
            "idle worker CPU (core fraction)",
            Stats.of([idle]),
            peer=_of(peer, "worker_idle"),
            target=0.01,
            unit="core",
            note="Prefect: its worker process, not its API server" if peer else "",
        )
    )
    missed = harness.report("deployments", rows, json_out=not args.no_json)
    sys.exit(harness.exit_code(missed))


if __name__ == "__main__":
    main()
