"""Engine creation, connection tuning, and transactions for the store.

SQLite runs in WAL mode with a long busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE``: a writer takes the write lock up front instead of upgrading a read
lock mid-transaction, which is what produces "database is locked" under concurrency.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from headwater import _state
from headwater.errors import StoreError, StoreUnavailableError
from headwater.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

__all__ = ["check_integrity", "get_engine", "read_tx", "store_description", "write_tx"]

_lock = threading.Lock()
_engine: Engine | None = None
_IMMEDIATE = "hw_immediate"


def _create() -> Engine:
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    settings = get_settings()
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        raise StoreError(
            f"HEADWATER_DATABASE_URL is not a database URL: expected sqlite:///PATH or "
            f"postgresql+psycopg://USER@HOST:PORT/DB"
        ) from None
    kwargs: dict = {}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            from pathlib import Path

            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 60, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 10} if url.get_backend_name() == "postgresql" else {}
    try:
        engine = create_engine(url, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise StoreError(
            f"the store URL {url.render_as_string(hide_password=True)} needs a driver that is not installed "
            f"({exc}); for PostgreSQL: pip install 'psycopg[binary]'"
        ) from None

    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _tune(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            immediate = conn.get_execution_options().get(_IMMEDIATE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    from headwater.store.migrations import migrate

    try:
        migrate(engine)
    except StoreError:
        engine.dispose()
        raise
    except Exception as exc:  # connection failures surface here first
        engine.dispose()
        raise _unavailable(engine, exc) from None
    return engine


def _unavailable(engine: Engine, exc: BaseException) -> StoreError:
    from sqlalchemy.exc import DBAPIError

    shown = engine.url.render_as_string(hide_password=True)
    if isinstance(exc, DBAPIError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        from headwater.redaction import redact

        return StoreUnavailableError(
            f"cannot use the store at {shown}: {redact(reason)}; check HEADWATER_DATABASE_URL and that the database is running"
        )
    return StoreError(f"cannot use the store at {shown}: {type(exc).__name__}: {exc}")


def get_engine() -> Engine:
    """Return the process's store engine, creating it and migrating the schema on first use."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                _engine = _create()
    return _engine


@_state.on_reset
def _dispose() -> None:
    global _engine
    if _engine is not None:
        _engine.dispose()
    _engine = None


@contextmanager
def write_tx() -> Iterator[Connection]:
    """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success, rolled back on error."""
    engine = get_engine()
    try:
        with engine.connect().execution_options(**{_IMMEDIATE: True}) as conn, conn.begin():
            yield conn
    except Exception as exc:
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            raise _unavailable(engine, exc) from exc
        raise


@contextmanager
def read_tx() -> Iterator[Connection]:
    """A read-only transaction."""
    engine = get_engine()
    try:
        with engine.connect() as conn, conn.begin():
            yield conn
    except Exception as exc:
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            raise _unavailable(engine, exc) from exc
        raise


def store_description() -> str:
    """The store's URL with any password hidden."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(get_settings().database_url).render_as_string(hide_password=True)
    except Exception:
        return "<invalid HEADWATER_DATABASE_URL>"


def check_integrity() -> list[str]:
    """Run the database's own integrity check; returns problems found (empty when healthy)."""
    engine = get_engine()
    if engine.dialect.name != "sqlite":
        return []
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("PRAGMA integrity_check").fetchall()
    problems = [r[0] for r in rows if r[0] != "ok"]
    return problems
