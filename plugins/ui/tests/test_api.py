"""The JSON API and pages against a real store filled by real flow runs (starlette's TestClient)."""

from __future__ import annotations

import json
import re
import time

import pytest
import uiflows
from ui_support import flush


def _run_etl(times: int = 1) -> list[str]:
    ids = []
    for i in range(times):
        uiflows.etl(n=3 + i)
        ids.append(uiflows.etl.last_flow_run.id)
    flush()
    return ids


def _run_failing() -> str:
    uiflows.Warehouse(url="db://x", password="p4ssword-long").save("wh")
    with pytest.raises(ValueError):
        uiflows.leaky("wh", password="p4ssword-long", api_token="tok-123456")
    flush()
    return uiflows.leaky.last_flow_run.id


def test_runs_list_newest_first_with_task_counts(client):
    ids = _run_etl(3)
    data = client.get("/api/runs").json()
    assert [r["id"] for r in data["runs"]] == ids[::-1]
    assert data["runs"][0]["task_runs"] == 3
    assert data["runs"][0]["state_type"] == "COMPLETED"
    assert data["runs"][0]["tags"] == ["nightly", "etl"] or sorted(data["runs"][0]["tags"]) == ["etl", "nightly"]
    assert data["next_cursor"] is None
    html = client.get("/runs").text
    for run_id in ids:
        assert f'href="/runs/{run_id}"' in html


def test_runs_filters(client):
    done = _run_etl(2)
    failed = _run_failing()
    get = lambda q: [r["id"] for r in client.get(f"/api/runs?{q}").json()["runs"]]  # noqa: E731
    assert get("state=FAILED") == [failed]
    assert get("state=failed,completed") == [failed, *done[::-1]]
    assert get("flow=etl") == done[::-1]
    assert get("tag=secret") == [failed]
    assert get("tag=nightly&tag=etl") == done[::-1]
    assert get(f"q={failed[:8]}") == [failed]
    name = client.get(f"/api/runs/{done[0]}").json()["name"]
    assert get(f"q={name.upper()[2:]}") == [done[0]]
    assert set(get("since=1h")) == {*done, failed}
    assert get("until=2001-01-01") == []
    assert get(f"since={time.time() + 60}") == []
    assert get("q=%25") == []  # a % typed is a character, not a wildcard
    # the page shows the same, with the filter kept in the form
    html = client.get("/runs?state=FAILED").text
    assert f'href="/runs/{failed}"' in html and f'href="/runs/{done[0]}"' not in html
    assert re.search(r'value="FAILED" checked', html)
    html = client.get("/runs?flow=etl").text
    assert '<option value="etl" selected>etl</option>' in html and '<option value="leaky">leaky</option>' in html
    assert f'href="/runs/{failed}"' not in html


@pytest.mark.parametrize(
    "query, message",
    [
        ("state=EXPLODED", "unknown state 'EXPLODED'"),
        ("since=yesterday", "'yesterday' is not a time"),
        ("limit=lots", "limit 'lots' is not a number"),
        ("cursor=garbage", "cursor 'garbage' is not one this UI made"),
    ],
)
def test_bad_filters_are_one_clear_line(client, query, message):
    r = client.get(f"/api/runs?{query}")
    assert r.status_code == 400
    assert message in r.json()["error"]
    page = client.get(f"/runs?{query}")
    assert page.status_code == 400 and message.replace("'", "&#39;") in page.text


