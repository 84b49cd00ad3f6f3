"""Connection settings: :class:`ConnectionComponents` and the :class:`DatabaseCredentials` block.

A URL string such as ``postgresql+psycopg://etl:pw@db:5432/warehouse`` is split into these
fields, so that its password lives in a ``SecretStr`` (stored by the secret backend, masked
everywhere) instead of inside a plain string.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

from headwater.blocks import Block
from headwater.redaction import remember
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from headwater_sql.errors import SqlConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

__all__ = ["AsyncDriver", "ConnectionComponents", "DatabaseCredentials", "SyncDriver", "describe_url"]


class SyncDriver(str, Enum):
    """Common synchronous SQLAlchemy drivers (any ``dialect+driver`` string works too)."""

    SQLITE_PYSQLITE = "sqlite+pysqlite"
    POSTGRESQL_PSYCOPG = "postgresql+psycopg"
    POSTGRESQL_PSYCOPG2 = "postgresql+psycopg2"
    POSTGRESQL_PG8000 = "postgresql+pg8000"
    DUCKDB = "duckdb"
    MYSQL_PYMYSQL = "mysql+pymysql"
    MYSQL_MYSQLDB = "mysql+mysqldb"
    MSSQL_PYODBC = "mssql+pyodbc"
    ORACLE_ORACLEDB = "oracle+oracledb"


class AsyncDriver(str, Enum):
    """Common asyncio SQLAlchemy drivers, for :class:`AsyncSqlAlchemyConnector`."""

    SQLITE_AIOSQLITE = "sqlite+aiosqlite"
    POSTGRESQL_PSYCOPG = "postgresql+psycopg"
    POSTGRESQL_PSYCOPG_ASYNC = "postgresql+psycopg_async"
    POSTGRESQL_ASYNCPG = "postgresql+asyncpg"
    MYSQL_AIOMYSQL = "mysql+aiomysql"
    MYSQL_ASYNCMY = "mysql+asyncmy"


class _ConnectionFields(BaseModel):
    """The fields shared by ConnectionComponents and DatabaseCredentials."""

    driver: str = Field(description="SQLAlchemy dialect and driver, e.g. 'postgresql+psycopg', 'sqlite', 'duckdb'.")
    database: str | None = Field(default=None, description="Database name, or the file path for SQLite and DuckDB.")
    username: str | None = Field(default=None, description="User name to connect as.")
    password: SecretStr | None = Field(default=None, description="Password of the user (kept in the secret backend).")
    host: str | None = Field(default=None, description="Host name or IP address of the database server.")
    port: int | None = Field(default=None, description="TCP port of the database server.")
    query: dict[str, str | list[str]] | None = Field(
        default=None, description="Extra URL query options passed to the driver, e.g. {'sslmode': 'require'}."
    )

    @field_validator("query")
    @classmethod
    def _no_secret_options(cls, value: Any) -> Any:
        message = _secret_options_message(value)
        if message is not None:
            raise ValueError(message)
        return value

    @field_validator("driver", mode="before")
    @classmethod
    def _driver_value(cls, value: Any) -> Any:
        return value.value if isinstance(value, Enum) else value

    def model_post_init(self, context: Any) -> None:
        if self.password is not None:
            remember(self.password)

    def create_url(self) -> URL:
        """The SQLAlchemy URL of these settings (its password comes from the secret).

        Returns:
            A ``sqlalchemy.engine.URL``; its ``repr`` and ``str`` mask the password.
        """
        from sqlalchemy.engine import URL

        return URL.create(
            drivername=self.driver,
            username=self.username,
            password=self.password.get_secret_value() if self.password is not None else None,
            host=self.host,
            port=self.port,
            database=self.database,
            query=self.query or {},
        )

    def describe(self) -> str:
        """A password-free description such as ``postgresql+psycopg://etl@db:5432/warehouse``."""
        auth = f"{self.username}@" if self.username else ""
        where = self.host or ""
        if self.port:
            where += f":{self.port}"
        return f"{self.driver}://{auth}{where}/{self.database or ''}"


