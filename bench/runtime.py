"""Flow runtime overhead: Headwater vs Prefect 3.9 (issue 3 targets).

    .venv/bin/python bench/runtime.py [--repeat N] [--quick] [--no-peer] [--no-json]

Every workload runs in a fresh child process (``--child NAME N``; the same file runs in the
Prefect peer venv with ``--prefect``), with a fresh HEADWATER_HOME / PREFECT_HOME and run
history on. Per-task figures are the time of the flow call (including the final history
flush) divided by the number of tasks, after an untimed warm-up flow in the same process.

- ``seq``: a trivial task called sequentially in a flow (target <= 30 us per task).
- ``map``: ``.map`` over N items with the thread-pool runner (target <= 100 us per task).
- the same two as process CPU time per task (main thread + history writer + pool threads),
  which a loaded machine disturbs far less than wall time.
- ``one-task flow``: a whole ``python flow.py`` process with one task, fresh home (<= 300 ms).
- ``return 10k list`` vs ``return int``: per-task cost with a 10,000-element list result;
  the target is that the difference stays small (<= 30 us, i.e. no serialization/hashing).
- ``RSS growth``: MB of resident memory added by 10,000 sequential tasks whose results are
  dropped (<= 10 MB).
- ``history per task run``: store bytes per task run (<= 1 KB).
- ``0.15-style flow``: a chain of 1,000 tasks built in ``with Flow(...)`` and run by
  ``flow.run()``, against the same chain written with ``@flow``; the paired CPU-time ratio
  must stay <= 1.2x (issue 19).

Prefect runs fewer tasks per sample (it is three orders of magnitude slower); per-task
figures are comparable, RSS is scaled to 10,000 tasks from its N.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PY = sys.executable
MARK = "HWBENCH-RESULT "

# ---------------------------------------------------------------- child workloads


def _api(prefect: bool):
    if prefect:
        from prefect import flow, task

        return flow, task
    from headwater.runtime import flow, task

    return flow, task


def _flush(prefect: bool) -> None:
    if not prefect:
        from headwater.history.writer import flush

        flush()


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def child_seq(n: int, prefect: bool, payload: str = "int", clock=time.perf_counter) -> float:
    flow, task = _api(prefect)
    big = list(range(10_000))

    @task
    def trivial(x):
        return big if payload == "list" else x

    @flow
    def seq(count: int):
        for i in range(count):
            trivial(i)

    seq(10)
    start = clock()
    seq(n)
    _flush(prefect)
    return (clock() - start) / n


def child_map(n: int, prefect: bool, clock=time.perf_counter) -> float:
    flow, task = _api(prefect)

    @task
    def trivial(x):
        return x

    @flow
    def mapped(count: int):
        futures = trivial.map(range(count))
        return [f.result() for f in futures]

    mapped(10)
    start = clock()
    mapped(n)
    _flush(prefect)
    return (clock() - start) / n


def child_rss(n: int, prefect: bool) -> float:
    flow, task = _api(prefect)

    @task
    def trivial(x):
        return [x] * 10

    @flow
    def seq(count: int):
        for i in range(count):
            trivial(i)

    seq(min(n, 1000))
    _flush(prefect)
    before = _rss_mb()
    seq(n)
    _flush(prefect)
    return (_rss_mb() - before) * (10_000 / n)


def _store_bytes(prefect: bool) -> int:
    import sqlite3

    if prefect:
        path = Path(os.environ["PREFECT_HOME"]) / "prefect.db"
    else:
        from headwater.settings import get_settings

        path = get_settings().home / "headwater.db"
    conn = sqlite3.connect(str(path), timeout=60)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
    size = pages * conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    return size


def child_history(n: int, prefect: bool) -> float:
    flow, task = _api(prefect)

    @task
    def trivial(x):
        return x

    @flow
    def seq(count: int):
        for i in range(count):
            trivial(i)

    seq(1)
    _flush(prefect)
    if prefect:
        time.sleep(3)  # let the ephemeral server's event writers settle
    before = _store_bytes(prefect)
    seq(n)
    _flush(prefect)
    if prefect:
        time.sleep(3)
    return (_store_bytes(prefect) - before) / n


def child_v1(n: int, graph: bool, clock=time.perf_counter) -> float:
    """A chain of ``n`` tasks (each adds one to the last result), as a Prefect 0.15-style
    ``with Flow`` graph run by ``flow.run()`` or as the same flow written with ``@flow``."""
    from headwater import Flow, flow, task

    @task
    def inc(x):
        return x + 1

    if graph:
        with Flow("chain") as chain:
            x = 0
            for _ in range(n):
                x = inc(x)
        chain.run()  # warm-up: the graph's plan is made once per flow
        start = clock()
        state = chain.run()
        assert state.result[x].result == n
    else:
        @flow
        def chain(count: int):
            x = 0
            for _ in range(count):
                x = inc(x)
            return x

        chain(n)
        start = clock()
        assert chain(n) == n
    _flush(False)
    return (clock() - start) / n


ONE_TASK_FLOW = """
from {module} import flow, task

