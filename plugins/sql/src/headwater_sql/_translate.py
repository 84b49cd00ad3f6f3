"""Turning SQLAlchemy and driver errors into headwater-sql's errors (one clear line each).

Messages never contain a password or the values of statement parameters.
"""

from __future__ import annotations

from typing import Any, NoReturn

from headwater.redaction import redact

from headwater_sql.errors import SqlConnectionError, SqlDriverNotInstalledError, SqlError, SqlExecutionError

__all__ = [
    "connection_error",
    "connection_error_listener",
    "execution_error",
    "first_line",
    "missing_module_error",
    "raise_connection_error",
    "raise_execution_error",
    "shorten",
    "with_original",
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
        missing = (
            exc.name or getattr(exc.__cause__, "name", None) or ("greenlet" if "greenlet" in str(exc) else str(exc))
        )
        return missing_module_error(missing, database)
    return with_original(
        SqlConnectionError,
        f"cannot connect to {database}: {redact(first_line(exc))}; "
        "check the host, port, database name and credentials of the connection_info",
        exc,
    )


def execution_error(exc: BaseException, database: str, statement: Any, what: str = "statement") -> SqlError:
    if isinstance(exc, SqlError):
        return exc
    text = shorten(statement)
    return with_original(
        SqlExecutionError,
        f"SQL {what} failed on {database}: {redact(first_line(exc))} [statement: {redact(text)}] (parameters hidden)",
        exc,
        statement=str(statement),
        database=database,
    )


def raise_execution_error(exc: BaseException, database: str, statement: Any, what: str = "statement") -> NoReturn:
    _raise_from(execution_error(exc, database, statement, what), exc)


def raise_connection_error(exc: BaseException, database: str) -> NoReturn:
    _raise_from(connection_error(exc, database), exc)


def _raise_from(err: BaseException, exc: BaseException) -> NoReturn:
    if err is exc:  # already ours (raised by the engine's listener): not chained to itself
        raise err
    raise err from exc




def connection_error_listener(database: str) -> Any:
    """A ``handle_error`` listener raising :class:`SqlConnectionError` for a failed connect.

    Installed on every engine a connector builds, so that connections made through SQLAlchemy's
    own context managers (``engine.begin()``, ``engine.connect()``, as ``get_connection`` returns
    them) fail with the same one-line error as the connector's methods.
    """

    def on_error(context: Any) -> None:
        if context.connection is None and context.statement is None:
            original = context.sqlalchemy_exception or context.original_exception
            raise connection_error(original, database) from original

    return on_error


# -- errors that are also the SQLAlchemy error they replace ----------------------------------

_MIXED: dict[tuple[type, type], type] = {}


def with_original(ours: type[SqlError], message: str, original: BaseException | None, **attrs: Any) -> SqlError:
    """An instance of ``ours`` that is also an instance of ``original``'s class when that is a SQLAlchemy error.

    Code written for prefect-sqlalchemy catches ``sqlalchemy.exc.IntegrityError``,
    ``OperationalError`` or ``SQLAlchemyError``; those clauses keep catching what headwater-sql
    raises. ``str()`` is headwater-sql's message (no parameters, no password); ``orig`` is the
    driver's exception, ``params`` is None.
    """
    cls: type[SqlError] = ours
    if original is not None and _is_sqlalchemy_error(original):
        cls = _mixed_class(ours, type(original))
    if cls is ours:
        err = ours(message, **attrs) if attrs else ours(message)
        return err
    return cls(message, _orig=getattr(original, "orig", None), **attrs)


def _is_sqlalchemy_error(exc: BaseException) -> bool:
    import sys

    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.SQLAlchemyError)


def _mixed_class(ours: type[SqlError], original: type[BaseException]) -> type[SqlError]:
    key = (ours, original)
    cls = _MIXED.get(key)
    if cls is None:
        try:
            cls = type(ours.__name__, (ours, original), {
                "__module__": ours.__module__,
                "__qualname__": ours.__qualname__,
                "__init__": _mixed_init,
                "__str__": _mixed_str,
                "__reduce__": _mixed_reduce,
                "_hw_bases": (ours, original),
            })
        except TypeError:  # bases Python cannot combine: ours alone
            cls = ours
        _MIXED[key] = cls
    return cls


def _mixed_init(self: Any, message: str, _orig: Any = None, **attrs: Any) -> None:
    # The SQLAlchemy base's __init__ wants (statement, params, orig); set what it would instead.
    Exception.__init__(self, message)
    self.statement = None
    self.params = None
    self.orig = _orig
    self.hide_parameters = True
    self.connection_invalidated = False
    self.detail = []
    self.ismulti = None
    self.__dict__.update(attrs)


def _mixed_str(self: Any) -> str:
    return str(self.args[0]) if self.args else ""


def _mixed_reduce(self: Any) -> tuple[Any, ...]:
    attrs = {k: v for k, v in self.__dict__.items() if k in ("statement", "database")}
    ours, original = self._hw_bases
    return (_rebuild, (ours, original, str(self), attrs))


def _rebuild(ours: type[SqlError], original: type[BaseException], message: str, attrs: dict[str, Any]) -> SqlError:
    return _mixed_class(ours, original)(message, **attrs)
