"""Turning SQLAlchemy and driver errors into headwater-sql's errors (one clear line each).

Messages never contain a password or the values of statement parameters.
"""

from __future__ import annotations

from typing import Any, NoReturn

from headwater.redaction import redact

from headwater_sql.errors import SqlConnectionError, SqlDriverNotInstalledError, SqlError, SqlExecutionError

__all__ = [
    "connection_error",
    "execution_error",
    "first_line",
    "missing_module_error",
    "raise_execution_error",
    "shorten",
]

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


def missing_module_error(module: str, database: str) -> SqlDriverNotInstalledError:
    top = module.split(".")[0]
    extra = _EXTRAS.get(top)
    fix = f"pip install 'headwater-sql[{extra}]'" if extra else f"pip install {top}"
    return SqlDriverNotInstalledError(f"the driver module {top!r} needed for {database} is not installed: {fix}")


def first_line(exc: BaseException) -> str:
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
        missing = exc.name or getattr(exc.__cause__, "name", None) or ("greenlet" if "greenlet" in str(exc) else str(exc))
        return missing_module_error(missing, database)
    return SqlConnectionError(
        f"cannot connect to {database}: {redact(first_line(exc))}; "
        "check the host, port, database name and credentials of the connection_info"
    )


def execution_error(exc: BaseException, database: str, statement: Any, what: str = "statement") -> SqlError:
    if isinstance(exc, SqlError):
        return exc
    text = shorten(statement)
    return SqlExecutionError(
        f"SQL {what} failed on {database}: {redact(first_line(exc))} [statement: {redact(text)}] (parameters hidden)",
        statement=str(statement),
        database=database,
    )


def raise_execution_error(exc: BaseException, database: str, statement: Any, what: str = "statement") -> NoReturn:
    raise execution_error(exc, database, statement, what) from exc