@task
def hello():
    return "hi"

@flow
def one():
    return hello()

one()
"""


def child_main(argv: list[str]) -> None:
    name, n = argv[0], int(argv[1])
    prefect = "--prefect" in argv
    if name == "seq":
        value = child_seq(n, prefect)
    elif name == "seq-list":
        value = child_seq(n, prefect, payload="list")
    elif name == "seq-cpu":
        value = child_seq(n, prefect, clock=time.process_time)
    elif name == "map":
        value = child_map(n, prefect)
    elif name == "map-cpu":
        value = child_map(n, prefect, clock=time.process_time)
    elif name == "rss":
        value = child_rss(n, prefect)
    elif name == "history":
        value = child_history(n, prefect)
    elif name in ("v1-graph", "v1-flow", "v1-graph-cpu", "v1-flow-cpu"):
        clock = time.process_time if name.endswith("cpu") else time.perf_counter
        value = child_v1(n, name.startswith("v1-graph"), clock)
    else:
        raise SystemExit(f"unknown workload {name}")
    # marked: Prefect's server subprocess may still print shutdown noise after this line
    print(f"{MARK}{json.dumps(value)}", flush=True)


# ---------------------------------------------------------------- driver


def main() -> int:
    import harness
    from harness import Process, Row

    args = harness.bench_args(__doc__.splitlines()[0], repeat=5)
    # pip compiles installed packages; an editable checkout under PYTHONDONTWRITEBYTECODE has no
    # .pyc files, and recompiling headwater in every child would be measured as start-up time
    import compileall

    import headwater

    compileall.compile_dir(str(Path(headwater.__file__).parent), quiet=1)
    use_peer = harness.peer_enabled(args)
    peer_py = str(harness.peer_python()) if use_peer else None
    quick = args.quick
    n_seq, n_map = (2_000, 2_000) if quick else (10_000, 10_000)
    p_seq, p_map = (20, 20) if quick else (100, 100)
    script = str(Path(__file__).resolve())

    class Marked(Process):
        """A child that reports its own figure on a line starting with MARK."""

        def sample(self, number: int = 1) -> float:
            import subprocess
            import tempfile

            total = 0.0
            for _ in range(number):
                with tempfile.TemporaryFile() as out:
                    proc = subprocess.run(self.argv, env=self.env_factory(), stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT, timeout=self.timeout)
                    out.seek(0)
                    text = out.read().decode(errors="replace")
                marked = [line for line in text.splitlines() if line.startswith(MARK)]
                if proc.returncode != 0 or not marked:
                    raise harness.BenchError(f"{' '.join(self.argv)} exited {proc.returncode}:\n{text[-2000:]}")
                total += float(marked[-1][len(MARK):])
            return total / number

    def hw(name: str, n: int) -> Process:
        return Marked([PY, script, "--child", name, str(n)], env_factory=harness.headwater_env)

    def peer(name: str, n: int) -> Process | None:
        if not peer_py:
            return None
        return Marked([peer_py, script, "--child", name, str(n), "--prefect"], env_factory=harness.peer_env,
                      timeout=1800)

    rows = []
    seq = harness.compare({"hw": hw("seq", n_seq), "prefect": peer("seq", p_seq)}, repeat=args.repeat, warmup=0)
    rows.append(Row(f"sequential trivial task, per task (N={n_seq})", seq["hw"], peer=seq.get("prefect"),
                    target=30e-6))
    mapped = harness.compare({"hw": hw("map", n_map), "prefect": peer("map", p_map)}, repeat=args.repeat, warmup=0)
    rows.append(Row(f".map over N items, thread runner, per task (N={n_map})", mapped["hw"],
                    peer=mapped.get("prefect"), target=100e-6))
    cpu = harness.compare({"seq": hw("seq-cpu", n_seq), "map": hw("map-cpu", n_map)}, repeat=args.repeat, warmup=0)
    rows.append(Row("  sequential: CPU time per task (all threads)", cpu["seq"],
                    note="steadier than wall time on a shared machine"))
    rows.append(Row("  .map: CPU time per task (all threads)", cpu["map"]))

    flow_file = harness.fresh_dir("hwbench-flow-") / "one.py"
    flow_file.write_text(ONE_TASK_FLOW.format(module="headwater"))
    peer_file = flow_file.with_name("one_prefect.py")
    peer_file.write_text(ONE_TASK_FLOW.format(module="prefect"))
    floor_file = flow_file.with_name("floor.py")
    floor_file.write_text("def hello():\n    return 'hi'\nhello()\n")
    one_hw = Process([PY, str(flow_file)], env_factory=harness.headwater_env)
    whole = harness.compare(
        {"hw": one_hw, "floor": Process([PY, str(floor_file)]),
         "prefect": (Process([peer_py, str(peer_file)], env_factory=harness.peer_env, timeout=600)
                     if peer_py and not quick else None)},
        repeat=args.repeat, warmup=1,
    )
    rows.append(Row("one-task flow, whole process, fresh home", whole["hw"], floor=whole["floor"],
                    peer=whole.get("prefect"), target=0.300,
                    note="floor: python running the plain function"))
    if one_hw.cpu_samples:
        rows.append(Row("one-task flow, CPU time (user+sys)", harness.Stats.of(one_hw.cpu_samples),
                        note="steadier than wall time on a shared machine"))

    n_ret = 2_000
    ret = harness.compare({"int": hw("seq", n_ret), "list": hw("seq-list", n_ret)}, repeat=args.repeat, warmup=0)
    rows.append(Row(f"task returning an int, per task (N={n_ret})", ret["int"]))
    rows.append(Row("task returning a 10,000-element list, per task", ret["list"]))
    rows.append(Row("  added by the big return value (paired)", ret["list"].paired_minus(ret["int"]), target=30e-6,
                    note="overhead must not grow with the result's size"))

    rss = harness.compare({"hw": hw("rss", 10_000), "prefect": peer("rss", 200) if not quick else None},
                          repeat=max(3, args.repeat // 2), warmup=0)
    rows.append(Row("RSS growth over 10,000 sequential tasks", rss["hw"], peer=rss.get("prefect"), target=10,
                    unit="MB", note="Prefect scaled from 200 tasks"))
    hist = harness.compare({"hw": hw("history", 10_000), "prefect": peer("history", 100) if not quick else None},
                           repeat=3, warmup=0)
    rows.append(Row("run history per task run", hist["hw"].scaled(1 / 1024),
                    peer=hist["prefect"].scaled(1 / 1024) if "prefect" in hist else None, target=1.0, unit="KB"))
    rows.extend(_v1_rows(hw, args.repeat))
    missed = harness.report("runtime", rows, json_out=not args.no_json)
    if use_peer:
        print("   Prefect: ephemeral API server on 127.0.0.1 with SQLite in a private PREFECT_HOME, analytics off;"
              " per-task figures exclude its server start (a warm-up flow runs first).")
    return harness.exit_code(missed)


def _v1_rows(hw: Any, repeat: int) -> list[Any]:
    """Prefect 0.15-style flow (``with Flow`` + ``flow.run()``) against the same flow written
    with ``@flow``: a chain of 1,000 tasks; the target is at most 1.2x."""
    import harness
    from harness import Row, Stats

    n = 1_000
    wall = harness.compare({"graph": hw("v1-graph", n), "flow": hw("v1-flow", n)}, repeat=repeat, warmup=0)
    cpu = harness.compare({"graph": hw("v1-graph-cpu", n), "flow": hw("v1-flow-cpu", n)}, repeat=repeat, warmup=0)
    ratio = Stats.of([g / f for g, f in zip(cpu["graph"].samples, cpu["flow"].samples, strict=True)])
    return [
        Row(f"0.15-style flow of {n:,} chained tasks, flow.run(), per task", wall["graph"], floor=wall["flow"],
            note="floor: the same flow written with @flow"),
        Row("  0.15-style / @flow, CPU time (paired)", ratio, target=1.2, unit="x",
            note="steadier than wall time on a shared machine"),
    ]


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
    else:
        sys.path.insert(0, str(HERE))
        sys.exit(main())
