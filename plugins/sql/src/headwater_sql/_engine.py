"""Shared machinery: engine creation, translating driver errors into one clear error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from headwater.redaction import redact

from headwater_sql.errors import (
    SqlConfigError,
    SqlConnectionError,
    SqlDriverNotInstalledError,
    SqlError,
    SqlExecutionError,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

_EXTRAS = {
    "psycopg": "postgres",
    "psycopg2": "postgres",
    "duckdb": "duckdb",
    "duckdb_engine": "duckdb",
    "aiosqlite": "sqlite-async",
    "pandas": "pandas",
    "greenlet": "async",
}
_STATEMENT_LIMIT = 300

# A plain "sqlite://" or "postgresql://" URL given to the async connector gets the async driver.
ASYNC_DEFAULT_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
}


def missing_module_error(module: str, database: str) -> SqlDriverNotInstalledError:
    top = module.split(".")[0]
    extra = _EXTRAS.get(top)
    fix = f"pip install 'headwater-sql[{extra}]'" if extra else f"pip install {top}"
    return SqlDriverNotInstalledError(f"the driver module {top!r} needed for {database} is not installed: {fix}")


def build_engine(url: URL, database: str, connect_args: dict[str, Any] | None, kwargs: dict[str, Any],
                 is_async: bool = False) -> Any:
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
            f"SQLAlchemy has no dialect {url.drivername!r} (for {database}); check the driver name or install its "
            "dialect package"
        ) from None
    except sa_exc.InvalidRequestError as exc:
        raise SqlConfigError(f"cannot create an engine for {database}: {redact(_first_line(exc))}") from None
    except (sa_exc.ArgumentError, TypeError) as exc:
        raise SqlConfigError(f"invalid engine options for {database}: {redact(_first_line(exc))}") from None


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    line = text.splitlines()[0].strip() if text else type(exc).__name__
    # SQLAlchemy appends "(Background on this error at: ...)" and "[SQL: ...]" blocks.
    for marker in (" [SQL:", "(Background on this error"):
        cut = line.find(marker)
        if cut > 0:
            line = line[:cut].rstrip()
    return line


def shorten(statement: Any) -> str:
    text = " ".join(str(statement).split())
    return text if len(text) <= _STATEMENT_LIMIT else text[: _STATEMENT_LIMIT - 3] + "..."


def connection_error(exc: BaseException, database: str) -> SqlError:
    if isinstance(exc, SqlError):
        return exc
    if isinstance(exc, ImportError):
        missing = exc.name or getattr(exc.__cause__, "name", None) or (
            "greenlet" if "greenlet" in str(exc) else str(exc)
        )
        return missing_module_error(missing, database)
    return SqlConnectionError(
        f"cannot connect to {database}: {redact(_first_line(exc))}; "
        "check the host, port, database name and credentials of the connection_info"
    )


def execution_error(exc: BaseException, database: str, statement: Any, what: str = "statement") -> SqlError:
    if isinstance(exc, SqlError):
        return exc
    text = shorten(statement)
    return SqlExecutionError(
        f"SQL {what} failed on {database}: {redact(_first_line(exc))} [statement: {redact(text)}] (parameters hidden)",
        statement=str(statement),
        database=database,
    )


def raise_execution_error(exc: BaseException, database: str, statement: Any, what: str = "statement") -> NoReturn:
    raise execution_error(exc, database, statement, what) from exc


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