def test_keyset_paging_visits_every_run_once(client):
    ids = _run_etl(5)
    seen, cursor, pages = [], None, 0
    while True:
        r = client.get("/api/runs", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [x["id"] for x in r["runs"]]
        pages += 1
        cursor = r["next_cursor"]
        if not cursor:
            break
    assert seen == ids[::-1] and pages == 3
    html = client.get("/runs?limit=2").text
    assert 'id="next-page"' in html
    nxt = re.search(r'href="(/runs\?[^"]*cursor=[^"]+)"', html).group(1).replace("&amp;", "&")
    second = client.get(nxt).text
    assert f'href="/runs/{ids[2]}"' in second and f'href="/runs/{ids[4]}"' not in second


def test_run_detail_tasks_lineage_retries_and_errors(client):
    etl_id = _run_etl(1)[0]
    run = client.get(f"/api/runs/{etl_id[:10]}").json()
    assert run["id"] == etl_id and run["parameters"] == {"n": 3, "label": "daily"}
    by_name = {t["name"].split("-")[0]: t for t in run["task_runs"]}
    assert by_name["transform"]["upstream"] == [by_name["extract"]["id"]]
    assert by_name["load"]["upstream"] == [by_name["transform"]["id"]]
    assert all(t["duration"] is not None and t["run_count"] == 1 for t in run["task_runs"])
    assert [s for s, _ in run["transitions"]] == ["Pending", "Running", "Completed"]
    html = client.get(f"/runs/{etl_id}").text
    assert '<svg class="timeline"' in html and '<svg class="lineage"' in html
    assert html.count("<path d=") == 2  # extract -> transform -> load
    failed = _run_failing()
    detail = client.get(f"/api/runs/{failed}").json()
    task = detail["task_runs"][0]
    assert task["state_type"] == "FAILED" and "Traceback" in task["message"] and "ValueError" in task["message"]
    page = client.get(f"/runs/{failed}").text
    assert 'class="traceback"' in page and "ValueError: could not log in as" in page


def test_missing_run_is_404_with_the_cli_message(client):
    r = client.get("/api/runs/deadbeef")
    assert r.status_code == 404 and "no flow run with id 'deadbeef'" in r.json()["error"]
    assert client.get("/runs/deadbeef").status_code == 404


def test_logs_api_and_stream_of_a_finished_run(client):
    run_id = _run_etl(1)[0]
    lines = client.get(f"/api/runs/{run_id}/logs").json()["logs"]
    messages = [x["message"] for x in lines]
    assert "extracting 3 rows" in messages and "loaded 3 as daily" in messages
    after = client.get(f"/api/runs/{run_id}/logs?after={lines[0]['id']}").json()["logs"]
    assert [x["id"] for x in after] == [x["id"] for x in lines[1:]]
    events = []
    with client.stream("GET", f"/api/runs/{run_id}/logs/stream") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
                if kind == "end":
                    break
    assert [d["message"] for k, d in events if k == "log"] == messages
    assert events[-1] == ("end", {"state_type": "COMPLETED", "state": "Completed"})


def test_dashboard_counts_failure_rates_and_slowest_tasks(client):
    _run_etl(3)
    _run_failing()
    data = client.get("/api/dashboard").json()
    assert data["last_24h"] == {"COMPLETED": 3, "FAILED": 1} and data["last_7d"] == data["last_24h"]
    rates = {f["flow_name"]: f["failure_rate"] for f in data["flows"]}
    assert rates == {"leaky": 1.0, "etl": 0.0}
    assert len(data["slowest_tasks"]) == 10
    durations = [t["duration"] for t in data["slowest_tasks"]]
    assert durations == sorted(durations, reverse=True)
    assert sum(d["counts"].get("COMPLETED", 0) for d in data["per_day"]) == 3
    html = client.get("/").text
    assert "Failure rate per flow" in html and 'href="/runs?flow=leaky"' in html


def test_api_index_documents_every_route(client):
    from headwater_ui.api import routes

    documented = client.get("/api").json()["endpoints"]
    for route in routes():
        if route.path == "/api":
            continue
        for method in sorted(route.methods - {"HEAD"}):
            key = f"{method} {route.path}".replace("{run_id}", "{id}")
            assert key in documented, key


def test_cancel_a_run_that_has_not_started(client):
    import os

    from headwater.history.writer import host_name
    from headwater.store.engine import db_write

    now = time.time()
    with db_write() as tx:  # a run recorded as Pending by a live process (this one), not started yet
        tx.execute(
            "INSERT INTO flow_runs (id, name, flow_name, state_type, state, created, pid, host, heartbeat) "
            "VALUES ('0123abcd' || '0000000000000000000000000000', 'queued-run', 'etl', 'PENDING', 'Pending', "
            ":t, :pid, :h, :t)",
            {"t": now, "pid": os.getpid(), "h": host_name()},
        )
    client.get("/runs")
    page = client.get("/runs/0123abcd").text
    assert 'id="cancel-form"' in page
    r = client.post("/runs/0123abcd/cancel", data={"csrf_token": client.cookies["hw_ui_csrf"]}, follow_redirects=False)
    assert r.status_code == 303
    run = client.get("/api/runs/0123abcd").json()
    assert (run["state"], run["message"]) == ("Cancelled", "cancelled from the UI before it started")
    assert 'id="cancel-form"' not in client.get("/runs/0123abcd").text
    again = client.post("/api/runs/0123abcd/cancel", headers={"X-CSRF-Token": client.cookies["hw_ui_csrf"]})
    assert again.status_code == 409 and "has finished (Cancelled)" in again.json()["error"]


def test_a_large_run_is_drawn_per_task_and_listed_in_part(client, monkeypatch):
    import headwater_ui.pages as pages

    monkeypatch.setattr(pages, "MAX_TASK_ROWS", 50)
    uiflows.fan_out(120)
    flush()
    run_id = uiflows.fan_out.last_flow_run.id
    html = client.get(f"/runs/{run_id}").text
    assert "<tr><th>Task runs</th><td>122</td></tr>" in html
    assert "transform ×121" in html and ">load</text>" in html  # one node per task, with its count
    assert "The first 50 of 122" in html and html.count('<tr><td><span class="badge') == 50
    assert html.count("<path d=") == 1  # transform -> load (transform -> transform is within one node)
    full = client.get(f"/api/runs/{run_id}").json()["task_runs"]
    assert len(full) == 122 and sorted(len(t["upstream"]) for t in full if t["upstream"]) == [1, 120]


def test_lineage_layers_with_a_loop_between_tasks():
    from headwater_ui.svg import _layers

    nodes = dict.fromkeys("abc", {})
    assert _layers(nodes, {("a", "b"), ("b", "c"), ("c", "a")}) == {"a": 0, "b": 1, "c": 2}
    assert _layers(nodes, {("a", "b"), ("a", "c"), ("b", "c")}) == {"a": 0, "b": 1, "c": 2}


def test_an_unreachable_store_is_503_with_one_line(monkeypatch):
    from headwater.settings import reset_settings
    from headwater_ui import create_app
    from starlette.testclient import TestClient

    monkeypatch.setenv("HEADWATER_DATABASE_URL", "postgresql+psycopg://hw:pw-not-shown@127.0.0.1:1/nothing")
    reset_settings()
    try:
        with TestClient(create_app()) as c:
            r = c.get("/api/runs")
            assert r.status_code == 503
            assert "cannot use the store at" in r.json()["error"] and "pw-not-shown" not in r.text
            page = c.get("/runs")
            assert page.status_code == 503 and "pw-not-shown" not in page.text and "Traceback" not in page.text
    finally:
        reset_settings()


def test_a_long_log_shows_its_last_lines_and_pages_through_the_api(client):
    uiflows.chatty(2100)
    flush()
    run_id = uiflows.chatty.last_flow_run.id
    html = client.get(f"/runs/{run_id}").text
    assert "The last 2,000 lines" in html and "line 02099" in html and "line 00050" not in html
    seen, after = [], 0
    while True:
        batch = client.get(f"/api/runs/{run_id}/logs?after={after}").json()["logs"]
        if not batch:
            break
        seen += [x["message"] for x in batch]
        after = batch[-1]["id"]
    assert [m for m in seen if m.startswith("line ")] == [f"line {i:05d}" for i in range(2100)]


def test_subflow_runs_link_both_ways(client):
    uiflows.parent()
    flush()
    parent_id = uiflows.parent.last_flow_run.id
    child = client.get("/api/runs?flow=etl").json()["runs"][0]
    assert child["parent_flow_run_id"] == parent_id
    detail = client.get(f"/api/runs/{parent_id}").json()
    assert [s["id"] for s in detail["subflow_runs"]] == [child["id"]]
    assert f'href="/runs/{child["id"]}"' in client.get(f"/runs/{parent_id}").text
    assert f'subflow of <a href="/runs/{parent_id}"' in client.get(f"/runs/{child['id']}").text


def test_bounded_run_lists_are_served_on_the_loop_with_the_same_answer(client, monkeypatch):
    """A page of an indexed filter skips the worker thread; a due crashed-run check, a search or
    a tag filter do not; the answer is the same either way."""
    import threading

    from headwater_ui import queries

    ids = _run_etl(3)
    seen: list[str] = []
    real = queries.read_runs

    def recording(f):
        seen.append(threading.current_thread().name)
        return real(f)

    monkeypatch.setattr(queries, "read_runs", recording)
    monkeypatch.setattr(queries, "_last_settle", 0.0)  # the crashed-run check (a write) is due
    due = client.get("/api/runs?limit=2")
    settled = client.get("/api/runs?limit=2")
    search = client.get(f"/api/runs?q={ids[0][:8]}")
    tagged = client.get("/api/runs?tag=etl&limit=2")
    page = client.get("/runs?state=COMPLETED&flow=")  # the form sends its empty fields too
    assert due.json() == settled.json() == tagged.json()
    assert [r["id"] for r in due.json()["runs"]] == ids[:0:-1]
    assert [r["id"] for r in search.json()["runs"]] == [ids[0]]
    assert all(f'href="/runs/{i}"' in page.text for i in ids)
    assert seen[0].startswith("headwater-ui")  # the check writes: a worker thread
    assert not seen[1].startswith("headwater-ui")  # one page by the created index: the loop
    assert seen[2].startswith("headwater-ui") and seen[3].startswith("headwater-ui")  # may scan: a thread
    assert len(seen) == 5


def test_api_json_is_strict_json_even_with_nan_and_huge_numbers(client):
    """JSON has no NaN: the API writes null, which a browser's JSON.parse accepts (json.dumps's
    NaN it rejects); integers beyond 64 bits still come out whole."""
    from headwater import flow

    @flow
    def odd_numbers(x: float, big: int) -> int:
        return big

    odd_numbers(float("nan"), 2**70)
    flush()
    run_id = odd_numbers.last_flow_run.id

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in the API's JSON")

    body = json.loads(client.get(f"/api/runs/{run_id}").text, parse_constant=refuse)
    assert body["parameters"] == {"x": None, "big": 2**70}
