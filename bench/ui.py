"""headwater-ui: runs page/API and run detail over a large history, log latency, server RSS (issue 17).

The store is filled with bulk inserts (100,000 flow runs, 1,000,000 task runs by default;
``--quick``: a fifth of that), then ``headwater ui`` runs as its own process. ``--postgres``
also runs everything on a PostgreSQL store (a private server, bulk-loaded with COPY). Figures:
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
STATES = [
    ("COMPLETED", "Completed", 0.86),
    ("FAILED", "Failed", 0.08),
    ("CRASHED", "Crashed", 0.03),
    ("CANCELLED", "Cancelled", 0.03),
]
FLOWS = [f"flow_{i:02d}" for i in range(40)]
TAGS = ["nightly", "hourly", "etl", "reports", "backfill", "ml"]
BIG_TASKS = 10_000


FLOW_COLS = (
    "id",
    "name",
    "flow_name",
    "state_type",
    "state",
    "message",
    "parameters",
    "tags",
    "run_count",
    "created",
    "started",
    "ended",
    "pid",
    "host",
    "heartbeat",
)
TASK_COLS = (
    "id",
    "flow_run_id",
    "name",
    "task_key",
    "state_type",
    "state",
    "message",
    "run_count",
    "created",
    "started",
    "ended",
)
EDGE_COLS = ("upstream_id", "downstream_id", "flow_run_id")
LOG_COLS = ("flow_run_id", "task_run_id", "ts", "level", "logger", "message")


def generate(n_flows: int, n_tasks: int, sink: object) -> str:
    """Make the history's rows and hand them to ``sink(table, columns, rows)`` in batches;
    returns the id of the run with BIG_TASKS task runs."""
    rnd = random.Random(17)
    now = time.time()
    weights = [w for _, _, w in STATES]
    per_flow = max(1, (n_tasks - BIG_TASKS) // (n_flows - 1))
    flows: list[tuple] = []
    tasks: list[tuple] = []
    edges: list[tuple] = []
    big_id = None

    def flush() -> None:
        for table, cols, rows in (
            ("flow_runs", FLOW_COLS, flows),
            ("task_runs", TASK_COLS, tasks),
            ("run_edges", EDGE_COLS, edges),
        ):
            sink(table, cols, rows)
            rows.clear()

    for i in range(n_flows):
        fid = uuid.uuid4().hex
        created = now - 30 * 86400 * (n_flows - i) / n_flows
        stype, sname, _ = rnd.choices(STATES, weights)[0]
        count = BIG_TASKS if i == n_flows // 2 else per_flow
        if count == BIG_TASKS:
            big_id = fid
        dur = rnd.uniform(0.5, 120)
        tags = json.dumps(rnd.sample(TAGS, 2))
        flows.append(
            (
                fid,
                f"run-{i:07d}-{rnd.choice(['calm', 'brisk', 'witty', 'jolly'])}",
                FLOWS[i % len(FLOWS)],
                stype,
                sname,
                None,
                '{"day":"2026-12-01","limit":100}',
                tags,
                1,
                created,
                created + 0.01,
                created + dur,
                1234,
                "benchhost",
                created + dur,
            )
        )
        prev = None
        for j in range(count):
            tid = uuid.uuid4().hex
            start = created + 0.01 + j * dur / count
            t_state = ("FAILED", "Failed") if stype == "FAILED" and j == count - 1 else ("COMPLETED", "Completed")
            tasks.append(
                (
                    tid,
                    fid,
                    f"task_{j % 7}-{j}",
                    f"bench.task_{j % 7}",
                    t_state[0],
                    t_state[1],
                    "Traceback ...\nValueError: bad row" if t_state[0] == "FAILED" else None,
                    1,
                    start,
                    start,
                    start + dur / count * 0.8,
                )
            )
            if prev is not None:
                edges.append((prev, tid, fid))
            prev = tid
        if len(tasks) >= 200_000:
            flush()
    flush()
    sink("run_logs", LOG_COLS, [(big_id, None, now - 100 + k, 20, "big-run", f"line {k}") for k in range(200)])
    assert big_id is not None
    return big_id


def fill(db_path: Path, n_flows: int, n_tasks: int) -> str:
    """Bulk-insert the history into the SQLite store (executemany in one transaction)."""
    conn = sqlite3.connect(str(db_path), isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")

    def sink(table: str, cols: tuple, rows: list) -> None:
        conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", rows)

    big = generate(n_flows, n_tasks, sink)
    conn.execute("COMMIT")
    conn.close()
    return big


def fill_postgres(url: str, n_flows: int, n_tasks: int) -> str:
    """Bulk-load the history into the PostgreSQL store with COPY."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:

        def sink(table: str, cols: tuple, rows: list) -> None:
            with conn.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

        big = generate(n_flows, n_tasks, sink)
        conn.commit()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return big


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


