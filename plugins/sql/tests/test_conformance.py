"""Every block of headwater-sql passes the core BlockConformanceSuite."""

from __future__ import annotations

from headwater.testing import BlockConformanceSuite
from headwater_sql import AsyncSqlAlchemyConnector, ConnectionComponents, DatabaseCredentials, SqlAlchemyConnector

PASSWORD = "pl4nted-Secret-pw"


class TestDatabaseCredentials(BlockConformanceSuite):
    block_cls = DatabaseCredentials
    plugin_name = "sql"

    def make_block(self) -> DatabaseCredentials:
        return DatabaseCredentials(
            driver="postgresql+psycopg", database="wh", username="etl", password=PASSWORD, host="db.internal", port=5432
        )


class TestSqlAlchemyConnectorFromUrl(BlockConformanceSuite):
    """A URL string with a password: the password must end up in the secret backend only."""

    block_cls = SqlAlchemyConnector
    plugin_name = "sql"

    def make_block(self) -> SqlAlchemyConnector:
        return SqlAlchemyConnector(
            connection_info=f"postgresql+psycopg://etl:{PASSWORD}@db.internal:5432/wh?sslmode=require", fetch_size=50
        )


class TestSqlAlchemyConnectorFromComponents(BlockConformanceSuite):
    block_cls = SqlAlchemyConnector
    plugin_name = "sql"

    def make_block(self) -> SqlAlchemyConnector:
        return SqlAlchemyConnector(
            connection_info=ConnectionComponents(driver="sqlite", database="/tmp/w.db", password=PASSWORD),
            connect_args={"timeout": 10},
        )


class TestAsyncSqlAlchemyConnector(BlockConformanceSuite):
    block_cls = AsyncSqlAlchemyConnector
    plugin_name = "sql"

    def make_block(self) -> AsyncSqlAlchemyConnector:
        return AsyncSqlAlchemyConnector(connection_info=f"postgresql+psycopg://etl:{PASSWORD}@db.internal/wh")
