"""The event log: custom events, run state changes, block changes; listing, following, retention."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from conftest import HEADWATER_BIN, run_cli, run_python
from headwater import Secret, flow, task
from headwater.events import EventError, emit_event, list_events
from headwater.events.reader import prune_events
from headwater.history.writer import flush


def test_custom_event_is_recorded_with_labels_related_and_payload():
    ev = emit_event("acme.file.landed", resource={"prefect.resource.id": "s3://raw/a.csv", "size": 3},
                    related=[{"headwater.resource.id": "bucket.raw", "headwater.resource.role": "bucket"}],
                    payload={"rows": 12})
    [got] = list_events("acme.*")
    assert got.id == ev.id and got.resource_id == "s3://raw/a.csv"
    assert got.resource["size"] == "3" and got.related[0]["headwater.resource.role"] == "bucket"
    assert got.payload == {"rows": 12}


def test_flow_and_task_state_changes_are_events():
    @task
    def double(x):
        return 2 * x

    @task
    def boom():
        raise ValueError("bad row 7")

    @flow(name="ev-flow")
    def f():
        double(1)
        boom()

    with pytest.raises(ValueError):
        f()
    names = [e.event for e in reversed(list_events(limit=100))]
    assert names[:3] == ["headwater.flow-run.Pending", "headwater.flow-run.Running", "headwater.task-run.Pending"]
    assert names.count("headwater.task-run.Completed") == 1 and names.count("headwater.task-run.Failed") == 1
    [failed] = list_events("headwater.flow-run.Failed")
    assert "bad row 7" in failed.payload["message"]
    assert {"headwater.resource.id": "headwater.flow.ev-flow", "headwater.resource.role": "flow",
            "headwater.resource.name": "ev-flow"} in failed.related


def test_state_events_from_another_process_and_a_retry_each_recorded_once():
    run_python("""
from headwater import flow, task
n = {'tries': 0}
@task(retries=1)
def flaky():
    n['tries'] += 1
    if n['tries'] == 1:
        raise RuntimeError('first try')
@flow
def g():
    flaky()
g()
""")
    names = [e.event for e in list_events("headwater.task-run.*", limit=100)]
    assert sorted(names) == sorted(["headwater.task-run.Pending", "headwater.task-run.Running",
                                    "headwater.task-run.Retrying", "headwater.task-run.Running",
                                    "headwater.task-run.Completed"])


def test_block_saved_and_deleted_are_events():
    Secret(value="x-value-1").save("api")
    Secret.delete("api")
    events = list_events("headwater.block-document.*")
    assert [e.event for e in events] == ["headwater.block-document.deleted", "headwater.block-document.saved"]
    assert events[1].resource["headwater.resource.name"] == "secret/api"


def test_secrets_in_run_names_and_messages_are_masked_in_events():
    token = "tok-9f8e7d6c5b"
    Secret(value=token).save("api")

    @flow(flow_run_name="load-{key}")
    def leaky(key: str):
        raise RuntimeError(f"refused {key}")

    with pytest.raises(RuntimeError):
        leaky(Secret.load("api").get())
    flush()
    dump = json.dumps([e.to_dict() for e in list_events(limit=100)])
    assert token not in dump and "**********" in dump


@pytest.mark.parametrize("kwargs, message", [
    ({"event": "", "resource": {"headwater.resource.id": "x"}}, "needs a name"),
    ({"event": "a.b", "resource": {"name": "x"}}, "headwater.resource.id"),
    ({"event": "a.b", "resource": {"headwater.resource.id": "x"}, "payload": [1]}, "payload must be a dict"),
])
def test_bad_events_are_refused(kwargs, message):
    with pytest.raises(EventError, match=message):
        emit_event(**kwargs)


def test_burst_of_events_none_lost():
    for i in range(20_000):
        emit_event("burst.tick", resource={"headwater.resource.id": f"r{i % 7}"}, payload={"i": i})
    flush()
    got = list_events("burst.*", limit=50_000)
    assert len(got) == 20_000 and {e.payload["i"] for e in got} == set(range(20_000))


def test_retention_prunes_old_events(monkeypatch):
    emit_event("old.one", resource={"headwater.resource.id": "x"}, occurred=time.time() - 10 * 86400)
    emit_event("new.one", resource={"headwater.resource.id": "x"})
    flush()
    assert prune_events() == 1
    assert [e.event for e in list_events()] == ["new.one"]
    monkeypatch.setenv("HEADWATER_EVENTS_RETENTION_DAYS", "-1")
    with pytest.raises(EventError, match="HEADWATER_EVENTS_RETENTION_DAYS"):
        prune_events()


def test_events_ls_cli_filters_and_json():
    emit_event("acme.a", resource={"headwater.resource.id": "r1"})
    emit_event("acme.b", resource={"headwater.resource.id": "r2"})
    emit_event("other.c", resource={"headwater.resource.id": "r3"})
    flush()
    out = run_cli("events", "ls", "--event", "acme.*", "-o", "json")
    assert out.returncode == 0, out.stderr
    docs = json.loads(out.stdout)
    assert [d["event"] for d in docs] == ["acme.a", "acme.b"] and docs[0]["occurred"].endswith("+00:00")
    table = run_cli("events", "ls", "--event", "*.c")
    assert "other.c" in table.stdout and "acme" not in table.stdout


def test_events_ls_follow_prints_new_events():
    proc = subprocess.Popen([str(HEADWATER_BIN), "events", "ls", "--follow", "--event", "live.*"],
                            stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        run_python("from headwater.events import emit_event\n"
                   "for i in range(3): emit_event(f'live.{i}', resource={'headwater.resource.id': 'x'})\n"
                   "emit_event('dead.x', resource={'headwater.resource.id': 'x'})")
        lines = [proc.stdout.readline() for _ in range(3)]
    finally:
        proc.terminate()
        proc.wait(10)
    assert [line.split()[2] for line in lines] == ["live.0", "live.1", "live.2"]


def test_emit_event_import_is_lazy():
    out = run_python("import sys, headwater; print('headwater.events' in sys.modules)")
    assert out.stdout.strip() == "False"
    assert sys.modules  # the parent process may have it; the fresh one must not