def floor_impl(store: str, query: str) -> object:
    """The same SQL as the UI's runs list (page + task counts) on a raw connection: sqlite3 for a
    SQLite file path, psycopg for a PostgreSQL URL."""
    import re as _re
    from urllib.parse import parse_qs

    from headwater_ui.queries import RunFilter, runs_query
    from starlette.datastructures import QueryParams

    f = RunFilter.from_query(QueryParams(query))
    if "cursor" in parse_qs(query):
        f.cursor = parse_qs(query)["cursor"][0]
    sql, binds = runs_query(f)
    counts = "SELECT flow_run_id, COUNT(*) FROM task_runs WHERE flow_run_id IN ({}) GROUP BY flow_run_id"
    if store.startswith("postgresql"):
        import psycopg

        conn = psycopg.connect(store.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        pg_sql = _re.sub(r":(\w+)", r"%(\1)s", sql.replace("%", "%%"))

        def run_pg() -> None:
            rows = conn.execute(pg_sql, binds).fetchall()[: f.limit]
            ids = [r[0] for r in rows]
            if ids:
                conn.execute(counts.format(", ".join("%s" for _ in ids)), ids).fetchall()

        return run_pg
    conn = sqlite3.connect(store, check_same_thread=False)

    def run() -> None:
        rows = conn.execute(sql, binds).fetchall()[: f.limit]
        ids = [r[0] for r in rows]
        if ids:
            conn.execute(counts.format(", ".join("?" for _ in ids)), ids).fetchall()

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


def bench_store(label: str, env: dict[str, str], store: str, big: str, args: object, repeat: int) -> list[Row]:
    """Every figure against one filled store (``store``: a SQLite path or a PostgreSQL URL)."""
    server = UIServer(env)
    rows: list[Row] = []
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
            ("search by name", "q=run-00042&limit=50"),
            ("page 21 (keyset)", f"limit=50&cursor={cursor}"),
        ]
        for case, query in cases:
            walls: list[float] = []
            st = harness.compare(
                {
                    "api": Timed(server, f"/api/runs?{query}", walls),
                    "page": Timed(server, f"/runs?{query}", walls),
                    "floor": floor_impl(store, query),
                },
                repeat=repeat,
                warmup=2,
            )
            for kind in ("api", "page"):
                ratio = st[kind].median / st["floor"].median
                rows.append(
                    Row(
                        f"{label} runs {kind}: {case}",
                        st[kind],
                        st["floor"],
                        None,
                        PAGE_TARGET,
                        note=f"client wall p50 {sorted(walls)[len(walls) // 2] * 1000:.1f} ms",
                    )
                )
                rows.append(Row(f"  {kind} / raw SQL ({case})", Stats.of([ratio]), None, None, RATIO_TARGET, unit="x"))
        walls = []
        st = harness.compare({"detail": Timed(server, f"/runs/{big}", walls)}, repeat=max(5, repeat // 2), warmup=1)
        rows.append(
            Row(
                f"{label} run detail page, {BIG_TASKS:,} task runs",
                st["detail"],
                None,
                None,
                DETAIL_TARGET,
                note=f"client wall p50 {sorted(walls)[len(walls) // 2] * 1000:.0f} ms",
            )
        )
        walls = []
        st = harness.compare({"dash": Timed(server, "/", walls)}, repeat=max(5, repeat // 2), warmup=1)
        rows.append(Row(f"{label} dashboard page", st["dash"], None, None, None))
        latencies = log_latency(server, env, 8 if args.quick else 20)
        rows.append(Row(f"{label} log line -> SSE client (p50)", Stats.of(latencies), None, None, LOG_TARGET))
        rows.append(
            Row(f"{label} server RSS after the above", Stats.of([server.rss_mib()]), None, None, RSS_TARGET, unit="MiB")
        )
    finally:
        server.stop()
    return rows


def main() -> int:
    postgres = "--postgres" in sys.argv
    if postgres:
        sys.argv.remove("--postgres")
    args = harness.bench_args(__doc__.splitlines()[0], repeat=15)
    repeat = args.repeat or (7 if args.quick else 15)
    n_flows, n_tasks = (20_000, 200_000) if args.quick else (100_000, 1_000_000)
    env = harness.headwater_env(harness.fresh_dir("hwbench-ui-"))
    # the history's default cap (10,000 flow runs) would trim the store under test
    env.update(HEADWATER_HISTORY_MAX_FLOW_RUNS=str(10 * n_flows), HEADWATER_HISTORY_MAX_TASK_RUNS=str(10 * n_tasks))
    os.environ.update({k: v for k, v in env.items() if k.startswith("HEADWATER_")})
    import headwater.history.schema  # noqa: F401  (registers the history tables' migrations)
    from headwater.settings import reset_settings
    from headwater.store.engine import get_database

    extra: dict[str, object] = {"flow_runs": n_flows, "task_runs": n_tasks}
    t0 = time.perf_counter()
    db_path = Path(get_database().path)
    big = fill(db_path, n_flows, n_tasks)
    extra["sqlite_fill_seconds"] = time.perf_counter() - t0
    print(
        f"[bench] SQLite: {n_flows:,} flow runs / {n_tasks:,} task runs in {extra['sqlite_fill_seconds']:.1f} s "
        f"({db_path.stat().st_size / 2**20:.0f} MiB)",
        file=sys.stderr,
    )
    rows = bench_store("SQLite", env, str(db_path), big, args, repeat)
    if postgres:
        from headwater.testing.postgres import PostgresUnavailable, running_postgres

        try:
            with running_postgres() as pg:
                url = pg.create_database()
                pg_env = {**env, "HEADWATER_DATABASE_URL": url}
                os.environ["HEADWATER_DATABASE_URL"] = url
                reset_settings()
                get_database()  # creates the schema
                t0 = time.perf_counter()
                big = fill_postgres(url, n_flows, n_tasks)
                extra["postgres_fill_seconds"] = time.perf_counter() - t0
                print(f"[bench] PostgreSQL filled in {extra['postgres_fill_seconds']:.1f} s", file=sys.stderr)
                rows += bench_store("PostgreSQL", pg_env, url, big, args, repeat)
        except PostgresUnavailable as exc:
            print(f"[bench] PostgreSQL rows skipped: {exc}", file=sys.stderr)
    missed = harness.report("ui", rows, extra=extra, json_out=not args.no_json)
    return harness.exit_code(missed)


if __name__ == "__main__":
    sys.exit(main())
