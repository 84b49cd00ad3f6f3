"""A thin, dialect-neutral transaction API over the store's database.

SQLite (the embedded default) is driven through the standard library's ``sqlite3`` so that
a process which only saves or loads blocks never pays SQLAlchemy's import; PostgreSQL goes
through SQLAlchemy. Both take the same SQL with ``:name`` parameters.

Every write transaction on SQLite starts with ``BEGIN IMMEDIATE``: the writer takes the
write lock up front instead of upgrading a read lock mid-transaction, which is what makes
concurrent writers fail with "database is locked". With WAL, readers never block.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["Database", "Record", "Tx"]


class Record(dict):  # type: ignore[type-arg]
    """A result row: a dict that also allows attribute access (``row.name``)."""

    __slots__ = ()

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


class Tx:
    """One transaction. ``execute`` returns the rows (possibly empty) as :class:`Record`."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self._conn = conn
        self.dialect = dialect

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> list[Record]:
        if self.dialect == "sqlite":
            cur = self._conn.execute(sql, params or {})
            if cur.description is None:
                return []
            names = [d[0] for d in cur.description]
            return [Record(zip(names, row, strict=True)) for row in cur.fetchall()]
        from sqlalchemy import text

        result = self._conn.execute(text(sql), params or {})
        if not result.returns_rows:
            return []
        return [Record(r._mapping) for r in result]

    def tuples(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows as plain tuples, in the order of the SELECT's columns (cheaper than :meth:`execute`)."""
        if self.dialect == "sqlite":
            return self._conn.execute(sql, params or {}).fetchall()
        from sqlalchemy import text

        result = self._conn.execute(text(sql), params or {})
        return [tuple(r) for r in result] if result.returns_rows else []

    def executemany(self, sql: str, rows: Sequence[dict[str, Any]] | Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        if self.dialect == "sqlite":
            self._conn.executemany(sql, rows)
        else:
            from sqlalchemy import text

            self._conn.execute(text(sql), rows)

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        rows = self.execute(sql, params)
        return next(iter(rows[0].values())) if rows else None


def _check_sqlite_file(path: Path) -> None:
    """Refuse a store file whose folder is missing (a mistyped URL must not create folders) or
    that is empty: an empty file is a truncated store, not a new one."""
    import time

    from headwater.errors import StoreError

    if not path.parent.is_dir():
        raise StoreError(
            f"the folder {path.parent} of the store file {path} does not exist: create it first, or set "
            f"HEADWATER_DATABASE_URL to sqlite:///PATH in an existing folder (or unset it to use HEADWATER_HOME)"
        )
    # A process creating the store writes its header at once; give it that moment.
    deadline = time.monotonic() + 2.0
    while True:
        try:
            if path.stat().st_size > 0:
                return
        except FileNotFoundError:
            return
        if time.monotonic() > deadline:
            raise StoreError(
                f"the store file {path} is empty (0 bytes), so it is not a Headwater store (was it truncated?): "
                f"restore it from a backup, or delete it to start a new, empty store"
            )
        time.sleep(0.05)


_WAL_WAIT = 60.0  # seconds, as the busy timeout


def _wal(conn: Any) -> None:
    """Put the store in WAL mode (a no-op once it is). SQLite does not apply the busy timeout to
    this switch: while another process is creating the same new store, it fails at once with
    "database is locked", so it is retried here for as long as the busy timeout would wait."""
    import sqlite3
    import time

    deadline = time.monotonic() + _WAL_WAIT
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


class Database:
    """The store's database for this process (see module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        self._sa_engine: Any = None
        self.path: Path | None = None
        if self.dialect == "sqlite":
            raw = url.split("sqlite:///", 1)[1] if "sqlite:///" in url else ""
            if not raw or raw == ":memory:":
                raise ValueError("the store needs a SQLite file, not an in-memory database")
            self.path = Path(raw).expanduser()
            _check_sqlite_file(self.path)

    # -- connections ------------------------------------------------------------------------

    def _sqlite(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            import sqlite3

            conn = sqlite3.connect(str(self.path), timeout=60, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=60000")
            _wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def sqlalchemy_engine(self) -> Any:
        """A SQLAlchemy engine on the same database (created on first use)."""
        if self._sa_engine is None:
            from sqlalchemy import create_engine, event

            if self.dialect == "sqlite":
                engine = create_engine(f"sqlite:///{self.path}",
                                       connect_args={"timeout": 60, "check_same_thread": False})

                @event.listens_for(engine, "connect")
                def _tune(dbapi_conn: Any, _record: Any) -> None:
                    dbapi_conn.isolation_level = None
                    dbapi_conn.execute("PRAGMA busy_timeout=60000")
                    _wal(dbapi_conn)
                    for pragma in ("synchronous=NORMAL", "foreign_keys=ON"):
                        dbapi_conn.execute(f"PRAGMA {pragma}")

                @event.listens_for(engine, "begin")
                def _begin(conn: Any) -> None:
                    immediate = conn.get_execution_options().get("hw_immediate", False)
                    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

            else:
                engine = create_engine(self.url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
            self._sa_engine = engine
        return self._sa_engine

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def transaction(self, write: bool) -> Iterator[Tx]:
        if self.dialect == "sqlite":
            conn = self._sqlite()
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield Tx(conn, "sqlite")
            except BaseException:
                # also when a signal handler's exception (a worker's cancel) lands right after BEGIN:
                # the connection must not stay inside the transaction
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            return
        engine = self.sqlalchemy_engine()
        with engine.connect() as conn, conn.begin():
            if write:
                from sqlalchemy import text

                conn.execute(text("SET LOCAL lock_timeout = '60s'"))
            yield Tx(conn, "postgresql")

    def dispose(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except Exception:
                pass
        self._local = threading.local()
        if self._sa_engine is not None:
            self._sa_engine.dispose()
            self._sa_engine = None
