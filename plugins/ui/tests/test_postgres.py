"""The UI over a team store on a real PostgreSQL (the same SQL as on SQLite)."""

from __future__ import annotations

import json

import pytest
import uiflows
from headwater.settings import reset_settings
from starlette.testclient import TestClient
from ui_support import flush

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_client(postgres_database, monkeypatch):
    monkeypatch.setenv("HEADWATER_DATABASE_URL", postgres_database)
    reset_settings()
    from headwater_ui import create_app

    with TestClient(create_app()) as c:
        yield c
    reset_settings()


def test_runs_detail_logs_and_dashboard_on_postgres(pg_client):
    c = pg_client
    done = []
    for n in (2, 3, 4):
        uiflows.etl(n=n)
        done.append(uiflows.etl.last_flow_run.id)
    uiflows.Warehouse(url="db://x", password="p4ssword-long").save("wh")
    with pytest.raises(ValueError):
        uiflows.leaky("wh", password="p4ssword-long", api_token="tok-123456")
    failed = uiflows.leaky.last_flow_run.id
    flush()
    ids = lambda q: [r["id"] for r in c.get(f"/api/runs?{q}").json()["runs"]]  # noqa: E731
    assert ids("flow=etl") == done[::-1]
    assert ids("state=FAILED") == [failed] and ids("tag=secret") == [failed]
    assert ids(f"q={done[1][:6]}") == [done[1]] and ids("since=1h&until=2001-01-01") == []
    page1 = c.get("/api/runs?limit=3").json()
    page2 = c.get(f"/api/runs?limit=3&cursor={page1['next_cursor']}").json()
    assert [r["id"] for r in page1["runs"] + page2["runs"]] == [failed, *done[::-1]] and page2["next_cursor"] is None
    run = c.get(f"/api/runs/{done[0]}").json()
    tasks = {t["name"].split("-")[0]: t for t in run["task_runs"]}
    assert tasks["load"]["upstream"] == [tasks["transform"]["id"]]
    page = c.get(f"/runs/{done[0]}").text
    assert page.count("<path d=") == 2 and "loaded 1 as daily" in page
    assert "ValueError: could not log in as **********" in c.get(f"/runs/{failed}").text
    dash = c.get("/api/dashboard").json()
    assert dash["last_24h"] == {"COMPLETED": 3, "FAILED": 1}
    assert sum(sum(d["counts"].values()) for d in dash["per_day"]) == 4
    assert c.get("/").status_code == 200
    with c.stream("GET", f"/api/runs/{done[2]}/logs/stream") as r:
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    assert "loaded 6 as daily" in [e.get("message") for e in events] and events[-1]["state_type"] == "COMPLETED"