class ConnectionComponents(_ConnectionFields):
    """Parts of a SQLAlchemy URL, with the password kept secret.

    Example:
        >>> ConnectionComponents(driver="sqlite", database="warehouse.db").create_url()
        sqlite:///warehouse.db
    """

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def from_url(cls, url: str | URL) -> ConnectionComponents:
        """Split a URL string (or ``sqlalchemy.engine.URL``) into components.

        Raises:
            SqlConfigError: the string is not a SQLAlchemy URL (the string itself is not echoed,
                as it may hold a password).
        """
        return cls(**url_fields(url))


class DatabaseCredentials(_ConnectionFields, Block):
    """Credentials of a SQL database, saved as a block (the name Prefect users know).

    Use it on its own (``create_url()``, ``get_engine()``) or as the ``connection_info`` of a
    :class:`SqlAlchemyConnector`, which then refers to the saved credentials by name.
    """

    _block_type_slug = "database-credentials"

    def get_engine(self, **create_engine_kwargs: Any) -> Engine:
        """A new SQLAlchemy engine for these credentials (the caller disposes of it)."""
        from sqlalchemy import create_engine

        create_engine_kwargs.setdefault("hide_parameters", True)
        return create_engine(self.create_url(), **create_engine_kwargs)

    def to_components(self) -> ConnectionComponents:
        """The same settings as :class:`ConnectionComponents`."""
        return ConnectionComponents(**{name: getattr(self, name) for name in _ConnectionFields.model_fields})

    def check(self) -> None:
        """Connect and run ``SELECT 1``.

        Raises:
            SqlConnectionError: the database cannot be reached or refuses the credentials.
        """
        from headwater_sql._engine import check_engine

        engine = self.get_engine()
        try:
            check_engine(engine, self.describe())
        finally:
            engine.dispose()


def url_fields(url: Any) -> dict[str, Any]:
    """The ConnectionComponents fields of a URL string or ``sqlalchemy.engine.URL``."""
    from sqlalchemy.engine import URL, make_url
    from sqlalchemy.exc import ArgumentError

    if not isinstance(url, URL):
        try:
            url = make_url(str(url))
        except (ArgumentError, ValueError):
            raise SqlConfigError(
                "connection_info is not a SQLAlchemy URL; expected 'dialect+driver://user:password@host:port/database' "
                "(for example 'postgresql+psycopg://etl:pw@db:5432/warehouse' or 'sqlite:///warehouse.db')"
            ) from None
    query = {k: (list(v) if isinstance(v, tuple) else v) for k, v in url.query.items()}
    password = url.password
    for key in [k for k in query if k.lower() == "password"]:
        value = query.pop(key)
        if password is not None or isinstance(value, list):
            raise SqlConfigError(
                "connection_info gives the password twice (in user:password@ and as a ?password= query option): keep "
                "one"
            )
        password = value
    _refuse_secret_options(query)
    return {
        "driver": url.drivername,
        "database": url.database,
        "username": url.username,
        "password": SecretStr(password) if password is not None else None,
        "host": url.host,
        "port": url.port,
        "query": query or None,
    }


def _secret_options_message(query: dict[str, Any] | None) -> str | None:
    """Secret-named query options would be stored in plain text: say so (by name only)."""
    from headwater.store.urls import is_secret_option

    secret = sorted(k for k in query or {} if is_secret_option(k))
    if not secret:
        return None
    return (
        f"the URL query option(s) {', '.join(secret)} look like secrets, but query options (like connect_args) are "
        f"stored in plain text: give a password in the password field (user:password@ or ?password= in a URL), "
        f"and pass other secrets to the driver outside the block (e.g. its environment variables, like PGSSLPASSWORD)"
    )


def _refuse_secret_options(query: dict[str, Any] | None) -> None:
    message = _secret_options_message(query)
    if message is not None:
        raise SqlConfigError(message)


def describe_url(url: Any) -> str:
    """A password-free description of a URL, a ConnectionComponents or DatabaseCredentials."""
    if isinstance(url, _ConnectionFields):
        return url.describe()
    return ConnectionComponents(**url_fields(url)).describe()
