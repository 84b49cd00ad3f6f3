"""Run history on a PostgreSQL store (the team setup): same rows, same CLI answers."""

from __future__ import annotations

import json

import pytest
from headwater.runtime import flow, get_run_logger, start_task_run, task
from rt_support import cli, history

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(postgres_database, monkeypatch):
    from headwater.settings import reset_settings

    monkeypatch.setenv("HEADWATER_DATABASE_URL", postgres_database)
    reset_settings()
    yield postgres_database
    reset_settings()


def test_flow_history_on_postgres(pg_store):
    @task(retries=1)
    def flaky(x, seen=[]):  # noqa: B006 (counts attempts across calls)
        seen.append(x)
        if len(seen) == 1:
            raise OSError("once")
        return x

    @flow
    def etl(n: int):
        get_run_logger().info("on postgres")
        first = flaky.submit(n)
        dbt = start_task_run("model.shop.orders", upstream_ids=[first.task_run_id])
        dbt.finish("Completed", metadata={"rows_affected": 7})
        return flaky(first)

    assert etl(5) == 5
    reader = history()
    (run,) = reader.list_flow_runs()
    assert run["state"] == "Completed" and run["parameters"] == {"n": 5} and run["task_runs"] == 3
    tasks = {t["name"]: t for t in reader.list_task_runs(run["id"])}
    assert tasks["model.shop.orders"]["metadata"] == {"rows_affected": 7}
    assert len(tasks["model.shop.orders"]["upstream"]) == 1
    assert "on postgres" in [r["message"] for r in reader.list_logs(run["id"])]
    shown = json.loads(cli("runs", "show", run["id"], "-o", "json").stdout)
    assert sorted(t["state"] for t in shown["task_runs"]) == ["Completed"] * 3
    assert reader.prune(0) == {"flow_runs": 1, "task_runs": 3}
