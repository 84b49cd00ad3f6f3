"""The :class:`SqlAlchemyConnector` block: a SQL database through SQLAlchemy 2."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

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
from headwater_sql.errors import SqlError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, CursorResult, Engine, Row

__all__ = ["SqlAlchemyConnector"]

logger = logging.getLogger("headwater.sql")


class SqlAlchemyConnector(ConnectorBase):
    """A SQL database reached through a SQLAlchemy engine (SQLite, DuckDB, PostgreSQL, ...).

    The engine and its connection pool are created on first use and kept until
    :meth:`close` (or the end of a ``with`` block).

    Fetching and open queries:
        ``fetch_one`` and ``fetch_many`` keep their query open. A call whose ``operation`` and
        ``parameters`` equal those of an open query continues it and returns the next rows;
        no row is ever returned twice, and once the rows run out they return ``None`` / ``[]``.
        A call with other inputs starts another query beside the open ones (at most 4 stay
        open; the least recently used is closed). :meth:`execute`, :meth:`execute_many`,
        :meth:`insert_rows`, :meth:`reset_connections`, :meth:`close` and a fetch of a statement
        that may write close them all first. ``fetch_all`` with the inputs of an open query
        returns its remaining rows and closes it; otherwise it runs the query and returns every row.

    Example:
        >>> with SqlAlchemyConnector(connection_info="sqlite:///warehouse.db") as db:  # doctest: +SKIP
        ...     db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER, name TEXT)")
        ...     db.insert_rows("t", [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
        ...     while rows := db.fetch_many("SELECT * FROM t ORDER BY id", size=1):
        ...         print(rows)

    Errors:
        A connection that cannot be made raises :class:`SqlConnectionError`; a failing statement
        raises :class:`SqlExecutionError` naming the database and the statement. Neither message
        contains the password or parameter values, and the connection always goes back to the pool.
    """

    _block_type_slug = "sqlalchemy-connector"

    # -- engine and connections -------------------------------------------------------------

    def get_engine(self, **create_engine_kwargs: Any) -> Engine:
        """The connector's engine, created on first call (keyword arguments apply only then).

        Raises:
            SqlDriverNotInstalledError: the URL's driver is not installed.
        """
        state = self._state
        engine = state.engine
        if engine is None:
            with state.lock:
                if state.engine is None:
                    state.engine = _engine.build_engine(
                        self.create_url(), self.database_label, self.connect_args, create_engine_kwargs
                    )
                    logger.debug("created an engine for %s", self.database_label)
                engine = state.engine
        return engine

    def _connect(self) -> Connection:
        engine = self._state.engine or self.get_engine()
        try:
            return engine.connect()
        except Exception as exc:
            _translate.raise_connection_error(exc, self.database_label)

    def _fresh_connection(self, close_open: bool = True) -> Connection:
        """A pooled connection; first, unless ``close_open`` is False, close the open queries
        (how writes start: an open read must not hold a lock a write waits for)."""
        state = self._state
        if close_open and state.open:
            self.reset_connections()
        engine = state.engine or self.get_engine()
        try:
            return engine.connect()
        except Exception as exc:
            _translate.raise_connection_error(exc, self.database_label)

    def get_connection(self, begin: bool = True, **connect_kwargs: Any) -> Any:
        """A new connection from the engine's pool; use it in a ``with`` block.

        Args:
            begin: True returns ``engine.begin()``: a context manager yielding a connection
                whose transaction commits at the end of the block (rolls back on error).
                False returns ``engine.connect()``: a plain ``Connection`` (commit yourself).
            **connect_kwargs: Passed to ``engine.begin()`` / ``engine.connect()``.

        Raises:
            SqlConnectionError: the database cannot be reached (on entering the block with
                ``begin``).
        """
        engine = self.get_engine()
        if begin:
            return engine.begin(**connect_kwargs)
        try:
            return engine.connect(**connect_kwargs)
        except Exception as exc:
            _translate.raise_connection_error(exc, self.database_label)

    def get_client(self, client_type: Literal["engine", "connection"] = "engine", **get_client_kwargs: Any) -> Any:
        """``get_engine(**kwargs)`` for ``"engine"``, ``get_connection(**kwargs)`` for ``"connection"``
        (so ``get_client("connection", begin=True)`` is ``engine.begin()``)."""
        if client_type == "engine":
            return self.get_engine(**get_client_kwargs)
        if client_type == "connection":
            return self.get_connection(**get_client_kwargs)
        raise ValueError(f"client_type must be 'engine' or 'connection', not {client_type!r}")

    def reset_connections(self) -> None:
        """Close the open queries (if any), commit their transactions and return their
        connections to the pool.

        The commit keeps what a fetched statement wrote (``INSERT ... RETURNING``, a function
        that writes), as prefect-sqlalchemy does when it closes its fetch connections.
        """
        with self._state.lock:
            self._close_queries(self._state.take(), commit=True)

    def _close_queries(self, queries: list[OpenQuery], commit: bool) -> None:
        failure: BaseException | None = None
        for query in queries:
            try:
                query.result.close()
                if commit and query.conn.in_transaction():
                    try:
                        query.conn.commit()
                    except Exception as exc:
                        _translate.raise_execution_error(exc, self.database_label, "COMMIT")
            except BaseException as exc:
                failure = failure or exc
            finally:
                query.conn.close()
        if failure is not None:
            raise failure

    def close(self) -> None:
        """Close the open queries and dispose of the engine and its pool."""
        state = self._state
        with state.lock:
            try:
                self.reset_connections()
            finally:
                engine, state.engine = state.engine, None
                if engine is not None:
                    engine.dispose()

    def __enter__(self) -> SqlAlchemyConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(self) -> None:
        """Connect and run ``SELECT 1``.

        Raises:
            SqlConnectionError: the database cannot be reached or refuses the credentials.
        """
        _engine.check_engine(self.get_engine(), self.database_label)

    # -- fetching -------------------------------------------------------------------------

    def _open_query(self, operation: str, parameters: Any, execution_options: dict[str, Any]) -> OpenQuery:
        """The open query for these inputs, starting it if needed (caller holds the lock)."""
        from sqlalchemy import text

        state = self._state
        query = state.find(operation, parameters)
        if query is not None:
            return query
        writes = not streamable(operation)
        conn = self._fresh_connection(close_open=writes)
        try:
            options = {"stream_results": not writes, **execution_options}
            result = conn.execute(text(operation), parameters, execution_options=options)
        except Exception as exc:
            conn.close()
            _translate.raise_execution_error(exc, self.database_label, operation)
        self._close_queries(state.add(operation, parameters, conn, result), commit=True)
        return state.open[-1]

    def _fetch_open(self, query: OpenQuery, fetch: Any) -> Any:
        try:
            return fetch()
        except Exception as exc:
            self._close_queries(self._state.take(query), commit=False)
            _translate.raise_execution_error(exc, self.database_label, query.operation)

    def fetch_one(
        self, operation: str, parameters: Mapping[str, Any] | None = None, **execution_options: Any
    ) -> Row | None:
        """The next row of ``operation`` (see the class docs on when a new query starts).

        Returns:
            A row (a named tuple), or None when there are no more rows.
        """
        with self._state.lock:
            query = self._open_query(operation, parameters, execution_options)
            return self._fetch_open(query, query.result.fetchone)

    def fetch_many(
        self, operation: str, parameters: Mapping[str, Any] | None = None, size: int | None = None,
        **execution_options: Any,
    ) -> list[Row]:
        """The next ``size`` rows (default ``fetch_size``) of ``operation``; ``[]`` once exhausted."""
        count = size or self.fetch_size
        with self._state.lock:
            query = self._open_query(operation, parameters, execution_options)
            return list(self._fetch_open(query, lambda: query.result.fetchmany(count)))

    def fetch_all(
        self, operation: str, parameters: Mapping[str, Any] | None = None, **execution_options: Any
    ) -> list[Row]:
        """Every row of ``operation`` (or the rest of it, if it is the open query)."""
        from sqlalchemy import text

        state = self._state
        if state.open:
            with state.lock:
                query = state.find(operation, parameters)
                if query is not None:
                    try:
                        return list(self._fetch_open(query, query.result.fetchall))
                    finally:
                        self._close_queries(state.take(query), commit=True)
        # The query itself runs outside the lock: threads sharing a connector run in parallel.
        # Other open queries stay open unless this statement may write (INSERT ... RETURNING).
        conn = self._fresh_connection(close_open=not streamable(operation))
        try:
            rows = conn.execute(text(operation), parameters, execution_options=execution_options).fetchall()
            conn.commit()  # keeps what the statement wrote (INSERT ... RETURNING), as Prefect does
            return rows
        except Exception as exc:
            _translate.raise_execution_error(exc, self.database_label, operation)
        finally:
            conn.close()

    # -- executing ------------------------------------------------------------------------

    def _run_in_transaction(self, operation: Any, label: str, work: Any) -> Any:
        conn = self._fresh_connection()
        try:
            with conn.begin():
                return work(conn)
        except Exception as exc:
            _translate.raise_execution_error(exc, self.database_label, label)
        finally:
            conn.close()

    def execute(
        self, operation: str, parameters: Mapping[str, Any] | None = None, **execution_options: Any
    ) -> CursorResult:
        """Run one statement in its own transaction (committed on success).

        Returns:
            The SQLAlchemy ``CursorResult`` (its ``rowcount`` says how many rows changed).
        """
        from sqlalchemy import text

        return self._run_in_transaction(
            operation, operation,
            lambda conn: conn.execute(text(operation), parameters, execution_options=execution_options),
        )

    def execute_many(
        self, operation: str, seq_of_parameters: Sequence[Mapping[str, Any]], **execution_options: Any
    ) -> CursorResult:
        """Run ``operation`` once per parameter set (the driver's executemany), in one transaction."""
        from sqlalchemy import text

        params = seq_of_parameters if isinstance(seq_of_parameters, list) else list(seq_of_parameters)
        return self._run_in_transaction(
            operation, operation,
            lambda conn: conn.execute(text(operation), params, execution_options=execution_options),
        )

    # -- loading --------------------------------------------------------------------------

    def insert_rows(
        self,
        table: str,
        rows: Iterable[Mapping[str, Any]],
        *,
        schema: str | None = None,
        create_table: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> int:
        """Insert mappings into ``table`` in batches of ``batch_size``, all in one transaction.

        The columns are the keys of the first row; every row must have the same keys. Values go
        to the driver as they are, except with ``create_table``, where they are bound with the
        types inferred from the first row (so Decimal, datetime, UUID and JSON values convert).
        If any batch fails, nothing is written (a table created by this call is removed too).

        Args:
            table: Table name.
            rows: Any iterable of mappings (consumed once, batch by batch).
            schema: Schema of the table, if not the default.
            create_table: Create the table first if it does not exist, with column types taken
                from the Python values of the first row (int, float, str, bool, bytes,
                Decimal, date/datetime/time, UUID, dict/list as JSON; None as text).
            batch_size: Rows per executemany call.

        Returns:
            The number of rows inserted.

        Raises:
            SqlExecutionError: an insert failed (the message names the batch's row range).
        """
        import sqlalchemy as sa

        iterator, first = start_rows(rows)
        if first is None:
            return 0
        statement, target, label = insert_targets(table, schema, first, typed_binds=create_table)
        conn = self._fresh_connection()
        created = False
        done = 0
        try:
            with conn.begin():
                if create_table and not sa.inspect(conn).has_table(table, schema=schema):
                    try:
                        target.create(conn)
                    except Exception as exc:
                        raise _translate.execution_error(
                            exc, self.database_label, _create_label(target), "CREATE TABLE"
                        ) from exc
                    created = True
                for batch in iter_batches(iterator, first, max(1, batch_size)):
                    try:
                        conn.execute(statement, batch)
                    except Exception as exc:
                        raise _translate.execution_error(
                            exc, self.database_label, label, f"insert of rows {done + 1}-{done + len(batch)}"
                        ) from exc
                    done += len(batch)
        except Exception as exc:
            if created:
                self._drop_quietly(target)
            if isinstance(exc, SqlError) or not isinstance(exc, sa.exc.SQLAlchemyError):
                raise  # ours already, or raised by the caller's rows iterable
            _translate.raise_execution_error(exc, self.database_label, label)
        finally:
            conn.close()
        return done

    def _drop_quietly(self, target: Any) -> None:
        # SQLite commits CREATE TABLE on its own, so a failed load would leave the table behind.
        try:
            with self.get_engine().begin() as conn:
                target.drop(conn, checkfirst=True)
        except Exception:
            logger.warning("could not remove table %s after a failed insert", target.name)

    def fetch_dataframe(
        self, operation: str, parameters: Mapping[str, Any] | None = None, **read_sql_kwargs: Any
    ) -> Any:
        """The result of ``operation`` as a pandas DataFrame (needs ``headwater-sql[pandas]``).

        Args:
            **read_sql_kwargs: Passed to ``pandas.read_sql_query`` (e.g. ``dtype_backend="pyarrow"``).
        """
        from sqlalchemy import text

        pd = _pandas(self.database_label)
        conn = self._fresh_connection()
        try:
            return pd.read_sql_query(text(operation), conn, params=parameters, **read_sql_kwargs)
        except Exception as exc:
            _translate.raise_execution_error(exc, self.database_label, operation)
        finally:
            conn.close()

    def load_dataframe(
        self, df: Any, table: str, *, schema: str | None = None,
        if_exists: Literal["fail", "replace", "append"] = "append",
        index: bool = False, chunksize: int | None = DEFAULT_BATCH_SIZE,
    ) -> int:
        """Write a pandas DataFrame to ``table`` in one transaction (``DataFrame.to_sql``).

        Args:
            if_exists: ``"append"`` (default), ``"replace"`` or ``"fail"`` when the table exists.

        Returns:
            The number of rows written.
        """
        _pandas(self.database_label)
        label = f"load DataFrame into {table}"
        self._run_in_transaction(
            label, label,
            lambda conn: _to_sql(conn, df, table, schema, if_exists, index, chunksize),
        )
        return len(df)


def _create_label(target: Any) -> str:
    columns = ", ".join(f"{c.name} {c.type}" for c in target.columns)
    return f"CREATE TABLE {target.fullname} ({columns})"


def _to_sql(
    conn: Any, df: Any, table: str, schema: str | None, if_exists: str, index: bool, chunksize: int | None
) -> Any:
    import sqlalchemy as sa

    if if_exists == "replace":
        # pandas reflects the whole table to drop it, which some dialects (duckdb) cannot do.
        sa.Table(table, sa.MetaData(), schema=schema).drop(conn, checkfirst=True)
        if_exists = "fail"
    return df.to_sql(table, conn, schema=schema, if_exists=if_exists, index=index, chunksize=chunksize)


def _pandas(database: str) -> Any:
    try:
        import pandas
    except ModuleNotFoundError:
        raise _translate.missing_module_error("pandas", database) from None
    return pandas
