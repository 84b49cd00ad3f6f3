"""What the sync and async connectors share: fields, URL handling, the open-query rules."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from headwater.blocks import Block
from pydantic import Field, PrivateAttr, field_validator, model_validator

from headwater_sql.credentials import ConnectionComponents, DatabaseCredentials, url_fields
from headwater_sql.errors import SqlConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = ["MAX_OPEN_QUERIES", "ConnectorBase", "OpenQuery", "RuntimeState"]

DEFAULT_BATCH_SIZE = 10_000


MAX_OPEN_QUERIES = 4
"""Fetch queries a connector keeps open at once (each holds a pooled connection); past that the
least recently used one is closed."""


class OpenQuery:
    """A fetch query being read: its inputs, connection and result."""

    __slots__ = ("conn", "operation", "parameters", "result")

    def __init__(self, operation: str, parameters: Any, conn: Any, result: Any) -> None:
        self.operation, self.parameters, self.conn, self.result = operation, parameters, conn, result


class RuntimeState:
    """A connector's live objects (engine, open queries). Never saved, copied or compared."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.engine: Any = None
        self.open: list[OpenQuery] = []  # least recently used first

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RuntimeState)

    __hash__ = None  # type: ignore[assignment]

    def __copy__(self) -> RuntimeState:
        return RuntimeState()

    def __deepcopy__(self, memo: dict[int, Any]) -> RuntimeState:
        return RuntimeState()

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return (RuntimeState, ())

    def find(self, operation: str, parameters: Any) -> OpenQuery | None:
        """The open query with these inputs (now the most recently used), or None."""
        for query in self.open:
            if query.operation == operation and query.parameters == parameters:
                if query is not self.open[-1]:
                    self.open.remove(query)
                    self.open.append(query)
                return query
        return None

    def add(self, operation: str, parameters: Any, conn: Any, result: Any) -> list[OpenQuery]:
        """Keep a new open query; returns those to close to stay within :data:`MAX_OPEN_QUERIES`."""
        self.open.append(OpenQuery(operation, freeze_parameters(parameters), conn, result))
        evicted, self.open = self.open[:-MAX_OPEN_QUERIES], self.open[-MAX_OPEN_QUERIES:]
        return evicted

    def take(self, query: OpenQuery | None = None) -> list[OpenQuery]:
        """Forget ``query`` (default: every open query) and return what to close."""
        if query is None:
            taken, self.open = self.open, []
            return taken
        if query in self.open:
            self.open.remove(query)
            return [query]
        return []  # already closed (a failed fetch closes its query at once)


def freeze_parameters(parameters: Any) -> Any:
    """A copy of the parameters kept as the open cursor's key (later mutation cannot match)."""
    if parameters is None:
        return None
    if isinstance(parameters, Mapping):
        return dict(parameters)
    if isinstance(parameters, (list, tuple)):
        return list(parameters)
    return parameters


_LEADING = re.compile(r"^(?:\s+|--[^\n]*\n?|/\*.*?\*/|\()*", re.S)
_WRITES = re.compile(r"\b(?:insert|update|delete|merge)\b", re.I)


def streamable(operation: str) -> bool:
    """Whether ``operation`` can run behind a server-side cursor (PostgreSQL's DECLARE).

    Only plain queries can: SELECT, VALUES, TABLE, and WITH without data-modifying parts.
    SHOW, EXPLAIN, ``INSERT ... RETURNING`` and the like are fetched without streaming.
    """
    head = _LEADING.sub("", operation, count=1)[:6].lower()
    if head.startswith(("select", "values", "table")):
        return True
    return head.startswith("with") and not _WRITES.search(operation)


