"""The sql_execute and sql_query tasks inside a flow, with a block or a saved block's name."""

from __future__ import annotations

import pytest
from headwater_sql import SqlAlchemyConnector, SqlExecutionError, sql_execute, sql_query

flow = pytest.importorskip("headwater.runtime.flows", reason="the flow runtime is not installed").flow


def test_tasks_in_a_flow(db_url: str) -> None:
    SqlAlchemyConnector(connection_info=db_url).save("warehouse")

    @flow
    def pipeline(limit: int) -> list[tuple]:
        sql_execute("warehouse", "CREATE TABLE events (id INTEGER, kind VARCHAR(10))")
        changed = sql_execute("warehouse", "INSERT INTO events VALUES (1, 'a'), (2, 'b'), (3, 'a')")
        assert changed in (3, -1)
        with SqlAlchemyConnector.load("warehouse") as db:
            return sql_query(db, "SELECT id FROM events WHERE kind = :kind AND id <= :limit ORDER BY id",
                             {"kind": "a", "limit": limit})

    assert pipeline(3) == [(1,), (3,)]


def test_failing_task_reports_the_sql_error(db_url: str) -> None:
    SqlAlchemyConnector(connection_info=db_url).save("warehouse")

    @flow
    def pipeline() -> None:
        sql_query("warehouse", "SELECT * FROM missing_table")

    with pytest.raises(SqlExecutionError, match="missing_table"):
        pipeline()
