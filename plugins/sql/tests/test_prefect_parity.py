"""What code written for prefect-sqlalchemy relies on: driver checks, engine.begin(), SQLAlchemy's exceptions."""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import pytest
import sqlalchemy as sa
from headwater import flow
from headwater.errors import BlockValidationError
from headwater.testing import free_port
from headwater_sql import (
    AsyncDriver,
    AsyncSqlAlchemyConnector,
    ConnectionComponents,
    SqlAlchemyConnector,
    SqlConfigError,
    SqlConnectionError,
    SqlExecutionError,
    SyncDriver,
)
from sqlalchemy.ext.asyncio import AsyncConnection

PASSWORD = "Parity-s3cret-pw"
ASYNC_BACKENDS = pytest.mark.parametrize("async_url", ["sqlite", "postgres"], indirect=True)


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url.replace("+aiosqlite", ""))
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


# -- the driver must fit the connector, checked at construction -------------------------------


@pytest.mark.parametrize("url", [
    "sqlite+aiosqlite:///w.db", f"postgresql+asyncpg://u:{PASSWORD}@127.0.0.1/db", "postgresql+psycopg_async://u@h/db",
])
def test_sync_connector_refuses_an_async_driver(url: str) -> None:
    with pytest.raises(ValueError, match="is an asyncio driver: use AsyncSqlAlchemyConnector") as info:
        SqlAlchemyConnector(connection_info=url)
    assert isinstance(info.value, SqlConfigError)
    assert PASSWORD not in str(info.value)
    with pytest.raises(SqlConfigError, match="asyncio driver"):
        SqlAlchemyConnector(connection_info=ConnectionComponents(driver=AsyncDriver.SQLITE_AIOSQLITE, database="w.db"))


@pytest.mark.parametrize("url", ["sqlite+pysqlite:///w.db", "duckdb:///w.duckdb", "postgresql+psycopg2://u@h/db"])
def test_async_connector_refuses_a_sync_driver(url: str) -> None:
    with pytest.raises(ValueError, match="is not an asyncio driver: use SqlAlchemyConnector") as info:
        AsyncSqlAlchemyConnector(connection_info=url)
    assert isinstance(info.value, SqlConfigError)
    with pytest.raises(SqlConfigError, match="not an asyncio driver"):
        AsyncSqlAlchemyConnector(
            connection_info=ConnectionComponents(driver=SyncDriver.SQLITE_PYSQLITE, database="w.db")
        )


def test_drivers_that_fit_are_accepted() -> None:
    for url in ("sqlite:///w.db", "postgresql+psycopg://u@h/db", "duckdb:///w.duckdb"):
        SqlAlchemyConnector(connection_info=url)
    for url in ("sqlite:///w.db", "sqlite+aiosqlite:///w.db", "postgresql://u@h/db", "postgresql+asyncpg://u@h/db"):
        AsyncSqlAlchemyConnector(connection_info=url)


def test_assigning_an_async_driver_later_is_refused_too() -> None:
    db = SqlAlchemyConnector(connection_info="sqlite:///w.db")
    with pytest.raises(ValueError, match="asyncio driver"):
        db.connection_info = "sqlite+aiosqlite:///w.db"
    assert isinstance(BlockValidationError("x"), ValueError)


def test_invalid_url_is_a_value_error_that_does_not_echo_it() -> None:
    for cls in (SqlAlchemyConnector, AsyncSqlAlchemyConnector):
        with pytest.raises(ValueError, match="not a SQLAlchemy URL") as info:
            cls(connection_info=f"plskeepmydata{PASSWORD}")
        assert isinstance(info.value, SqlConfigError)
        assert PASSWORD not in str(info.value)


