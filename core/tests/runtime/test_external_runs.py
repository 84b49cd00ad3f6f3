"""start_task_run: recording work that is not a Python task (dbt nodes) in run history."""

from __future__ import annotations

import pytest
from headwater.history import reader
from headwater.history.writer import flush
from headwater.runtime import start_task_run
from headwater.runtime._errors import UnknownStateError


def test_standalone_external_runs_are_recorded_with_lineage_and_metadata():
    seed = start_task_run("seed.shop.raw_orders", tags=["dbt"], parameters={"full_refresh": False})
    seed.finish("Completed", metadata={"rows_affected": 12})
    model = start_task_run("model.shop.orders", task_key="model.shop.orders", upstream_ids=[seed.id])
    model.finish("Failed", message="Database Error: relation missing")
    flush()
    runs = {r["name"]: r for r in reader.list_task_runs(None)}
    assert runs["seed.shop.raw_orders"]["state"] == "Completed"
    assert runs["seed.shop.raw_orders"]["metadata"] == {"rows_affected": 12}
    assert runs["seed.shop.raw_orders"]["parameters"] == {"full_refresh": False}
    assert runs["seed.shop.raw_orders"]["tags"] == ["dbt"]
    assert runs["model.shop.orders"]["state"] == "Failed"
    assert runs["model.shop.orders"]["message"] == "Database Error: relation missing"
    assert [s for s, _ in runs["model.shop.orders"]["transitions"]] == ["Running", "Failed"]
    assert runs["seed.shop.raw_orders"]["duration"] >= 0


def test_unknown_state_is_one_clear_error():
    tr = start_task_run("x")
    with pytest.raises(UnknownStateError, match="unknown state 'Exploded'.*Completed"):
        tr.finish("Exploded")
    tr.finish("skipped")
    flush()
    assert reader.list_task_runs(None)[0]["state"] == "Skipped"
