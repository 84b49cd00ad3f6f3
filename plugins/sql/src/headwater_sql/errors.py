"""Errors raised by headwater-sql; each names the database and says what to do.

Messages never contain a password or the values of statement parameters. An error raised in
place of a SQLAlchemy error is also an instance of that error's class (``except
sqlalchemy.exc.IntegrityError:`` still catches a duplicate key), with ``orig`` the driver's
exception and ``params`` None.
"""

from __future__ import annotations

from headwater.errors import ConfigError, ConnectionFailedError, HeadwaterError, PluginError

__all__ = ["SqlConfigError", "SqlConnectionError", "SqlDriverNotInstalledError", "SqlError", "SqlExecutionError"]


class SqlError(HeadwaterError):
    """Base class of every headwater-sql error."""


class SqlConfigError(SqlError, ConfigError, ValueError):
    """The connection settings are invalid (a URL that does not parse, an async driver given to the sync
    connector, ...).

    Also a ``ValueError``, as prefect-sqlalchemy raises for these.
    """


class SqlDriverNotInstalledError(SqlError, PluginError):
    """The database driver (DBAPI module or SQLAlchemy dialect) a URL names is not installed."""


class SqlConnectionError(SqlError, ConnectionFailedError):
    """The database could not be reached or refused the credentials."""


class SqlExecutionError(SqlError):
    """A statement failed; the message names the database and the statement (parameters hidden).

    Attributes:
        statement: The SQL text that failed.
        database: A password-free description of the database.
    """

    def __init__(self, message: str, statement: str | None = None, database: str | None = None) -> None:
        super().__init__(message)
        self.statement = statement
        self.database = database