# -- get_connection / get_client return SQLAlchemy's own objects --------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_get_connection_begin_is_engine_begin(db_url: str) -> None:
    with SqlAlchemyConnector(connection_info=db_url) as db:
        engine = db.get_engine()
        ctx = db.get_connection(begin=True)
        assert type(ctx) is type(engine.begin())
        with ctx as conn:
            assert isinstance(conn, sa.Connection)
            conn.execute(sa.text("CREATE TABLE t (a INTEGER)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        with pytest.raises(RuntimeError):
            with db.get_client(client_type="connection", begin=True) as conn:
                conn.execute(sa.text("INSERT INTO t VALUES (2)"))
                raise RuntimeError("roll back")
        plain = db.get_client(client_type="connection", begin=False)
        assert isinstance(plain, sa.Connection)
        plain.close()
        assert engine.pool.checkedout() == 0
    assert _count(db_url, "t") == 1


@ASYNC_BACKENDS
def test_async_get_connection_is_engine_begin_or_connect(async_url: str) -> None:
    async def main() -> None:
        async with AsyncSqlAlchemyConnector(connection_info=async_url) as db:
            ctx = db.get_client(client_type="connection", begin=True)
            assert type(ctx) is type(db.get_engine().begin())
            async with ctx as conn:
                assert isinstance(conn, AsyncConnection)
                await conn.execute(sa.text("CREATE TABLE t (a INTEGER)"))
                await conn.execute(sa.text("INSERT INTO t VALUES (1)"))
            plain = db.get_connection(begin=False)
            assert isinstance(plain, AsyncConnection)
            async with plain as conn:
                assert (await conn.execute(sa.text("SELECT count(*) FROM t"))).scalar_one() == 1

    asyncio.run(main())
    assert _count(async_url, "t") == 1


def test_engine_begin_on_an_unreachable_server_is_one_clear_error() -> None:
    db = SqlAlchemyConnector(connection_info=f"postgresql+psycopg://u:{PASSWORD}@127.0.0.1:{free_port()}/db")
    with pytest.raises(SqlConnectionError, match="cannot connect to postgresql") as info:
        with db.get_connection(begin=True):
            pass
    assert isinstance(info.value, sa.exc.OperationalError)  # what `except OperationalError:` expects
    assert PASSWORD not in str(info.value)
    db.close()


# -- errors are also the SQLAlchemy errors they replace -----------------------------------------


def test_statement_errors_are_also_sqlalchemy_errors(connector: SqlAlchemyConnector) -> None:
    connector.execute("CREATE TABLE u (id INTEGER PRIMARY KEY)")
    connector.execute("INSERT INTO u VALUES (:id)", {"id": 1})
    with pytest.raises(sa.exc.IntegrityError) as info:
        connector.execute("INSERT INTO u VALUES (:id)", {"id": 1})
    err = info.value
    assert isinstance(err, SqlExecutionError) and isinstance(err, sa.exc.SQLAlchemyError)
    assert str(err).startswith("SQL statement failed on ") and "(parameters hidden)" in str(err)
    assert err.statement == "INSERT INTO u VALUES (:id)" and err.params is None and err.orig is not None
    again = pickle.loads(pickle.dumps(err))  # crosses process boundaries (task runners) intact
    assert type(again) is type(err) and str(again) == str(err)
    with pytest.raises(sa.exc.DBAPIError) as missing:
        connector.fetch_all("SELECT * FROM no_such_table")
    assert isinstance(missing.value, SqlExecutionError) and "no_such_table" in str(missing.value)


@ASYNC_BACKENDS
def test_async_flow_awaits_the_connector(async_url: str) -> None:
    """An async flow written for prefect-sqlalchemy: every call awaited, errors caught as SQLAlchemy's."""

    @flow
    async def load() -> list[Any]:
        async with AsyncSqlAlchemyConnector(connection_info=async_url) as db:
            await db.execute("CREATE TABLE f (id INTEGER PRIMARY KEY, name VARCHAR(10))")
            await db.execute_many("INSERT INTO f VALUES (:id, :name)", [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
            try:
                await db.execute("INSERT INTO f VALUES (:id, :name)", {"id": 1, "name": "dup"})
            except sa.exc.IntegrityError:
                pass
            async with db.get_connection(begin=True) as conn:
                await conn.execute(sa.text("INSERT INTO f VALUES (3, 'c')"))
            first = await db.fetch_one("SELECT name FROM f ORDER BY id")
            rest = await db.fetch_many("SELECT name FROM f ORDER BY id", size=5)
            return [first[0], *[r[0] for r in rest], len(await db.fetch_all("SELECT id FROM f"))]

    assert asyncio.run(load()) == ["a", "b", "c", 3]


@ASYNC_BACKENDS
def test_async_flow_awaits_block_load_save_delete_and_check(async_url: str, tmp_path: Any) -> None:
    """Prefect 3's dispatch: ``await Block.load(...)`` / ``await block.save(...)`` in async flows;
    SqlAlchemyConnector has no async twins (as in prefect-sqlalchemy), so its calls stay plain."""
    from headwater import Block
    from headwater.errors import BlockNotFoundError
    from headwater_sql import sql_query

    sync_url = f"sqlite:///{tmp_path / 'sync.db'}"

    @flow
    async def etl() -> dict[str, Any]:
        await AsyncSqlAlchemyConnector(connection_info=async_url).save("wh-async")
        await SqlAlchemyConnector(connection_info=sync_url).save("wh-sync")
        adb = await Block.load("wh-async")
        await adb.check()
        async with adb:
            await adb.execute("CREATE TABLE t (id INTEGER)")
            await adb.execute("INSERT INTO t VALUES (7)")
            row = await adb.fetch_one("SELECT id FROM t")
        sdb = await SqlAlchemyConnector.load("wh-sync")
        with sdb:
            sdb.execute("CREATE TABLE s (id INTEGER)")
            sdb.execute("INSERT INTO s VALUES (8)")
            srow = sdb.fetch_one("SELECT id FROM s")
        rows = sql_query("wh-sync", "SELECT id FROM s")
        await AsyncSqlAlchemyConnector.delete("wh-async")
        return {"row": row[0], "srow": srow[0], "rows": rows}

    assert asyncio.run(etl()) == {"row": 7, "srow": 8, "rows": [(8,)]}
    assert _count(async_url, "t") == 1
    with pytest.raises(BlockNotFoundError):
        AsyncSqlAlchemyConnector.load("wh-async")
