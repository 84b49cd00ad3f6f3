"""Automations end to end: real events, the real service, a real HTTP receiver for the notifications."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from headwater import Secret, flow
from headwater.events import emit_event
from headwater.events.automations import (
    Automation,
    EventTrigger,
    FlowRunStateTrigger,
    ProactiveTrigger,
    SendNotification,
    list_automations,
)
from headwater.events.emit import EventError
from headwater.events.service import GRACE, AutomationService
from headwater.history.writer import flush
from headwater_notify import SlackWebhook

HEADWATER = str(Path(sys.executable).with_name("headwater"))
TOKEN = "sk-live-pl4nted-77"


@pytest.fixture
def alerts(receiver):
    SlackWebhook(url=receiver.url + "/alerts", retries=0).save("alerts")
    return receiver


def _cli(*args, input=None, env=None):
    return subprocess.run([HEADWATER, *args], capture_output=True, text=True, input=input,
                          env={**os.environ, **(env or {})}, timeout=60)


def test_flow_failure_notifies_with_run_name_state_and_error_but_no_secret(alerts):
    Secret(value=TOKEN).save("api")
    Automation(name="on-failure", trigger=FlowRunStateTrigger(flows=["nightly-*"]),
               actions=[SendNotification(block="alerts")]).create()

    @flow(name="nightly-load", flow_run_name="night-run")
    def nightly(key: str):
        raise RuntimeError("warehouse unreachable")

    @flow(name="other-flow")
    def other():
        raise RuntimeError("not watched")

    for fn, args in ((nightly, (Secret.load("api").get(),)), (other, ())):
        with pytest.raises(RuntimeError):
            fn(*args)
    service = AutomationService()
    assert service.tick() == 1
    [req] = alerts.wait_for(1)
    text = req.json()["text"]
    assert "on-failure: headwater.flow-run.Failed" in text
    assert "Flow run night-run of nightly-load is Failed: RuntimeError: warehouse unreachable" in text
    assert TOKEN not in text
    assert service.tick() == 0 and len(alerts.requests) == 1


def test_template_that_names_a_parameter_shows_it_masked_when_secret(alerts):
    Secret(value=TOKEN).save("api")
    Automation(name="params", trigger=FlowRunStateTrigger(states=["Completed"]),
               actions=[SendNotification(block="alerts",
                                         body="{{ flow_run.name }} {{ flow_run.parameters }}")]).create()

    @flow(flow_run_name="p-run")
    def f(key: str, n: int = 3):
        return n

    f(Secret.load("api").get())
    AutomationService().tick()
    text = alerts.wait_for(1)[0].json()["text"]
    assert "p-run" in text and '"n": 3' in text and TOKEN not in text


def test_threshold_within_window_fires_once(alerts):
    Automation(name="three", trigger=EventTrigger(expect=["acme.error"], threshold=3, within=60),
               actions=[SendNotification(block="alerts", body="3 errors, last {{ event.payload.i }}")]).create()
    service = AutomationService()
    for i in range(2):
        emit_event("acme.error", resource={"headwater.resource.id": "svc"}, payload={"i": i})
    assert service.tick() == 0
    emit_event("acme.other", resource={"headwater.resource.id": "svc"})
    emit_event("acme.error", resource={"headwater.resource.id": "svc"}, payload={"i": 2})
    assert service.tick() == 1
    assert alerts.wait_for(1)[0].json() == {"text": "*three: acme.error*\n3 errors, last 2"}


def test_proactive_window_fires_once_when_the_event_did_not_come(alerts):
    Automation(name="expect-load", trigger=ProactiveTrigger(expect=["load.done"], within=2),
               actions=[SendNotification(block="alerts", body="no load between {{ window.start }} "
                                                                 "and {{ window.end }}")]).create()
    created = time.time()
    service = AutomationService()
    assert service.tick(now=created + 1) == 0  # window still open
    assert service.tick(now=created + 2 + GRACE + 0.2) == 1
    assert service.tick(now=created + 2 + GRACE + 0.3) == 0
    assert alerts.wait_for(1)[0].json()["text"].startswith("*expect-load")
    emit_event("load.done", resource={"headwater.resource.id": "load"}, occurred=created + 3)  # second window
    flush()
    assert service.tick(now=created + 4 + GRACE + 0.2) == 0
    assert len(alerts.requests) == 1


def test_proactive_after_an_event(alerts):
    Automation(name="finish-in-time", trigger=ProactiveTrigger(after=["job.started"], expect=["job.finished"],
                                                               within=1),
               actions=[SendNotification(block="alerts")]).create()
    service = AutomationService()
    emit_event("job.started", resource={"headwater.resource.id": "job-a"})
    emit_event("job.finished", resource={"headwater.resource.id": "job-a"})
    service.tick()
    time.sleep(1 + GRACE + 0.1)
    assert service.tick() == 0
    emit_event("job.started", resource={"headwater.resource.id": "job-b"})
    service.tick()
    time.sleep(1 + GRACE + 0.1)
    assert service.tick() == 1


def test_killed_service_between_event_and_action_fires_exactly_once(alerts):
    Automation(name="once", trigger=EventTrigger(expect=["deploy.requested"]),
               actions=[SendNotification(block="alerts", body="{{ event.payload.n }}")]).create()
    emit_event("deploy.requested", resource={"headwater.resource.id": "x"}, payload={"n": 1})
    flush()
    died = _cli("automations", "serve", env={"HEADWATER_TEST_AUTOMATION_EXIT": "after-fire"})
    assert died.returncode == 17 and alerts.requests == []
    for _ in range(2):  # restarted twice: the recorded action is carried out once
        proc = subprocess.Popen([HEADWATER, "automations", "serve"], stderr=subprocess.DEVNULL)
        time.sleep(2.5)
        proc.terminate()
        assert proc.wait(10) == 0
    time.sleep(0.3)
    assert [r.json()["text"] for r in alerts.requests] == ["*once: deploy.requested*\n1"]


def test_unreachable_endpoint_is_a_recorded_failure_retried_with_backoff(receiver):
    SlackWebhook(url="http://127.0.0.1:9/nowhere", retries=0).save("dead")
    SlackWebhook(url=receiver.url + "/ok", retries=0).save("alive")
    Automation(name="to-dead", trigger=EventTrigger(expect=["x.y"]), actions=[SendNotification(block="dead")]).create()
    Automation(name="to-alive", trigger=EventTrigger(expect=["x.y"]),
               actions=[SendNotification(block="alive")]).create()
    emit_event("x.y", resource={"headwater.resource.id": "x"})
    service = AutomationService()
    assert service.tick() == 1  # the live one went out; the dead one did not stop the service
    assert len(receiver.wait_for(1)) == 1
    out = _cli("automation", "actions", "-o", "json")
    rows = {r["automation"]: r for r in json.loads(out.stdout)}
    assert rows["to-alive"]["status"] == "done"
    assert rows["to-dead"]["status"] == "pending" and rows["to-dead"]["attempts"] == 1
    assert "could not be reached" in rows["to-dead"]["error"]
    assert service.tick() == 0  # backing off: not retried at once


def test_yaml_cli_create_ls_pause_resume_delete(alerts, tmp_path):
    spec = tmp_path / "a.yaml"
    spec.write_text("""
