"""AsyncSqlAlchemyConnector on aiosqlite and psycopg's async driver (PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from headwater_sql import AsyncSqlAlchemyConnector, SqlConnectionError, SqlExecutionError

ASYNC_BACKENDS = pytest.mark.parametrize("async_url", ["sqlite", "postgres"], indirect=True)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def _sync_count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


@ASYNC_BACKENDS
def test_async_connector_end_to_end(async_url: str) -> None:
    async def main() -> dict[str, Any]:
        async with AsyncSqlAlchemyConnector(connection_info=async_url, fetch_size=2) as db:
            assert db.create_url().drivername in ("sqlite+aiosqlite", "postgresql+psycopg")
            await db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(20))")
            await db.execute_many("INSERT INTO items VALUES (:id, :name)",
                                  [{"id": i, "name": f"n{i}"} for i in range(3)])
            inserted = await db.insert_rows("items", ({"id": i, "name": f"n{i}"} for i in range(3, 6)), batch_size=2)
            query = "SELECT id FROM items ORDER BY id"
            pages = []
            while rows := await db.fetch_many(query):
                pages.append([r[0] for r in rows])
            exhausted = await db.fetch_one(query)
            await db.reset_connections()
            first = await db.fetch_one(query)
            rest = await db.fetch_all(query)
            everything = await db.fetch_all(query)
            return {"inserted": inserted, "pages": pages, "exhausted": exhausted, "first": first, "rest": rest,
                    "all": everything}

    got = run(main())
    assert got["inserted"] == 3
    assert got["pages"] == [[0, 1], [2, 3], [4, 5]]
    assert got["exhausted"] is None
    assert got["first"] == (0,)
    assert [r[0] for r in got["rest"]] == [1, 2, 3, 4, 5]
    assert len(got["all"]) == 6
    assert _sync_count(async_url, "items") == 6


@ASYNC_BACKENDS
def test_async_errors_and_atomic_insert(async_url: str) -> None:
    async def main() -> int:
        async with AsyncSqlAlchemyConnector(connection_info=async_url) as db:
            await db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY)")
            for call in (
                lambda: db.fetch_all("SELECT * FROM nope WHERE a = :a", {"a": "hidden-value"}),
                lambda: db.fetch_many("SELECT * FROM nope", size=3),
                lambda: db.execute("SELECT * FROM nope"),
                lambda: db.insert_rows("items", [{"id": 1}, {"id": 2}, {"id": 1}], batch_size=2),
            ):
                with pytest.raises(SqlExecutionError) as info:
                    await call()
                assert db.database_label in str(info.value) and "hidden-value" not in str(info.value)
            return db.get_engine().sync_engine.pool.checkedout()

    assert run(main()) == 0
    assert _sync_count(async_url, "items") == 0


@pytest.mark.parametrize("async_url", ["sqlite"], indirect=True)
def test_async_check_and_dataframes(async_url: str) -> None:
    pd = pytest.importorskip("pandas", reason="pandas is not installed: pip install 'headwater-sql[pandas]'")
    db = AsyncSqlAlchemyConnector(connection_info=async_url)
    db.check()

    async def main() -> Any:
        async with db:
            db.check(_sync=True)  # also from inside a running event loop, forced onto the sync path
            await db.check()  # called from async code, check() hands back acheck()'s coroutine
            assert await db.load_dataframe(pd.DataFrame({"a": [1, 2]}), "frame") == 2
            return await db.fetch_dataframe("SELECT a FROM frame ORDER BY a")

    assert run(main())["a"].tolist() == [1, 2]


def test_async_unreachable_server_is_a_connection_error() -> None:
    pytest.importorskip("greenlet",
                        reason="SQLAlchemy's asyncio layer needs greenlet: pip install 'headwater-sql[postgres-async]'")
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install 'headwater-sql[postgres-async]'")
    from headwater.testing import free_port

    db = AsyncSqlAlchemyConnector(connection_info=f"postgresql://u:S3cret-pw-x@127.0.0.1:{free_port()}/db")
    with pytest.raises(SqlConnectionError) as info:
        db.check()
    assert "S3cret-pw-x" not in str(info.value)

    async def enter() -> None:
        async with db.get_connection():
            pass

    with pytest.raises(SqlConnectionError):
        run(enter())


@ASYNC_BACKENDS
def test_async_get_connection_commits_or_rolls_back(async_url: str) -> None:
    async def main() -> list[Any]:
        async with AsyncSqlAlchemyConnector(connection_info=async_url) as db:
            async with db.get_connection() as conn:
                await conn.execute(sa.text("CREATE TABLE t (a INTEGER)"))
                await conn.execute(sa.text("INSERT INTO t VALUES (1)"))
            with pytest.raises(RuntimeError):
                async with db.get_connection(begin=True) as conn:
                    await conn.execute(sa.text("INSERT INTO t VALUES (2)"))
                    raise RuntimeError("roll back")
            conn = await db.get_connection(begin=False)
            try:
                rows = (await conn.execute(sa.text("SELECT a FROM t"))).fetchall()
            finally:
                await conn.close()
            assert db.get_engine().sync_engine.pool.checkedout() == 0
            return rows

    assert run(main()) == [(1,)]


@ASYNC_BACKENDS
def test_async_fetched_writes_are_committed(async_url: str) -> None:
    async def main() -> None:
        async with AsyncSqlAlchemyConnector(connection_info=async_url) as db:
            await db.execute("CREATE TABLE w (id INTEGER PRIMARY KEY)")
            assert await db.fetch_all("INSERT INTO w (id) VALUES (1) RETURNING id") == [(1,)]
            assert await db.fetch_one("INSERT INTO w (id) VALUES (2) RETURNING id") == (2,)
            assert await db.fetch_many("EXPLAIN SELECT id FROM w", size=1) != []  # closes (commits) the INSERT
            with pytest.raises(SqlExecutionError):
                await db.fetch_one("INSERT INTO w (id) VALUES (1) RETURNING id")

    run(main())
    url = async_url.replace("+aiosqlite", "")
    assert _sync_count(url, "w") == 2


@ASYNC_BACKENDS
def test_async_lookup_inside_a_paging_loop_does_not_restart_the_loop(async_url: str) -> None:
    async def main() -> list[int]:
        async with AsyncSqlAlchemyConnector(connection_info=async_url) as db:
            await db.execute("CREATE TABLE loop_items (id INTEGER PRIMARY KEY)")
            await db.execute_many("INSERT INTO loop_items VALUES (:id)", [{"id": i} for i in range(5)])
            seen = []
            while rows := await db.fetch_many("SELECT id FROM loop_items ORDER BY id", size=2):
                for row in rows:
                    found = await db.fetch_one("SELECT id * 10 FROM loop_items WHERE id = :id", {"id": row[0]})
                    seen.append(found[0])
            return seen

    assert run(main()) == [0, 10, 20, 30, 40]
