"""Automations that act on deployments: run one when an event arrives (once, even if carried
out twice), pause and resume schedules, cancel a queued run; deployment runs are events."""

from __future__ import annotations

import pytest
from headwater.events import emit_event, list_events
from headwater.events.automations import (
    Automation,
    CancelFlowRun,
    EventTrigger,
    PauseDeployment,
    ResumeDeployment,
    RunDeployment,
)
from headwater.events.emit import EventError
from headwater.events.service import AutomationService
from headwater.orchestration.deployments import get_deployment
from headwater.orchestration.pools import create_work_pool
from headwater.orchestration.queue import create_run
from headwater.orchestration.serving import flow_from_source
from orch_support import make_project, runs, states


@pytest.fixture
def dep(tmp_path):
    create_work_pool("local", "process")
    flow = flow_from_source(str(make_project(tmp_path / "proj")), "flows.py:needs_day")
    flow.deploy("daily", work_pool_name="local", print_next_steps=False, parameters={"day": "mon"})
    return get_deployment("needs-day/daily")


def test_an_event_runs_a_deployment_with_templated_parameters_exactly_once(dep):
    Automation(name="on-landing", trigger=EventTrigger(expect=["s3.object.created"]),
               actions=[RunDeployment(deployment="needs-day/daily",
                                      parameters={"day": "{{ event.payload.day }}", "limit": 7})]).create()
    emit_event("s3.object.created", resource={"headwater.resource.id": "s3://raw/a.csv"}, payload={"day": "fri"})
    service = AutomationService()
    assert service.tick() == 1
    [run] = runs()
    assert run["deployment"] == "needs-day/daily" and run["state"] == "Scheduled"
    import json

    assert json.loads(run["parameters"]) == {"day": "fri", "limit": 7}
    from headwater.store.engine import db_write

    with db_write() as tx:  # the action carried out again (a crash after it ran): still one run
        tx.execute("UPDATE automation_actions SET status = 'pending', next_attempt = 0")
    service.tick()
    assert len(runs()) == 1
    [created] = list_events("headwater.deployment.run-created")
    assert created.resource["headwater.resource.name"] == "needs-day/daily"
    assert created.related[0]["headwater.resource.id"] == f"headwater.flow-run.{run['id']}"


def test_pause_resume_and_cancel_actions(dep):
    Automation(name="pause", trigger=EventTrigger(expect=["ops.pause"]),
               actions=[PauseDeployment(deployment="needs-day/daily")]).create()
    Automation(name="resume", trigger=EventTrigger(expect=["ops.resume"]),
               actions=[ResumeDeployment(deployment="needs-day/daily")]).create()
    service = AutomationService()
    emit_event("ops.pause", resource={"headwater.resource.id": "ops"})
    service.tick()
    assert get_deployment("needs-day/daily").paused
    emit_event("ops.resume", resource={"headwater.resource.id": "ops"})
    service.tick()
    assert not get_deployment("needs-day/daily").paused

    run_id = create_run(dep, scheduled_time=4_000_000_000)
    Automation(name="cancel", trigger=EventTrigger(expect=["ops.cancel"]), actions=[CancelFlowRun()]).create()
    emit_event("ops.cancel", resource={"headwater.resource.id": f"headwater.flow-run.{run_id}"})
    AutomationService().tick()  # a service sees new automations within 2 s; a new one at once
    assert states() == {"Cancelled": 1}


def test_an_action_naming_a_missing_deployment_is_refused_at_creation(dep):
    with pytest.raises(EventError, match=r"actions.0 \(run-deployment\): .*nightly/missing"):
        Automation(name="x", trigger=EventTrigger(), actions=[RunDeployment(deployment="nightly/missing")]).create()