automations:
  - name: failures
    trigger: {type: flow-run-state, flows: [nightly-load], states: [failed, crashed]}
    actions:
      - {type: send-notification, block: slack-webhook/alerts, subject: "{{ flow_run.name }}"}
""")
    assert _cli("automation", "create", str(spec)).returncode == 0
    listed = json.loads(_cli("automation", "ls", "-o", "json").stdout)
    assert [(a["name"], a["enabled"], a["trigger"]) for a in listed] == [("failures", True, "flow-run-state")]
    assert _cli("automation", "pause", "failures").returncode == 0
    assert [a.enabled for a in list_automations()] == [False]
    assert _cli("automation", "resume", "failures").returncode == 0
    again = _cli("automation", "create", str(spec))
    assert again.returncode != 0 and "exists; pass --replace" in again.stderr
    assert _cli("automation", "delete", "failures").returncode == 0
    assert list_automations() == []


@pytest.mark.parametrize("text, message", [
    ("name: a\ntrigger: {type: event, expect: [x], window: 5}\nactions: [{type: send-notification, block: alerts}]",
     "trigger.event.window: Extra inputs are not permitted"),
    ("name: a\ntrigger: {type: proactive, expect: [x], within: -1}\nactions: [{type: send-notification, block: a}]",
     "within: Input should be greater than 0"),
    ("name: a\ntrigger: {type: event}\nactions: [{type: send-notification, block: nowhere}]",
     "actions.0 (send-notification): no block"),
    ("name: a\ntrigger: {type: event}\nactions: [{type: send-notification, block: alerts, body: '{{ secret.x }}'}]",
     "unknown template field(s) secret.x"),
    ("name: a\ntrigger: {type: proactive, expect: [x], within: 5, cron: 'not cron'}\n"
     "actions: [{type: send-notification, block: alerts}]", "invalid cron expression"),
    ("name: a\ntrigger: {type: flow-run-state, states: [Exploded]}\nactions: [{type: send-notification, block: a}]",
     "unknown state(s) Exploded"),
])
def test_invalid_automation_is_one_line_and_nothing_saved(alerts, tmp_path, text, message):
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    out = _cli("automation", "create", str(spec))
    assert out.returncode != 0
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert list_automations() == []


def test_webhook_turns_a_request_into_an_event_that_triggers_an_automation(alerts):
    from headwater.events.webhooks import create_webhook, make_server

    hook_id, token = create_webhook("s3-landing", {
        "event": "s3.object.created",
        "resource": {"headwater.resource.id": "s3://{{ body.bucket }}/{{ body.key }}"},
        "payload": {"size": "{{ body.size }}", "source": "{{ headers.x-source }}"},
    })
    Automation(name="landed", trigger=EventTrigger(expect=["s3.object.*"]),
               actions=[SendNotification(block="alerts", body="{{ event.resource.headwater.resource.id }} "
                                                                "{{ event.payload.size }}")]).create()
    server = make_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks/{hook_id}"

    def post(auth):
        req = urllib.request.Request(url, data=json.dumps({"bucket": "raw", "key": "a.csv", "size": 12}).encode(),
                                     headers={"Content-Type": "application/json", "X-Source": "s3", **auth})
        try:
            with urllib.request.urlopen(req, timeout=5) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    try:
        assert post({"Authorization": "Bearer wrong"})[0] == 401
        status, doc = post({"Authorization": f"Bearer {token}"})
        assert status == 202 and doc["event_id"]
    finally:
        server.shutdown()
        server.server_close()
    AutomationService().tick()
    assert alerts.wait_for(1)[0].json()["text"].endswith("\ns3://raw/a.csv 12")


def test_webhook_template_errors_are_refused_at_creation():
    from headwater.events.webhooks import create_webhook

    with pytest.raises(EventError, match="unknown field"):
        create_webhook("w", {"event": "x", "resource": {"headwater.resource.id": "{{ env.HOME }}"}})
    with pytest.raises(EventError, match="at least 'event' and 'resource'"):
        create_webhook("w", {"payload": 1})
