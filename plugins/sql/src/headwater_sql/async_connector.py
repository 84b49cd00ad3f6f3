"""The :class:`AsyncSqlAlchemyConnector` block: the SqlAlchemyConnector API as coroutines."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from headwater_sql import _engine, _translate
from headwater_sql._base import (
    DEFAULT_BATCH_SIZE,
    ConnectorBase,
    OpenQuery,
    insert_targets,
    iter_batches,
    start_rows,
    streamable,
)
from headwater_sql.connector import _create_label, _pandas, _to_sql
from headwater_sql.errors import SqlError

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult, Row
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["AsyncSqlAlchemyConnector"]

logger = logging.getLogger("headwater.sql")


class AsyncSqlAlchemyConnector(ConnectorBase):
    """A SQL database through an asyncio SQLAlchemy engine (aiosqlite, psycopg async, ...).

    Same API as :class:`SqlAlchemyConnector`, with the I/O methods as coroutines
    (``await db.fetch_all(...)``, ``async with connector as db``) and the same rule for when a
    new query starts. ``sqlite://`` URLs use ``sqlite+aiosqlite`` and ``postgresql://`` URLs use
    psycopg's async driver (``postgresql+psycopg``) automatically.

    Example:
        >>> async with AsyncSqlAlchemyConnector(connection_info="sqlite:///w.db") as db:  # doctest: +SKIP
        ...     rows = await db.fetch_all("SELECT 1")
    """

    _block_type_slug = "async-sqlalchemy-connector"
    _async_engine: ClassVar[bool] = True

    # -- engine and connections -------------------------------------------------------------

    def get_engine(self, **create_engine_kwargs: Any) -> AsyncEngine:
        """The connector's ``AsyncEngine``, created on first call (kwargs apply only then)."""
        state = self._state
        if state.engine is None:
            with state.lock:
                if state.engine is None:
                    state.engine = _engine.build_engine(
                        self.create_url(), self.database_label, self.connect_args, create_engine_kwargs, is_async=True
                    )
        return state.engine

    def get_connection(self, begin: bool = True, **connect_kwargs: Any) -> Any:
        """``engine.begin()`` (with ``begin``: use with ``async with``; the transaction commits at
        the end of the block, rolls back on error) or ``engine.connect()``, an ``AsyncConnection``
        (``async with`` it, or ``await`` it and close it yourself).

        Raises:
            SqlConnectionError: the database cannot be reached (on entering the block).
        """
        engine = self.get_engine()
        return engine.begin(**connect_kwargs) if begin else engine.connect(**connect_kwargs)

    def get_client(self, client_type: Literal["engine", "connection"] = "engine", **get_client_kwargs: Any) -> Any:
        """``get_engine(**kwargs)`` for ``"engine"``, ``get_connection(**kwargs)`` for ``"connection"``."""
        if client_type == "engine":
            return self.get_engine(**get_client_kwargs)
        if client_type == "connection":
            return self.get_connection(**get_client_kwargs)
        raise ValueError(f"client_type must be 'engine' or 'connection', not {client_type!r}")

    def _alock(self) -> asyncio.Lock:
        state = self._state
        lock = getattr(state, "alock", None)
        if lock is None:
            lock = state.alock = asyncio.Lock()  # type: ignore[attr-defined]
        return lock

    async def _connect(self) -> AsyncConnection:
        engine = self.get_engine()
        try:
            return await engine.connect()
        except Exception as exc:
            _translate.raise_connection_error(exc, self.database_label)

    async def _reset(self, commit: bool = True) -> None:
        """Close the open queries; commit what they wrote (``INSERT ... RETURNING``) unless they failed."""
        await self._close_queries(self._state.take(), commit)

    async def _close_queries(self, queries: list[OpenQuery], commit: bool) -> None:
        failure: BaseException | None = None
        for query in queries:
            try:
                await query.result.close()
                if commit and query.conn.in_transaction():
                    try:
                        await query.conn.commit()
                    except Exception as exc:
                        _translate.raise_execution_error(exc, self.database_label, "COMMIT")
            except BaseException as exc:
                failure = failure or exc
            finally:
                await query.conn.close()
        if failure is not None:
            raise failure

    async def reset_connections(self) -> None:
        """Close the open queries (if any), commit what they wrote and return their connections to the pool."""
        async with self._alock():
            await self._reset()

    async def close(self) -> None:
        """Close the open queries and dispose of the engine and its pool."""
        async with self._alock():
            try:
                await self._reset()
            finally:
                engine, self._state.engine = self._state.engine, None
                if engine is not None:
                    await engine.dispose()

    async def __aenter__(self) -> AsyncSqlAlchemyConnector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def acheck(self) -> None:
        """Connect and run ``SELECT 1`` (the coroutine behind :meth:`check`)."""
        from sqlalchemy import text

        conn = await self._connect()
        try:
            await conn.execute(text("SELECT 1"))
        except Exception as exc:
            _translate.raise_execution_error(exc, self.database_label, "SELECT 1", "check")
        finally:
            await conn.close()

    def check(self) -> None:
        """Connect and run ``SELECT 1`` on a private event loop (works inside a running loop too).

        Raises:
            SqlConnectionError: the database cannot be reached or refuses the credentials.
        """
        import threading

        probe = self.model_copy()
        failure: list[BaseException] = []

        async def run() -> None:
            try:
                await probe.acheck()
            finally:
                await probe.close()

        def target() -> None:
            try:
                asyncio.run(run())
            except BaseException as exc:  # re-raised in the caller's thread
                failure.append(exc)

        thread = threading.Thread(target=target, name="headwater-sql-check")
        thread.start()
        thread.join()
        if failure:
            raise failure[0]

    # -- fetching -------------------------------------------------------------------------

    async def _open_query(self, operation: str, parameters: Any, execution_options: dict[str, Any]) -> OpenQuery:
        from sqlalchemy import text

        state = self._state
        query = state.find(operation, parameters)
        if query is not None:
            return query
        if not streamable(operation):  # it may write: no open read may hold a lock it waits for
            await self._reset()
        conn = await self._connect()
        try:
            if execution_options.get("stream_results", streamable(operation)):
                result = await conn.stream(text(operation), parameters, execution_options=execution_options)
            else:  # SHOW, EXPLAIN, INSERT ... RETURNING: no server-side cursor on PostgreSQL
                result = _BufferedResult(
                    await conn.execute(text(operation), parameters, execution_options=execution_options)
                )
        except Exception as exc:
            await conn.close()
            _translate.raise_execution_error(exc, self.database_label, operation)
        await self._close_queries(state.add(operation, parameters, conn, result), commit=True)
        return state.open[-1]

    async def _fetch_open(self, query: OpenQuery, awaitable: Any) -> Any:
        try:
            return await awaitable
        except Exception as exc:
            await self._close_queries(self._state.take(query), commit=False)
            _translate.raise_execution_error(exc, self.database_label, query.operation)

    async def fetch_one(
        self, operation: str, parameters: Mapping[str, Any] | None = None, **execution_options: Any
    ) -> Row | None:
        """The next row of ``operation``, or None when there are no more rows."""
        async with self._alock():
            query = await self._open_query(operation, parameters, execution_options)
            return await self._fetch_open(query, query.result.fetchone())

    async def fetch_many(
        self, operation: str, parameters: Mapping[str, Any] | None = None, size: int | None = None,
        **execution_options: Any,
    ) -> list[Row]:
        """The next ``size`` rows (default ``fetch_size``) of ``operation``; ``[]`` once exhausted."""
        async with self._alock():
            query = await self._open_query(operation, parameters, execution_options)
            return list(await self._fetch_open(query, query.result.fetchmany(size or self.fetch_size)))

    async def fetch_all(
        self, operation: str, parameters: Mapping[str, Any] | None = None, **execution_options: Any
    ) -> list[Row]:
        """Every row of ``operation`` (or the rest of it, if it is the open query)."""
        from sqlalchemy import text

        state = self._state
        async with self._alock():
            query = state.find(operation, parameters)
            if query is not None:
                try:
                    return list(await self._fetch_open(query, query.result.fetchall()))
                finally:
                    await self._close_queries(state.take(query), commit=True)
            if not streamable(operation):  # it may write: close the open reads first
                await self._reset()
        conn = await self._connect()
        try:
            result = await conn.execute(text(operation), parameters, execution_options=execution_options)
            rows = result.fetchall()
            await conn.commit()  # keeps what the statement wrote (INSERT ... RETURNING), as Prefect does
            return rows
        except Exception as exc:
            _translate.raise_execution_error(exc, self.database_label, operation)
        finally:
            await conn.close()

    # -- executing ------------------------------------------------------------------------

    async def _run_in_transaction(self, label: str, work: Any) -> Any:
        await self.reset_connections()
        conn = await self._connect()
        try:
            async with conn.begin():
                return await work(conn)
        except Exception as exc:
            _translate.raise_execution_error(exc, self.database_label, label)
        finally:
            await conn.close()

    async def execute(
        self, operation: str, parameters: Mapping[str, Any] | None = None, **execution_options: Any
    ) -> CursorResult:
        """Run one statement in its own transaction (committed on success)."""
        from sqlalchemy import text

        return await self._run_in_transaction(
            operation, lambda conn: conn.execute(text(operation), parameters, execution_options=execution_options)
        )

    async def execute_many(
        self, operation: str, seq_of_parameters: Sequence[Mapping[str, Any]], **execution_options: Any
    ) -> CursorResult:
        """Run ``operation`` once per parameter set, in one transaction."""
        from sqlalchemy import text

        params = seq_of_parameters if isinstance(seq_of_parameters, list) else list(seq_of_parameters)
        return await self._run_in_transaction(
            operation, lambda conn: conn.execute(text(operation), params, execution_options=execution_options)
        )

    # -- loading --------------------------------------------------------------------------

    async def insert_rows(
        self,
        table: str,
        rows: Iterable[Mapping[str, Any]],
        *,
        schema: str | None = None,
        create_table: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> int:
        """Insert mappings into ``table`` in batches, all in one transaction (see the sync twin)."""
        import sqlalchemy as sa

        iterator, first = start_rows(rows)
        if first is None:
            return 0
        statement, target, label = insert_targets(table, schema, first, typed_binds=create_table)
        await self.reset_connections()
        conn = await self._connect()
        created, done = False, 0
        try:
            async with conn.begin():
                if create_table and not await conn.run_sync(lambda c: sa.inspect(c).has_table(table, schema=schema)):
                    try:
                        await conn.run_sync(target.create)
                    except Exception as exc:
                        raise _translate.execution_error(
                            exc, self.database_label, _create_label(target), "CREATE TABLE"
                        ) from exc
                    created = True
                for batch in iter_batches(iterator, first, max(1, batch_size)):
                    try:
                        await conn.execute(statement, batch)
                    except Exception as exc:
                        raise _translate.execution_error(
                            exc, self.database_label, label, f"insert of rows {done + 1}-{done + len(batch)}"
                        ) from exc
                    done += len(batch)
        except Exception as exc:
            if created:
                await self._drop_quietly(target)
            if isinstance(exc, SqlError) or not isinstance(exc, sa.exc.SQLAlchemyError):
                raise  # ours already, or raised by the caller's rows iterable
            _translate.raise_execution_error(exc, self.database_label, label)
        finally:
            await conn.close()
        return done

    async def _drop_quietly(self, target: Any) -> None:
        try:
            async with self.get_engine().begin() as conn:
                await conn.run_sync(lambda c: target.drop(c, checkfirst=True))
        except Exception:
            logger.warning("could not remove table %s after a failed insert", target.name)

    async def fetch_dataframe(
        self, operation: str, parameters: Mapping[str, Any] | None = None, **read_sql_kwargs: Any
    ) -> Any:
        """The result of ``operation`` as a pandas DataFrame (needs ``headwater-sql[pandas]``)."""
        from sqlalchemy import text

        pd = _pandas(self.database_label)
        await self.reset_connections()
        conn = await self._connect()
        try:
            return await conn.run_sync(
                lambda c: pd.read_sql_query(text(operation), c, params=parameters, **read_sql_kwargs)
            )
        except Exception as exc:
            _translate.raise_execution_error(exc, self.database_label, operation)
        finally:
            await conn.close()

    async def load_dataframe(
        self, df: Any, table: str, *, schema: str | None = None,
        if_exists: Literal["fail", "replace", "append"] = "append",
        index: bool = False, chunksize: int | None = DEFAULT_BATCH_SIZE,
    ) -> int:
        """Write a pandas DataFrame to ``table`` in one transaction; returns the row count."""
        _pandas(self.database_label)
        label = f"load DataFrame into {table}"

        async def work(conn: Any) -> Any:
            return await conn.run_sync(
                lambda c: _to_sql(c, df, table, schema, if_exists, index, chunksize)
            )

        await self._run_in_transaction(label, work)
        return len(df)


class _BufferedResult:
    """A buffered ``CursorResult`` with the awaitable fetch methods of an ``AsyncResult``."""

    def __init__(self, result: Any) -> None:
        self._result = result

    async def fetchone(self) -> Any:
        return self._result.fetchone()

    async def fetchmany(self, size: int) -> Any:
        return self._result.fetchmany(size)

    async def fetchall(self) -> Any:
        return self._result.fetchall()

    async def close(self) -> None:
        self._result.close()
