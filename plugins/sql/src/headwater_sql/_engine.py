"""Engine creation for the connectors, with SQLAlchemy's errors turned into headwater-sql's."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from headwater.redaction import redact

from headwater_sql._translate import (
    connection_error_listener,
    first_line,
    missing_module_error,
    raise_connection_error,
    raise_execution_error,
    with_original,
)
from headwater_sql.errors import SqlConfigError, SqlDriverNotInstalledError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

# A plain "sqlite://" or "postgresql://" URL (no driver named) given to the async connector gets the async driver.
ASYNC_DEFAULT_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
}


def build_engine(
    url: URL, database: str, connect_args: dict[str, Any] | None, kwargs: dict[str, Any], is_async: bool = False
) -> Any:
    """``create_engine`` (or ``create_async_engine``) with errors turned into SqlError."""
    from sqlalchemy import exc as sa_exc

    kwargs = dict(kwargs)
    kwargs.setdefault("hide_parameters", True)
    if connect_args:
        kwargs["connect_args"] = {**connect_args, **kwargs.get("connect_args", {})}
    try:
        if is_async:
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine(url, **kwargs)
        else:
            from sqlalchemy import create_engine

            engine = create_engine(url, **kwargs)
    except ModuleNotFoundError as exc:
        raise missing_module_error(exc.name or str(exc), database) from None
    except sa_exc.NoSuchModuleError as exc:
        raise with_original(
            SqlDriverNotInstalledError,
            f"SQLAlchemy has no dialect {url.drivername!r} (for {database}); "
            "check the driver name or install its dialect package",
            exc,
        ) from None
    except sa_exc.InvalidRequestError as exc:
        raise with_original(
            SqlConfigError, f"cannot create an engine for {database}: {redact(first_line(exc))}", exc
        ) from None
    except (sa_exc.ArgumentError, TypeError) as exc:
        raise with_original(
            SqlConfigError, f"invalid engine options for {database}: {redact(first_line(exc))}", exc
        ) from None
    from sqlalchemy import event

    event.listen(getattr(engine, "sync_engine", engine), "handle_error", connection_error_listener(database))
    return engine


def check_engine(engine: Engine, database: str) -> None:
    """Connect and run ``SELECT 1``; raise SqlConnectionError / SqlExecutionError on failure."""
    from sqlalchemy import text

    try:
        conn = engine.connect()
    except Exception as exc:
        raise_connection_error(exc, database)
    try:
        with conn:
            conn.execute(text("SELECT 1")).scalar()
    except Exception as exc:
        raise_execution_error(exc, database, "SELECT 1", "check")


@functools.lru_cache(maxsize=64)
def driver_mismatch(driver: str, want_async: bool) -> str | None:
    """Why ``driver`` does not fit a sync (or async) connector, or None when it fits or is unknown.

    Asks SQLAlchemy's dialect class (``is_async``), which needs the dialect module but not
    the driver itself; a dialect that cannot be loaded is left to engine creation, which says
    what to install.
    """
    if want_async:
        driver = ASYNC_DEFAULT_DRIVERS.get(driver, driver)
    try:
        from sqlalchemy.engine import URL

        dialect = URL.create(driver).get_dialect(_is_async=want_async)
    except Exception:
        return None
    if bool(getattr(dialect, "is_async", False)) == want_async:
        return None
    if want_async:
        return (
            f"the driver {driver!r} is not an asyncio driver: use SqlAlchemyConnector with it, or give "
            "AsyncSqlAlchemyConnector an async driver such as 'sqlite+aiosqlite', 'postgresql+psycopg' "
            "or 'postgresql+asyncpg'"
        )
    return (
        f"the driver {driver!r} is an asyncio driver: use AsyncSqlAlchemyConnector with it, or give "
        "SqlAlchemyConnector a synchronous driver such as 'sqlite', 'postgresql+psycopg' or 'duckdb'"
    )
