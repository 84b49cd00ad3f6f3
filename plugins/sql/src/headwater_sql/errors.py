"""Errors raised by headwater-sql; each names the database and says what to do.

Messages never contain a password or the values of statement parameters.
"""

from __future__ import annotations

from headwater.errors import ConfigError, ConnectionFailedError, HeadwaterError, PluginError

__all__ = ["SqlConfigError", "SqlConnectionError", "SqlDriverNotInstalledError", "SqlError", "SqlExecutionError"]


class SqlError(HeadwaterError):
    """Base class of every headwater-sql error."""


class SqlConfigError(SqlError, ConfigError):
    """The connection settings are invalid (for example a URL that does not parse)."""


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
