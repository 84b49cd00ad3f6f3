"""Headwater plugin hooks of headwater-sql (imports stay lazy: no SQLAlchemy at load time)."""

from __future__ import annotations

from collections.abc import Callable

from headwater import hookimpl


@hookimpl
def register_block_types(register: Callable[[type], None]) -> None:
    from headwater_sql.async_connector import AsyncSqlAlchemyConnector
    from headwater_sql.connector import SqlAlchemyConnector
    from headwater_sql.credentials import DatabaseCredentials

    register(DatabaseCredentials)
    register(SqlAlchemyConnector)
    register(AsyncSqlAlchemyConnector)
