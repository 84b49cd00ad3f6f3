"""headwater-ui: runs page/API and run detail over a large history, log latency, server RSS (issue 17).

The store is filled with bulk inserts (100,000 flow runs, 1,000,000 task runs by default;
``--quick``: a fifth of that), then ``headwater ui`` runs as its own process. Figures:
- runs page and ``/api/runs`` server time (the ``Server-Timing`` header) for several filters,
  against the floor: the same SQL the UI runs (page query + task counts) on a raw sqlite3
  connection; target <= 100 ms at p50 and <= 3x the floor;
- the detail page of a run with 10,000 task runs (target <= 300 ms);
- a log line's latency from the flow's logger call to an open server-sent-events stream
  (what the browser's EventSource reads; target <= 1 s);
- the server's resident memory after all of it (target < 150 MiB).
"""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import harness
from harness import Row, Stats

PAGE_TARGET, DETAIL_TARGET, RATIO_TARGET, LOG_TARGET, RSS_TARGET = 0.100, 0.300, 3.0, 1.0, 150.0
STATES = [("COMPLETED", "Completed", 0.86), ("FAILED", "Failed", 0.08), ("CRASHED", "Crashed", 0.03),
          ("CANCELLED", "Cancelled", 0.03)]
FLOWS = [f"flow_{i:02d}" for i in range(40)]
TAGS = ["nightly", "hourly", "etl", "reports", "backfill", "ml"]
BIG_TASKS = 10_000


