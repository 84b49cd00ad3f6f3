"""Bench: headwater-sql's SqlAlchemyConnector vs the same work written directly in SQLAlchemy.

Run: ``.venv/bin/python bench/sql.py [--quick] [--repeat N] [--no-peer]``
(``HW_BENCH_SQL_ROWS=N`` sets the row count)``.

Workloads, each on a SQLite file and on a PostgreSQL server (started through
``headwater.testing.postgres.running_postgres``, the code path of the test fixture, or the
server of ``HEADWATER_TEST_POSTGRES_URL``):

- ``fetch_all`` of N rows (3 columns) vs ``conn.execute(text(q)).fetchall()``;
- ``execute_many`` of an INSERT with N parameter sets vs ``conn.execute(text(q), params)``
  in ``engine.begin()``;
- ``insert_rows`` of N mappings vs ``conn.execute(insert(table), rows)`` in one transaction;
- ``fetch_all`` of one row, 200 calls per sample: the connector's own cost per call
  (a lock, the open-query check, a pool checkout), reported in µs, no target.

Under each of the first three, a row gives the CPU time of this process (user+sys) for the
same samples: on a shared, loaded machine it is steadier than wall time (on PostgreSQL it
leaves out the server, whose work is the same SQL for both sides).

Target: Headwater within 1.1x of the direct SQLAlchemy floor. Inserts start from an empty
table, emptied (untimed, DELETE on SQLite, TRUNCATE on PostgreSQL) before each sample by the
side's own engine. Where ``bench/.venv-prefect`` exists,
prefect-sqlalchemy's ``SqlAlchemyConnector`` runs ``fetch_all`` and ``execute_many`` inside the
peer process, on the same PostgreSQL database and on its own SQLite file with the same data (so
its locks cannot delay the next sample of the others); its samples include emptying the table.
"""

from __future__ import annotations

import sys
import time
from typing import Any

COLUMNS = "id, name, score"
CREATE = "CREATE TABLE {table} (id INTEGER, name VARCHAR(40), score FLOAT)"
INSERT = "INSERT INTO {table} (id, name, score) VALUES (:id, :name, :score)"


def make_rows(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"name-{i:08d}", "score": i * 0.5} for i in range(n)]


# ---------------------------------------------------------------- Prefect peer side (stdlib + prefect only)

_peer: dict[str, Any] = {}


def peer_setup(url: str, n: int) -> str:
    import prefect_sqlalchemy
    from prefect_sqlalchemy import SqlAlchemyConnector

    _peer["db"] = SqlAlchemyConnector(connection_info=url)
    _peer["rows"] = make_rows(n)
    _peer["n"] = n
    _peer["url"] = url
    return f"prefect-sqlalchemy {prefect_sqlalchemy.__version__}"


def peer_fetch_all() -> None:
    db = _peer["db"]
    db.reset_connections()  # otherwise a repeated fetch_all continues the exhausted result
    assert len(db.fetch_all(f"SELECT {COLUMNS} FROM bench_source")) == _peer["n"]


def peer_execute_many() -> None:
    db = _peer["db"]
    db.execute("DELETE FROM bench_peer")
    db.execute_many(INSERT.format(table="bench_peer"), _peer["rows"])


def peer_close() -> None:
    db = _peer.pop("db", None)
    if db is not None:
        db.close()


# ---------------------------------------------------------------- Headwater side


class SetupThenTime:
    """An impl for ``harness.compare`` that runs ``setup`` (if any) untimed before each timed ``work``.

    ``cpu_samples`` gets this process's CPU time (user+sys, all threads) per sample next to the
    wall time: steadier on a shared machine. On PostgreSQL it leaves out the server's work,
    which is the same SQL for both sides.
    """

    def __init__(self, setup: Any, work: Any) -> None:
        self.setup, self.work = setup, work
        self.cpu_samples: list[float] = []

    def sample(self, number: int) -> float:
        total = cpu = 0.0
        for _ in range(number):
            if self.setup is not None:
                self.setup()
            start, start_cpu = time.perf_counter(), time.process_time()
            self.work()
            total += time.perf_counter() - start
            cpu += time.process_time() - start_cpu
        self.cpu_samples.append(cpu / number)
        return total / number


