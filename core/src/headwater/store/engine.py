"""The process's store: which database, schema migration on first use, transactions.

``db_write()`` / ``db_read()`` are the fast path (stdlib sqlite3 for the embedded store).
``get_engine()`` / ``write_tx()`` / ``read_tx()`` give SQLAlchemy objects on the same
database for code that wants SQLAlchemy Core.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from headwater import _state
from headwater.errors import StoreError, StoreUnavailableError
from headwater.settings import get_settings
from headwater.store import migrations
from headwater.store._db import Database, Tx

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

__all__ = [
    "check_integrity",
    "db_read",
    "db_write",
    "get_database",
    "get_engine",
    "migrated_database",
    "read_tx",
    "store_description",
    "write_tx",
]

_lock = threading.Lock()
_database: Database | None = None
_migrated = -1  # migrations.generation when _database was last migrated


def store_description() -> str:
    """The store's URL with its password and secret query options hidden (no SQLAlchemy import)."""
    from headwater.store.urls import mask_url

    return mask_url(get_settings().database_url)


def get_database() -> Database:
    """The store's database, migrated on first use, and again when a part of Headwater imported
    since then has registered more migrations."""
    global _database, _migrated
    if _database is not None and _migrated == migrations.generation:
        return _database
    with _lock:
        generation = migrations.generation
        if _database is None:
            _database = _open()
        elif _migrated != generation:
            _migrate(_database)
        _migrated = generation
    return _database


def migrated_database() -> Database | None:
    """The store's database if it is open and needs no migration now, else ``None`` (never opens,
    migrates or waits: for callers that must not block, such as an event loop)."""
    if _database is not None and _migrated == migrations.generation:
        return _database
    return None


def _open() -> Database:
    url = get_settings().database_url
    from headwater.redaction import remember
    from headwater.store.urls import url_secrets

    remember(url_secrets(url))
    if "://" not in url:
        raise StoreError(
            "HEADWATER_DATABASE_URL is not a URL (it has no '://'; its value is not shown as it may hold "
            "a password): use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB"
        )
    if not (url.startswith("sqlite:") or url.startswith("postgresql")):
        raise StoreError(
            f"HEADWATER_DATABASE_URL={store_description()!r} is not supported: use sqlite:///PATH "
            f"or postgresql+psycopg://USER@HOST:PORT/DB"
        )
    if get_settings().database_url_is_default:
        from headwater.settings import HOME_FIX, ensure_folder

        ensure_folder(get_settings().home, HOME_FIX)
    try:
        db = Database(url)
    except ValueError as exc:
        raise StoreError(f"HEADWATER_DATABASE_URL: {exc}") from None
    try:
        _migrate(db)
    except StoreError:
        db.dispose()
        raise
    return db


def _migrate(db: Database) -> None:
    try:
        migrations.migrate(db)
    except StoreError:
        raise
    except Exception as exc:
        raise unavailable(exc) from None


def unavailable(exc: BaseException) -> StoreError:
    """A one-line StoreError for a database failure (password never shown)."""
    from headwater.redaction import redact

    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    reason = redact(lines[0] if lines else type(orig).__name__)
    if "unable to open database file" in reason or "readonly database" in reason:
        from headwater.settings import DATABASE_FIX, HOME_FIX

        fix = HOME_FIX if get_settings().database_url_is_default else DATABASE_FIX
        return StoreUnavailableError(f"cannot create or write the store file {store_description()} ({reason}): {fix}")
    if "ModuleNotFoundError" in type(exc).__name__ or isinstance(exc, ModuleNotFoundError):
        return StoreError(f"the store {store_description()} needs a driver that is not installed ({exc}): pip install "
                          "'psycopg[binary]'")
    return StoreUnavailableError(
        f"cannot use the store at {store_description()}: {reason}; check HEADWATER_DATABASE_URL and that the database "
        "is running"
    )


@_state.on_reset_late
def _dispose() -> None:
    global _database
    if _database is not None:
        _database.dispose()
    _database = None


def _is_db_error(exc: BaseException) -> bool:
    import sqlite3

    if isinstance(exc, sqlite3.OperationalError):
        return True
    return type(exc).__name__ == "OperationalError" or type(exc).__module__.startswith("psycopg")


@contextmanager
def db_write() -> Iterator[Tx]:
    """A write transaction on the fast path, committed on success, rolled back on error."""
    db = get_database()
    try:
        with db.transaction(write=True) as tx:
            yield tx
    except Exception as exc:
        if _is_db_error(exc):
            raise unavailable(exc) from exc
        raise


@contextmanager
def db_read() -> Iterator[Tx]:
    """A read transaction on the fast path."""
    db = get_database()
    try:
        with db.transaction(write=False) as tx:
            yield tx
    except Exception as exc:
        if _is_db_error(exc):
            raise unavailable(exc) from exc
        raise


def get_engine() -> Engine:
    """A SQLAlchemy engine on the store (schema migrated). SQLite engines begin write
    transactions with ``BEGIN IMMEDIATE`` when the connection has ``hw_immediate=True``."""
    return get_database().sqlalchemy_engine()


@contextmanager
def write_tx() -> Iterator[Connection]:
    """A SQLAlchemy write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
    engine = get_engine()
    try:
        with engine.connect().execution_options(hw_immediate=True) as conn, conn.begin():
            yield conn
    except Exception as exc:
        if _is_db_error(exc):
            raise unavailable(exc) from exc
        raise


@contextmanager
def read_tx() -> Iterator[Connection]:
    """A SQLAlchemy read transaction."""
    engine = get_engine()
    try:
        with engine.connect() as conn, conn.begin():
            yield conn
    except Exception as exc:
        if _is_db_error(exc):
            raise unavailable(exc) from exc
        raise


def check_integrity() -> list[str]:
    """Run the database's own integrity check; returns the problems found (empty when healthy)."""
    db = get_database()
    if db.dialect != "sqlite":
        return []
    with db.transaction(write=False) as tx:
        rows = tx.execute("PRAGMA integrity_check")
    return [str(next(iter(r.values()))) for r in rows if next(iter(r.values())) != "ok"]


