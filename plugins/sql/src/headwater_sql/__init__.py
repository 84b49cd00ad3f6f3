"""Headwater's SQL plugin: SQLAlchemy connector blocks, loading helpers and tasks.

Names are imported lazily: importing ``headwater_sql`` imports neither SQLAlchemy nor a driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.lazy import lazy_exports

__all__ = [
    "AsyncDriver",
    "AsyncSqlAlchemyConnector",
    "ConnectionComponents",
    "DatabaseCredentials",
    "SqlAlchemyConnector",
    "SqlConfigError",
    "SqlConnectionError",
    "SqlDriverNotInstalledError",
    "SqlError",
    "SqlExecutionError",
    "SyncDriver",
    "sql_execute",
    "sql_query",
]

_EXPORTS = {
    "AsyncDriver": "headwater_sql.credentials",
    "SyncDriver": "headwater_sql.credentials",
    "ConnectionComponents": "headwater_sql.credentials",
    "DatabaseCredentials": "headwater_sql.credentials",
    "SqlAlchemyConnector": "headwater_sql.connector",
    "AsyncSqlAlchemyConnector": "headwater_sql.async_connector",
    "SqlConfigError": "headwater_sql.errors",
    "SqlConnectionError": "headwater_sql.errors",
    "SqlDriverNotInstalledError": "headwater_sql.errors",
    "SqlError": "headwater_sql.errors",
    "SqlExecutionError": "headwater_sql.errors",
    "sql_execute": "headwater_sql.tasks",
    "sql_query": "headwater_sql.tasks",
}

if TYPE_CHECKING:
    from headwater_sql.async_connector import AsyncSqlAlchemyConnector  # noqa: F401
    from headwater_sql.connector import SqlAlchemyConnector  # noqa: F401
    from headwater_sql.credentials import AsyncDriver, ConnectionComponents, DatabaseCredentials, SyncDriver  # noqa: F401
    from headwater_sql.errors import (  # noqa: F401
        SqlConfigError,
        SqlConnectionError,
        SqlDriverNotInstalledError,
        SqlError,
        SqlExecutionError,
    )
    from headwater_sql.tasks import sql_execute, sql_query  # noqa: F401


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