def prepare(url: str, rows: list[dict[str, Any]]) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for table in ("bench_source", "bench_hw", "bench_floor", "bench_peer"):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
            conn.execute(sa.text(CREATE.format(table=table)))
        conn.execute(sa.text(INSERT.format(table="bench_source")), rows)
    engine.dispose()


def bench_database(label: str, url: str, n: int, args: Any, peer: Any, peer_url: str | None = None) -> list[Any]:
    """``peer_url``: where Prefect works (a separate SQLite file, so its locks cannot delay the others)."""
    import sqlalchemy as sa
    from headwater_sql import SqlAlchemyConnector

    rows = make_rows(n)
    prepare(url, rows)
    engine = sa.create_engine(url)
    connector = SqlAlchemyConnector(connection_info=url)
    peer_ok = _peer_setup(label, url, n, rows, peer, peer_url)
    out = []
    try:
        for name, hw, floor, peer_fn in _workloads(engine, connector, rows, n):
            out += _workload_rows(
                label, name, n, hw, floor, peer.timed(peer_fn) if (peer_ok and peer_fn) else None, args
            )
        out.append(_per_call_row(label, engine, connector, args))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM bench_hw")).scalar_one() == n
    finally:
        connector.close()
        engine.dispose()
        if peer_ok:
            peer.call("peer_close")
    return out


def _peer_setup(label: str, url: str, n: int, rows: list[dict[str, Any]], peer: Any, peer_url: str | None) -> bool:
    """Give the Prefect peer its table; False (and a note) when there is no peer or it fails."""
    import harness

    if peer is None:
        return False
    try:
        if peer_url and peer_url != url:
            prepare(peer_url, rows)
        peer.call("peer_setup", peer_url or url, n)
        return True
    except harness.BenchError as exc:
        print(f"[bench] Prefect figures skipped on {label}: {exc}", file=sys.stderr)
        return False


def _empty(table: str, through: Any) -> Any:
    """A setup step emptying ``table``.

    Each side empties its table through its own engine: on SQLite a write by another
    connection would make the next insert start with a cold page cache.
    """
    import sqlalchemy as sa

    statement = sa.text(f"DELETE FROM {table}" if through.dialect.name == "sqlite" else f"TRUNCATE {table}")

    def run() -> None:
        with through.begin() as conn:
            conn.execute(statement)

    return run


def _workloads(
    engine: Any, connector: Any, rows: list[dict[str, Any]], n: int
) -> list[tuple[str, Any, Any, str | None]]:
    """``(name, Headwater workload, SQLAlchemy floor, peer function)`` for each large workload."""
    import sqlalchemy as sa

    query = f"SELECT {COLUMNS} FROM bench_source"

    def hw_fetch() -> None:
        assert len(connector.fetch_all(query)) == n

    def floor_fetch() -> None:
        with engine.connect() as conn:
            assert len(conn.execute(sa.text(query)).fetchall()) == n

    insert_text = sa.text(INSERT.format(table="bench_floor"))
    light_table = sa.table("bench_floor", sa.column("id"), sa.column("name"), sa.column("score"))

    def floor_execute_many() -> None:
        with engine.begin() as conn:
            conn.execute(insert_text, rows)

    def floor_insert() -> None:
        with engine.begin() as conn:
            conn.execute(sa.insert(light_table), rows)

    return [
        ("fetch_all", SetupThenTime(None, hw_fetch), SetupThenTime(None, floor_fetch), "peer_fetch_all"),
        (
            "execute_many",
            SetupThenTime(
                _empty("bench_hw", connector.get_engine()),
                lambda: connector.execute_many(INSERT.format(table="bench_hw"), rows),
            ),
            SetupThenTime(_empty("bench_floor", engine), floor_execute_many),
            "peer_execute_many",
        ),
        (
            "insert_rows",
            SetupThenTime(_empty("bench_hw", connector.get_engine()), lambda: connector.insert_rows("bench_hw", rows)),
            SetupThenTime(_empty("bench_floor", engine), floor_insert),
            None,
        ),
    ]