class ConnectorBase(Block):
    """Fields and helpers shared by :class:`SqlAlchemyConnector` and its async twin."""

    _block_abstract: ClassVar[bool] = True
    _async_engine: ClassVar[bool] = False

    connection_info: ConnectionComponents | DatabaseCredentials | str = Field(
        description=(
            "Where and how to connect: ConnectionComponents, a saved DatabaseCredentials block, or a "
            "SQLAlchemy URL string (split into components so that its password is kept as a secret)."
        )
    )
    connect_args: dict[str, Any] | None = Field(
        default=None, description="Extra keyword arguments passed to the driver's connect() (not for secrets)."
    )
    fetch_size: int = Field(default=1, ge=1, description="Default number of rows fetch_many returns per call.")

    _state: RuntimeState = PrivateAttr(default_factory=RuntimeState)

    def __init__(self, **data: Any) -> None:
        # Checked before pydantic sees the values, so that a bad URL or a driver of the wrong
        # kind raises SqlConfigError itself (also a ValueError, as in prefect-sqlalchemy).
        info = data.get("connection_info")
        if info is not None and not isinstance(info, (ConnectionComponents, DatabaseCredentials, Mapping)):
            data["connection_info"] = info = ConnectionComponents(**url_fields(info))
        driver = info.get("driver") if isinstance(info, Mapping) else getattr(info, "driver", None)
        if isinstance(driver, str):
            self._refuse_driver(driver)
        super().__init__(**data)

    @classmethod
    def _refuse_driver(cls, driver: str) -> None:
        from headwater_sql._engine import driver_mismatch

        message = driver_mismatch(driver, cls._async_engine)
        if message is not None:
            raise SqlConfigError(message)

    @model_validator(mode="after")
    def _driver_fits(self) -> ConnectorBase:
        # Loading a saved block or assigning connection_info does not go through __init__.
        from headwater_sql._engine import driver_mismatch

        message = driver_mismatch(self.components.driver, self._async_engine)
        if message is not None:
            raise ValueError(message)
        return self

    @field_validator("connection_info", mode="before")
    @classmethod
    def _split_url(cls, value: Any) -> Any:
        if isinstance(value, (ConnectionComponents, DatabaseCredentials, Mapping)):
            return value
        return ConnectionComponents(**url_fields(value))

    @property
    def components(self) -> ConnectionComponents | DatabaseCredentials:
        info = self.connection_info
        assert not isinstance(info, str)  # the validator splits strings
        return info

    def create_url(self) -> URL:
        """The SQLAlchemy URL this connector connects to (``repr``/``str`` mask the password)."""
        url = self.components.create_url()
        if self._async_engine:
            from headwater_sql._engine import ASYNC_DEFAULT_DRIVERS

            replacement = ASYNC_DEFAULT_DRIVERS.get(url.drivername)
            if replacement:
                url = url.set(drivername=replacement)
        return url

    @property
    def database_label(self) -> str:
        """A password-free description of the database, used in errors and logs."""
        return self.components.describe()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.database_label})"

    __str__ = __repr__


def iter_batches(rows: Iterable[Mapping[str, Any]], first: Mapping[str, Any], size: int) -> Iterable[Sequence[Any]]:
    """``first`` followed by ``rows`` (the rest of the input), in lists of at most ``size``.

    A list or tuple input is sliced rather than copied row by row; SQLAlchemy accepts any
    mappings as executemany parameters, so rows are passed on as they are.
    """
    from itertools import islice

    source = getattr(rows, "_hw_source", None)
    if source is not None:
        for start in range(0, len(source), size):
            yield source[start : start + size]
        return
    batch: list[Any] = [first]
    while True:
        batch.extend(islice(rows, size - len(batch)))
        if not batch:
            return
        yield batch
        if len(batch) < size:
            return
        batch = []


class SequenceRows:
    """An iterator over a list/tuple of rows that lets iter_batches slice the original."""

    def __init__(self, source: Sequence[Any]) -> None:
        self._hw_source = source
        self._it = iter(source)

    def __iter__(self) -> SequenceRows:
        return self

    def __next__(self) -> Any:
        return next(self._it)


def start_rows(rows: Iterable[Mapping[str, Any]]) -> tuple[Any, Mapping[str, Any] | None]:
    """``(rest, first)``: an iterator over ``rows`` and its first row (None when empty)."""
    iterator: Any = SequenceRows(rows) if isinstance(rows, (list, tuple)) else iter(rows)
    return iterator, next(iterator, None)


def column_types(first: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``(name, SQLAlchemy type)`` of each column, from the Python values of the first row."""
    import datetime
    import decimal
    import uuid

    import sqlalchemy as sa

    def type_of(value: Any) -> Any:
        if isinstance(value, bool):
            return sa.Boolean()
        if isinstance(value, int):
            return sa.BigInteger()
        if isinstance(value, float):
            return sa.Double()
        if isinstance(value, decimal.Decimal):
            return sa.Numeric()
        if isinstance(value, datetime.datetime):
            return sa.DateTime(timezone=value.tzinfo is not None)
        if isinstance(value, datetime.date):
            return sa.Date()
        if isinstance(value, datetime.time):
            return sa.Time()
        if isinstance(value, (bytes, bytearray, memoryview)):
            return sa.LargeBinary()
        if isinstance(value, uuid.UUID):
            return sa.Uuid()
        if isinstance(value, (dict, list)):
            return sa.JSON()
        return sa.Text()

    return [(str(name), type_of(value)) for name, value in first.items()]


def insert_targets(table: str, schema: str | None, first: Mapping[str, Any], typed_binds: bool) -> tuple[Any, Any, str]:
    """``(insert statement, Table to create, label)`` for rows shaped like ``first``.

    The statement binds plain-``str`` column names (a ``Table``'s ``quoted_name`` keys make
    every row's parameter lookups slower). With ``typed_binds`` (a table created from these
    types) values are bound with the inferred types, so Decimal, datetime or dict values are
    converted for the driver; otherwise they go to the driver as they are, because some
    dialects cast typed binds (``::VARCHAR``) in ways an existing column may not accept.
    """
    import sqlalchemy as sa

    typed = column_types(first)
    columns = [sa.column(name, type_) if typed_binds else sa.column(name) for name, type_ in typed]
    statement = sa.insert(sa.table(table, *columns, schema=schema))
    target = sa.Table(table, sa.MetaData(), *[sa.Column(name, type_) for name, type_ in typed], schema=schema)
    label = f"INSERT INTO {schema + '.' if schema else ''}{table} ({', '.join(name for name, _ in typed)}) VALUES (...)"
    return statement, target, label