def fill(db_path: Path, n_flows: int, n_tasks: int) -> str:
    """Bulk-insert the history; returns the id of the run with BIG_TASKS task runs."""
    rnd = random.Random(17)
    now = time.time()
    conn = sqlite3.connect(str(db_path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    weights = [w for _, _, w in STATES]
    per_flow = max(1, (n_tasks - BIG_TASKS) // (n_flows - 1))
    flows, tasks, edges = [], [], []
    big_id = None
    for i in range(n_flows):
        fid = uuid.uuid4().hex
        created = now - 30 * 86400 * (n_flows - i) / n_flows
        stype, sname, _ = rnd.choices(STATES, weights)[0]
        count = BIG_TASKS if i == n_flows // 2 else per_flow
        if count == BIG_TASKS:
            big_id = fid
        dur = rnd.uniform(0.5, 120)
        tags = json.dumps(rnd.sample(TAGS, 2))
        flows.append((fid, f"run-{i:07d}-{rnd.choice(['calm', 'brisk', 'witty', 'jolly'])}", FLOWS[i % len(FLOWS)],
                      stype, sname, None, '{"day":"2026-12-01","limit":100}', tags, 1, created, created + 0.01,
                      created + dur, 1234, "benchhost", created + dur))
        prev = None
        for j in range(count):
            tid = uuid.uuid4().hex
            start = created + 0.01 + j * dur / count
            t_state = ("FAILED", "Failed") if stype == "FAILED" and j == count - 1 else ("COMPLETED", "Completed")
            tasks.append((tid, fid, f"task_{j % 7}-{j}", f"bench.task_{j % 7}", t_state[0], t_state[1],
                          "Traceback ...\nValueError: bad row" if t_state[0] == "FAILED" else None,
                          1, start, start, start + dur / count * 0.8))
            if prev is not None:
                edges.append((prev, tid, fid))
            prev = tid
        if len(tasks) >= 200_000:
            _flush(conn, flows, tasks, edges)
    _flush(conn, flows, tasks, edges)
    conn.executemany("INSERT INTO run_logs (flow_run_id, task_run_id, ts, level, logger, message) VALUES (?,?,?,?,?,?)",
                     [(big_id, None, now - 100 + k, 20, "big-run", f"line {k}") for k in range(200)])
    conn.execute("COMMIT")
    conn.close()
    assert big_id is not None
    return big_id


def _flush(conn: sqlite3.Connection, flows: list, tasks: list, edges: list) -> None:
    conn.executemany(
        "INSERT INTO flow_runs (id, name, flow_name, state_type, state, message, parameters, tags, run_count, created, "
        "started, ended, pid, host, heartbeat) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", flows)
    conn.executemany(
        "INSERT INTO task_runs (id, flow_run_id, name, task_key, state_type, state, message, run_count, created, started, "
        "ended) VALUES (?,?,?,?,?,?,?,?,?,?,?)", tasks)
    conn.executemany("INSERT INTO run_edges (upstream_id, downstream_id, flow_run_id) VALUES (?,?,?)", edges)
    flows.clear()
    tasks.clear()
    edges.clear()


class UIServer:
    def __init__(self, env: dict[str, str]) -> None:
        exe = Path(sys.executable).with_name("headwater")
        self.proc = subprocess.Popen([str(exe), "ui", "--port", "0"], env=env, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        found = re.search(r"http://(\S+?)/", line)
        if not found:
            raise harness.BenchError(f"headwater ui did not start: {line}{self.proc.stderr.read()}")
        self.host, self.port = found.group(1).rsplit(":", 1)

    def get(self, path: str) -> tuple[float, float, bytes]:
        """(server seconds from Server-Timing, client seconds, body) of one GET."""
        import http.client

        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=60)
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        wall = time.perf_counter() - t0
        conn.close()
        if resp.status != 200:
            raise harness.BenchError(f"GET {path}: {resp.status} {body[:300]!r}")
        server = float(re.search(r"dur=([\d.]+)", resp.getheader("server-timing") or "dur=nan").group(1)) / 1000
        return server, wall, body

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Timed:
    """An impl for harness.compare that samples the server's own time of one GET."""

    def __init__(self, server: UIServer, path: str, wall: list[float]) -> None:
        self.server, self.path, self.wall = server, path, wall

    def sample(self, number: int = 1) -> float:
        total = 0.0
        for _ in range(number):
            server, wall, _ = self.server.get(self.path)
            total += server
            self.wall.append(wall)
        return total / number


def floor_impl(db_path: Path, query: str) -> object:
    """The same SQL as the UI's runs list (page + task counts), on a raw sqlite3 connection."""
    from urllib.parse import parse_qs

    from headwater_ui.queries import RunFilter, runs_query
    from starlette.datastructures import QueryParams

    params = QueryParams(query) if query else QueryParams("")
    f = RunFilter.from_query(params)
    if "cursor" in parse_qs(query):
        f.cursor = parse_qs(query)["cursor"][0]
    sql, binds = runs_query(f)
    conn = sqlite3.connect(str(db_path), check_same_thread=False)

    def run() -> None:
        rows = conn.execute(sql, binds).fetchall()[: f.limit]
        ids = [r[0] for r in rows]
        marks = ", ".join("?" for _ in ids)
        conn.execute(f"SELECT flow_run_id, COUNT(*) FROM task_runs WHERE flow_run_id IN ({marks}) GROUP BY flow_run_id",
                     ids).fetchall()

    return run


LOGGER = """
import sys, time
from headwater import flow, get_run_logger
@flow
def ticking(n: int):
    log = get_run_logger()
    time.sleep(1.0)
    for i in range(n):
        log.info("tick %r", time.time())
        time.sleep(0.25)
ticking(int(sys.argv[1]))
"""


def log_latency(server: UIServer, env: dict[str, str], lines: int) -> list[float]:
    """Seconds from each log call in a running flow to its arrival on the SSE stream."""
    import http.client

    proc = subprocess.Popen([sys.executable, "-c", LOGGER, str(lines)], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        run_id = None
        while run_id is None and time.time() < deadline:
            body = json.loads(server.get("/api/runs?flow=ticking&limit=1")[2])
            run_id = body["runs"][0]["id"] if body["runs"] else None
            time.sleep(0.05)
        if run_id is None:
            raise harness.BenchError("the logging flow run never appeared")
        conn = http.client.HTTPConnection(server.host, int(server.port), timeout=30)
        conn.request("GET", f"/api/runs/{run_id}/logs/stream")
        resp = conn.getresponse()
        out: list[float] = []
        kind = None
        while True:
            raw = resp.fp.readline()
            if not raw:
                break
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "log":
                message = json.loads(line[6:])["message"]
                if message.startswith("tick "):
                    out.append(time.time() - float(message[5:]))
            elif line.startswith("data: ") and kind == "end":
                break
        conn.close()
        return out
    finally:
        proc.wait(timeout=60)


def main() -> int:
    args = harness.bench_args(__doc__.splitlines()[0], repeat=15)
    repeat = args.repeat or (7 if args.quick else 15)
    n_flows, n_tasks = (20_000, 200_000) if args.quick else (100_000, 1_000_000)
    home = harness.fresh_dir("hwbench-ui-")
    env = harness.headwater_env(home)
    # the history's default cap (10,000 flow runs) would trim the store under test
    env.update(HEADWATER_HISTORY_MAX_FLOW_RUNS=str(10 * n_flows), HEADWATER_HISTORY_MAX_TASK_RUNS=str(10 * n_tasks))
    os.environ.update({k: v for k, v in env.items() if k.startswith("HEADWATER_")})
    from headwater.store.engine import get_database

    db = get_database()
    db_path = Path(db.path)
    t0 = time.perf_counter()
    big = fill(db_path, n_flows, n_tasks)
    fill_s = time.perf_counter() - t0
    print(f"[bench] filled {n_flows:,} flow runs / {n_tasks:,} task runs in {fill_s:.1f} s "
          f"({db_path.stat().st_size / 2**20:.0f} MiB)", file=sys.stderr)
    server = UIServer(env)
    rows: list[Row] = []
    extra: dict[str, object] = {"flow_runs": n_flows, "task_runs": n_tasks, "fill_seconds": fill_s}
    try:
        first = json.loads(server.get("/api/runs?limit=50")[2])
        cursor = first["next_cursor"]
        for _ in range(20):  # a cursor some pages deep
            cursor = json.loads(server.get(f"/api/runs?limit=50&cursor={cursor}")[2])["next_cursor"]
        cases = [
            ("newest 50", "limit=50"),
            ("state=FAILED", "state=FAILED&limit=50"),
            ("flow + tag", "flow=flow_07&tag=backfill&limit=50"),
            ("last 24 h, CRASHED", "since=24h&state=CRASHED&limit=50"),
            ("search by name", "q=run-00421&limit=50"),
            ("page 21 (keyset)", f"limit=50&cursor={cursor}"),
        ]
        for label, query in cases:
            walls: list[float] = []
            st = harness.compare({"api": Timed(server, f"/api/runs?{query}", walls),
                                  "page": Timed(server, f"/runs?{query}", walls),
                                  "floor": floor_impl(db_path, query)}, repeat=repeat, warmup=2)
            for kind in ("api", "page"):
                ratio = st[kind].median / st["floor"].median
                rows.append(Row(f"runs {kind}: {label}", st[kind], st["floor"], None, PAGE_TARGET,
                                note=f"client wall p50 {sorted(walls)[len(walls) // 2] * 1000:.1f} ms"))
                rows.append(Row(f"  {kind} / raw SQL ({label})", Stats.of([ratio]), None, None, RATIO_TARGET, unit="x"))
        walls = []
        st = harness.compare({"detail": Timed(server, f"/runs/{big}", walls)}, repeat=max(5, repeat // 2), warmup=1)
        rows.append(Row(f"run detail page, {BIG_TASKS:,} task runs", st["detail"], None, None, DETAIL_TARGET,
                        note=f"client wall p50 {sorted(walls)[len(walls) // 2] * 1000:.0f} ms"))
        walls = []
        st = harness.compare({"dash": Timed(server, "/", walls)}, repeat=max(5, repeat // 2), warmup=1)
        rows.append(Row("dashboard page", st["dash"], None, None, None))
        latencies = log_latency(server, env, 8 if args.quick else 20)
        rows.append(Row("log line -> SSE client (p50)", Stats.of(latencies), None, None, LOG_TARGET))
        rss = server.rss_mib()
        rows.append(Row("server RSS after the above", Stats.of([rss]), None, None, RSS_TARGET, unit="MiB"))
    finally:
        server.stop()
    missed = harness.report("ui", rows, extra=extra, json_out=not args.no_json)
    return harness.exit_code(missed)


if __name__ == "__main__":
    sys.exit(main())
