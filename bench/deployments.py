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

The Prefect peer (``serve`` and a process worker) is not scripted here yet; rows have no
Prefect column.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

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


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=60)


def scheduled_latency(root: Path, n: int) -> tuple[list[float], list[float], float, float]:
    from headwater.orchestration.deployments import get_deployment
    from headwater.orchestration.pools import create_work_pool
    from headwater.orchestration.queue import create_run
    from headwater.orchestration.serving import flow_from_source

    env = _setup(root)
    _in_env(env)
    create_work_pool("bench", "process")
    flow_from_source(str(root), "flows.py:bench_flow").deploy("d", work_pool_name="bench", print_next_steps=False)
    dep = get_deployment("bench-flow/d")
    worker = _worker(env, "bench")
    try:
        time.sleep(1.0)
        scheduled = {}
        base = time.time() + 3.0
        for i in range(n):
            scheduled[i] = base + i * 0.5
            create_run(dep, {"n": i}, scheduled[i])
        _wait(lambda: len(_lines(root)) >= n)
        lines = _lines(root)
        sched_lat = [lines[i] - scheduled[i] for i in range(n)]
        # ad-hoc runs: the `headwater deployment run` command's start to the flow's first line
        hw = Path(sys.executable).with_name("headwater")
        adhoc = []
        for i in range(n, n + max(3, n // 4)):
            t0 = time.time()
            subprocess.run(
                [str(hw), "deployment", "run", "bench-flow/d", "--param", f"n={i}", "-o", "json"],
                env=env,
                check=True,
                capture_output=True,
            )
            _wait(lambda i=i: i in _lines(root))
            adhoc.append(_lines(root)[i] - t0)
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


def main() -> None:
    args = harness.bench_args("Orchestration: deployments, scheduler, workers", repeat=1)
    quick = args.quick
    if harness.peer_enabled(args):
        print(
            "[bench] the Prefect peer's serve/worker workloads are not scripted yet: Headwater and floor only",
            file=sys.stderr,
        )
    rows = []
    sched, adhoc, floor_med, idle, floor = scheduled_latency(harness.fresh_dir(), 10 if quick else 40)
    sched_sorted = sorted(sched)
    p99 = sched_sorted[min(len(sched_sorted) - 1, round(0.99 * (len(sched_sorted) - 1)))]
    rows.append(Row("scheduled time -> first line, p50", Stats.of(sched), target=0.100))
    rows.append(Row("scheduled time -> first line, p99", Stats.of([p99]), target=0.500))
    rows.append(
        Row(
            "ad-hoc deployment run -> first line",
            Stats.of(adhoc),
            floor=Stats.of(floor),
            target=1.5 * floor_med,
            note="target 1.5x floor",
        )
    )
    n = 200 if quick else 1000
    hw_total, floor_total = queued(harness.fresh_dir(), n)
    rows.append(
        Row(
            f"{n} queued one-task runs, 2 process workers",
            Stats.of([hw_total]),
            floor=Stats.of([floor_total]),
            target=1.3 * floor_total,
            note="target 1.3x floor",
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
    rows.append(Row("idle worker CPU (core fraction)", Stats.of([idle]), target=0.01, unit="core"))
    missed = harness.report("deployments", rows, json_out=not args.no_json)
    sys.exit(harness.exit_code(missed))


if __name__ == "__main__":
    main()
