"""Tasks for flows: :func:`sql_execute` and :func:`sql_query`.

Each accepts a connector block or the name of a saved ``sqlalchemy-connector`` block.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headwater_sql.connector import SqlAlchemyConnector

__all__ = ["sql_execute", "sql_query"]


def _connector(connector: SqlAlchemyConnector | str) -> tuple[SqlAlchemyConnector, bool]:
    if isinstance(connector, str):
        return SqlAlchemyConnector.load(connector), True
    return connector, False


def _sql_execute(
    connector: SqlAlchemyConnector | str, operation: str, parameters: Mapping[str, Any] | None = None
) -> int:
    """Run one statement in its own transaction.

    Args:
        connector: A SqlAlchemyConnector, or the name of a saved one.
        operation: The SQL statement (bind parameters as ``:name``).
        parameters: Values of the bind parameters.

    Returns:
        The number of rows the statement changed (-1 when the database does not say).
    """
    db, owned = _connector(connector)
    try:
        return db.execute(operation, parameters).rowcount
    finally:
        if owned:
            db.close()


def _sql_query(
    connector: SqlAlchemyConnector | str, operation: str, parameters: Mapping[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    """Run a query and return every row as a tuple.

    Args:
        connector: A SqlAlchemyConnector, or the name of a saved one.
        operation: The SQL query (bind parameters as ``:name``).
        parameters: Values of the bind parameters.

    Returns:
        The rows, as plain tuples (so the result can be cached and persisted).
    """
    db, owned = _connector(connector)
    try:
        return [tuple(row) for row in db.fetch_all(operation, parameters)]
    finally:
        if owned:
            db.close()


def _as_task(fn: Any, name: str) -> Any:
    try:
        from headwater import task
    except (ImportError, AttributeError):  # a core without the flow runtime: plain functions
        return fn
    return task(fn, name=name)


sql_execute = _as_task(_sql_execute, "sql_execute")
sql_query = _as_task(_sql_query, "sql_query")