def _workload_rows(label: str, name: str, n: int, hw: Any, floor: Any, prefect: Any, args: Any) -> list[Any]:
    """Time one workload against its floor (and the peer): its wall-time row and its CPU row."""
    import harness
    from harness import Row

    st = harness.compare({"hw": hw, "floor": floor, "prefect": prefect}, repeat=args.repeat, warmup=1)
    ratio = st["hw"].median / st["floor"].median
    note = f"HW/floor {ratio:.3f}"
    if "prefect" in st:
        note += f", HW/Prefect {st['hw'].median / st['prefect'].median:.3f}"
    print(f"[bench] {label} {name}: {note}", file=sys.stderr)
    return [
        Row(f"{label}: {name} {n:,} rows", st["hw"], st["floor"], st.get("prefect"),
            target=1.1 * st["floor"].median, note=note),  # fmt: skip
        Row("  same, CPU time of this process (user+sys)", harness.Stats.of(list(hw.cpu_samples)),
            harness.Stats.of(list(floor.cpu_samples)), note="steadier than wall time on a shared machine"),  # fmt: skip
    ]


def _per_call_row(label: str, engine: Any, connector: Any, args: Any) -> Any:
    """The connector's own cost per call, without a large result to hide it."""
    import harness
    import sqlalchemy as sa
    from harness import Row

    one = "SELECT id, name, score FROM bench_source WHERE id < :id LIMIT 1"

    def floor_one() -> None:
        with engine.connect() as conn:
            conn.execute(sa.text(one), {"id": 7}).fetchall()

    calls = 200
    st = harness.compare(
        {"hw": lambda: connector.fetch_all(one, {"id": 7}), "floor": floor_one},
        repeat=args.repeat, warmup=1, number=calls,
    )
    return Row(f"{label}: fetch_all of 1 row (per call)", st["hw"], st["floor"], None, None,
               note=f"{calls} calls/sample; "
                    f"added {1e6 * (st['hw'].median - st['floor'].median):.0f} µs/call")  # fmt: skip


def main() -> int:
    import os

    import harness

    parser_args = harness.bench_args(__doc__.splitlines()[0], repeat=5)
    n = int(os.environ.get("HW_BENCH_SQL_ROWS", "0")) or (20_000 if parser_args.quick else 100_000)
    os.environ.update(harness.headwater_env())

    from headwater.testing.postgres import PostgresUnavailable, running_postgres

    peer = None
    if harness.peer_enabled(parser_args):
        try:
            peer = harness.PeerWorker(__file__)
        except harness.BenchError as exc:
            print(f"[bench] no Prefect peer: {exc}", file=sys.stderr)
    rows = []
    try:
        folder = harness.fresh_dir("hwbench-sql-")
        rows += bench_database(
            "SQLite", f"sqlite:///{folder / 'bench.db'}", n, parser_args, peer, f"sqlite:///{folder / 'peer.db'}"
        )
        try:
            with running_postgres() as server:
                url = server.create_database()
                rows += bench_database("PostgreSQL", url, n, parser_args, peer)
        except PostgresUnavailable as exc:
            print(f"[bench] PostgreSQL rows skipped: {exc}", file=sys.stderr)
    finally:
        if peer is not None:
            peer.close()
    missed = harness.report("sql", rows, json_out=not parser_args.no_json)
    return harness.exit_code(missed)


if __name__ == "__main__":
    sys.exit(main())
