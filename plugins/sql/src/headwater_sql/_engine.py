"""Engine creation for the connectors, with SQLAlchemy's errors turned into headwater-sql's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.redaction import redact

from headwater_sql._translate import connection_error, first_line, missing_module_error, raise_execution_error
from headwater_sql.errors import SqlConfigError, SqlDriverNotInstalledError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

# A plain "sqlite://" or "postgresql://" URL given to the async connector gets the async driver.
ASYNC_DEFAULT_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
}


def build_engine(url: URL, database: str, connect_args: dict[str, Any] | None, kwargs: dict[str, Any], is_async: bool = False) -> Any:
    """``create_engine`` (or ``create_async_engine``) with errors turned into SqlError."""
    from sqlalchemy import exc as sa_exc

    kwargs = dict(kwargs)
    kwargs.setdefault("hide_parameters", True)
    if connect_args:
        kwargs["connect_args"] = {**connect_args, **kwargs.get("connect_args", {})}
    try:
        if is_async:
            from sqlalchemy.ext.asyncio import create_async_engine

            return create_async_engine(url, **kwargs)
        from sqlalchemy import create_engine

        return create_engine(url, **kwargs)
    except ModuleNotFoundError as exc:
        raise missing_module_error(exc.name or str(exc), database) from None
    except sa_exc.NoSuchModuleError:
        raise SqlDriverNotInstalledError(
            f"SQLAlchemy has no dialect {url.drivername!r} (for {database}); check the driver name or install its dialect package"
        ) from None
    except sa_exc.InvalidRequestError as exc:
        raise SqlConfigError(f"cannot create an engine for {database}: {redact(first_line(exc))}") from None
    except (sa_exc.ArgumentError, TypeError) as exc:
        raise SqlConfigError(f"invalid engine options for {database}: {redact(first_line(exc))}") from None


def check_engine(engine: Engine, database: str) -> None:
    """Connect and run ``SELECT 1``; raise SqlConnectionError / SqlExecutionError on failure."""
    from sqlalchemy import text

    try:
        conn = engine.connect()
    except Exception as exc:
        raise connection_error(exc, database) from exc
    try:
        with conn:
            conn.execute(text("SELECT 1")).scalar()
    except Exception as exc:
        raise_execution_error(exc, database, "SELECT 1", "check")
