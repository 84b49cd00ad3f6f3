"""SqlAlchemyConnector against SQLite and DuckDB files and a real PostgreSQL database."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from headwater_sql import ConnectionComponents, DatabaseCredentials, SqlAlchemyConnector, SqlExecutionError


def _seed(db: SqlAlchemyConnector, n: int = 5) -> None:
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(20))")
    db.execute_many("INSERT INTO items (id, name) VALUES (:id, :name)", [{"id": i, "name": f"n{i}"} for i in range(n)])


def _count(url: str, table: str = "items") -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


def test_execute_and_execute_many_commit(connector: SqlAlchemyConnector, db_url: str, backend: str) -> None:
    _seed(connector, 7)
    result = connector.execute("UPDATE items SET name = :name WHERE id < :id", {"name": "x", "id": 3})
    if backend != "duckdb":  # duckdb's driver does not report row counts
        assert result.rowcount == 3
    assert _count(db_url) == 7  # committed: visible from an independent engine
    assert connector.fetch_all("SELECT name FROM items WHERE id = :id", {"id": 1}) == [("x",)]


def test_fetch_many_pages_without_repeating_rows(connector: SqlAlchemyConnector) -> None:
    _seed(connector, 5)
    query = "SELECT id FROM items ORDER BY id"
    pages = []
    while rows := connector.fetch_many(query, size=2):
        pages.append([r[0] for r in rows])
    assert pages == [[0, 1], [2, 3], [4]]
    # Exhausted: the same call keeps returning nothing rather than starting over.
    assert connector.fetch_many(query, size=2) == []
    assert connector.fetch_one(query) is None


def test_fetch_many_uses_fetch_size_by_default(db_url: str) -> None:
    with SqlAlchemyConnector(connection_info=db_url, fetch_size=3) as db:
        _seed(db, 5)
        assert len(db.fetch_many("SELECT * FROM items")) == 3
        assert len(db.fetch_many("SELECT * FROM items")) == 2


def test_queries_with_other_inputs_stay_open_side_by_side_until_reset(connector: SqlAlchemyConnector) -> None:
    _seed(connector, 4)
    query = "SELECT id FROM items WHERE id >= :low ORDER BY id"
    assert connector.fetch_one(query, {"low": 0})[0] == 0
    assert connector.fetch_one(query, {"low": 0})[0] == 1
    assert connector.fetch_one(query, {"low": 2})[0] == 2  # other parameters: another query
    assert connector.fetch_one(query, {"low": 0})[0] == 2  # and back: the first one goes on
    assert connector.fetch_one(query, {"low": 2})[0] == 3
    connector.reset_connections()
    assert connector.fetch_many(query, {"low": 0}, size=3) == [(0,), (1,), (2,)]
    # fetch_all on an open query returns the rest and closes it; the next call runs afresh.
    assert connector.fetch_all(query, {"low": 0}) == [(3,)]
    assert [r[0] for r in connector.fetch_all(query, {"low": 0})] == [0, 1, 2, 3]
    # execute closes the open query too.
    assert connector.fetch_one(query, {"low": 0})[0] == 0
    connector.execute("DELETE FROM items WHERE id = 0")
    assert connector.fetch_one(query, {"low": 0})[0] == 1


def test_mutating_parameters_does_not_continue_the_query(connector: SqlAlchemyConnector) -> None:
    _seed(connector, 3)
    params = {"low": 0}
    query = "SELECT id FROM items WHERE id >= :low ORDER BY id"
    assert connector.fetch_one(query, params)[0] == 0
    params["low"] = 1
    assert connector.fetch_one(query, params)[0] == 1


def test_get_client_engine_and_connection(connector: SqlAlchemyConnector, db_url: str) -> None:
    engine = connector.get_client("engine")
    assert engine is connector.get_engine()
    with connector.get_client("connection") as conn:  # begin=True: commits at the end
        conn.execute(sa.text("CREATE TABLE t (a INTEGER)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
    with connector.get_connection(begin=False) as conn:
        assert conn.execute(sa.text("SELECT a FROM t")).scalar_one() == 1
    with pytest.raises(RuntimeError), connector.get_connection() as conn:
        conn.execute(sa.text("INSERT INTO t VALUES (2)"))
        raise RuntimeError("rolls back")
    assert _count(db_url, "t") == 1
    assert connector.get_engine().pool.checkedout() == 0
    with pytest.raises(ValueError):
        connector.get_client("cursor")  # type: ignore[arg-type]


def test_close_disposes_and_reopens(db_url: str) -> None:
    db = SqlAlchemyConnector(connection_info=db_url)
    first = db.get_engine()
    db.fetch_one("SELECT 1")
    db.close()
    assert db.get_engine() is not first
    assert db.fetch_all("SELECT 1") == [(1,)]
    db.close()


def test_check_runs_a_query(connector: SqlAlchemyConnector) -> None:
    connector.check()


def test_saved_connector_loads_and_queries(db_url: str) -> None:
    SqlAlchemyConnector(connection_info=db_url, fetch_size=10).save("warehouse")
    with SqlAlchemyConnector.load("warehouse") as db:
        assert db.fetch_size == 10
        _seed(db, 2)
        assert db.fetch_all("SELECT count(*) FROM items") == [(2,)]


def test_database_credentials_as_connection_info(db_url: str) -> None:
    creds = DatabaseCredentials(**ConnectionComponents.from_url(db_url).model_dump())
    creds.check()
    creds.save("wh-creds")
    SqlAlchemyConnector(connection_info=DatabaseCredentials.load("wh-creds")).save("wh")
    with SqlAlchemyConnector.load("wh") as db:
        assert isinstance(db.connection_info, DatabaseCredentials)
        assert db.fetch_all("SELECT 1") == [(1,)]


def test_components_create_url_round_trips() -> None:
    url = "postgresql+psycopg://etl:p%40ss@db:5433/wh?sslmode=require&options=a&options=b"
    parts = ConnectionComponents.from_url(url)
    assert parts.password.get_secret_value() == "p@ss"
    assert parts.query == {"sslmode": "require", "options": ["a", "b"]}
    assert parts.create_url() == sa.engine.make_url(url)
    assert "p@ss" not in repr(parts.create_url())


def test_rows_are_named_tuples(connector: SqlAlchemyConnector) -> None:
    row: Any = connector.fetch_one("SELECT 1 AS a, 'x' AS b")
    assert row.a == 1 and row.b == "x" and tuple(row) == (1, "x")


def test_threads_sharing_a_connector(connector: SqlAlchemyConnector, db_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    connector.execute("CREATE TABLE items (id INTEGER, name VARCHAR(20))")

    def work(worker: int) -> list[int]:
        counts = []
        for i in range(10):
            connector.insert_rows("items", [{"id": worker * 100 + i, "name": f"w{worker}"}])
            rows = connector.fetch_all("SELECT count(*) FROM items WHERE name = :name", {"name": f"w{worker}"})
            counts.append(rows[0][0])
        return counts

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))
    assert results == [list(range(1, 11))] * 4
    assert _count(db_url) == 40
    assert connector.get_engine().pool.checkedout() == 0


def test_fetched_writes_are_committed(connector: SqlAlchemyConnector, db_url: str) -> None:
    # prefect-sqlalchemy commits what a fetched statement wrote when its connection is closed;
    # INSERT/UPDATE ... RETURNING through fetch_* must not be rolled back silently.
    _seed(connector, 2)
    assert connector.fetch_all("INSERT INTO items (id, name) VALUES (:id, 'a') RETURNING id", {"id": 10}) == [(10,)]
    assert _count(db_url) == 3
    assert connector.fetch_one("INSERT INTO items (id, name) VALUES (11, 'b') RETURNING id") == (11,)
    connector.reset_connections()
    assert connector.fetch_many("UPDATE items SET name = 'u' WHERE id >= 10 RETURNING id", size=5) != []
    connector.execute("DELETE FROM items WHERE id = 0")  # closes (and commits) the open query first
    assert _count(db_url) == 3
    assert sorted(r[0] for r in connector.fetch_all("SELECT id FROM items WHERE name = 'u'")) == [10, 11]
    # A failing fetched statement writes nothing.
    with pytest.raises(SqlExecutionError):
        connector.fetch_all("INSERT INTO items (id, name) VALUES (10, 'dup') RETURNING id")
    assert _count(db_url) == 3


def test_fetch_one_of_statements_that_cannot_stream(connector: SqlAlchemyConnector, db_url: str, backend: str) -> None:
    # On PostgreSQL fetch_one/fetch_many stream plain queries through a server-side cursor;
    # SHOW, EXPLAIN and INSERT ... RETURNING cannot be declared as one and must still work.
    _seed(connector, 1)
    if backend == "postgres":
        assert connector.fetch_one("SHOW server_version_num") is not None
    assert connector.fetch_many("EXPLAIN SELECT id FROM items", size=1) != []
    assert connector.fetch_one("INSERT INTO items (id, name) VALUES (:id, 'r') RETURNING id", {"id": 7}) == (7,)
    assert connector.fetch_one("  -- comment\n WITH x AS (SELECT 1 AS a) SELECT a FROM x") == (1,)
    connector.reset_connections()
    assert _count(db_url) == 2


def test_a_lookup_inside_a_paging_loop_does_not_restart_the_loop(connector: SqlAlchemyConnector) -> None:
    """The loop Prefect users write: page through one query, look rows up with another."""
    _seed(connector, 7)
    seen = []
    while rows := connector.fetch_many("SELECT id FROM items ORDER BY id", size=3):
        for row in rows:
            seen.append(connector.fetch_one("SELECT id * 10 FROM items WHERE id = :id", {"id": row[0]})[0])
    assert seen == [0, 10, 20, 30, 40, 50, 60]


def test_past_the_limit_the_least_recently_used_query_is_closed(connector: SqlAlchemyConnector) -> None:
    from headwater_sql._base import MAX_OPEN_QUERIES

    _seed(connector, 3)
    query = "SELECT id FROM items WHERE id >= :low ORDER BY id"
    lows = list(range(MAX_OPEN_QUERIES + 1))
    for low in lows:
        connector.fetch_one(query, {"low": low})
    assert len(connector._state.open) == MAX_OPEN_QUERIES
    assert connector.fetch_one(query, {"low": 0})[0] == 0  # the oldest was closed: it starts again
    assert connector.fetch_one(query, {"low": 1})[0] == 1  # ... and that pushed out low=1 in turn
