"""Deployments in the UI, over Headwater's real orchestration tables."""

from __future__ import annotations

import json
import re


def _deploy(tmp_path):
    from headwater.orchestration.deployments import get_deployment
    from headwater.orchestration.pools import create_work_pool
    from headwater.orchestration.serving import flow_from_source

    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "flows.py").write_text(
        "from headwater import flow\n\n@flow\ndef nightly(day: str = 'mon', limit: int = 10, full: bool = False):\n"
        "    return day\n"
    )
    create_work_pool("local", "process")
    flow = flow_from_source(str(proj), "flows.py:nightly")
    flow.deploy("daily", work_pool_name="local", print_next_steps=False, parameters={"day": "tue"}, cron="0 3 * * *")
    return get_deployment("nightly/daily")


def _queued() -> list[dict]:
    from headwater.store.engine import db_read

    with db_read() as tx:
        return [dict(r) for r in tx.execute("SELECT deployment, parameters, state FROM scheduled_runs")]


def test_deployments_page_pause_resume_and_run_with_a_parameter_form(client, tmp_path):
    _deploy(tmp_path)
    html = client.get("/deployments").text
    assert "<h2>nightly/daily" in html and "<td>cron 0 3 * * *</td>" in html
    assert len(re.findall(r"\d\d:\d\d:00</span>", html)) == 3  # the next three times it runs
    assert '<input name="param.day" value="tue">' in html  # from the flow's signature, the deployment's default
    assert (
        'type="number"  name="param.limit" value=""' in html.replace("\n", " ") or 'name="param.limit" value=""' in html
    )
    assert 'type="checkbox" name="param.full"' in html
    csrf = client.cookies["hw_ui_csrf"]
    assert client.post("/deployments/nightly/daily/pause", data={}).status_code == 403  # CSRF
    r = client.post("/deployments/nightly/daily/pause", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    from headwater.orchestration.deployments import get_deployment

    assert get_deployment("nightly/daily").paused
    assert "Resume" in client.get("/deployments").text
    client.post("/deployments/nightly/daily/resume", data={"csrf_token": csrf})
    assert not get_deployment("nightly/daily").paused
    r = client.post(
        "/deployments/nightly/daily/run",
        data={"csrf_token": csrf, "param.day": "fri", "param.limit": "7", "param.full": "on"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "queued=" in r.headers["location"]
    [run] = _queued()
    assert run["deployment"] == "nightly/daily" and run["state"] == "Scheduled"
    assert json.loads(run["parameters"]) == {"day": "fri", "limit": 7, "full": True}
    bad = client.post("/deployments/nightly/daily/run", data={"csrf_token": csrf, "param.limit": "lots"})
    assert bad.status_code == 400 and "parameter limit: 'lots' is not an integer (e.g. 7)" in bad.text.replace(
        "&#39;", "'"
    )
    for raw in ("2.5", '"7"', "true"):  # JSON, but not an integer
        bad = client.post("/deployments/nightly/daily/run", data={"csrf_token": csrf, "param.limit": raw})
        assert bad.status_code == 400 and "is not an integer" in bad.text
    api = client.get("/api/deployments").json()["deployments"]
    assert [(d["name"], d["paused"], len(d["next_runs"])) for d in api] == [("nightly/daily", False, 3)]
    assert client.get("/api/runs?deployment=nightly/daily").json()["runs"] == []


def test_a_deployment_run_past_its_time_is_late_on_the_dashboard(client, tmp_path):
    import time

    from headwater.orchestration.queue import create_run

    dep = _deploy(tmp_path)
    create_run(dep, scheduled_time=time.time() - 120)
    create_run(dep, scheduled_time=time.time() + 3600)  # due later: not late
    late = client.get("/api/dashboard").json()["late_runs"]
    assert [(r["deployment"], r["late_seconds"] >= 120) for r in late] == [("nightly/daily", True)]
    assert 'id="late-runs"' in client.get("/").text
