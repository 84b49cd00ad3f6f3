"""Automations: a trigger that watches the event log and the actions it takes.

Created from YAML (``headwater automation create FILE``) or Python::

    Automation(
        name="tell-on-failure",
        trigger=FlowRunStateTrigger(flows=["nightly-load"], states=["Failed", "Crashed"]),
        actions=[SendNotification(block="slack-webhook/alerts")],
    ).create()

Everything is checked when the automation is created (names, windows, the blocks and
deployments actions name, templates), so a bad automation never reaches the service.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from headwater.errors import HeadwaterError
from headwater.events.emit import EventError
from headwater.events.templates import placeholders

__all__ = [
    "Automation",
    "AutomationNotFoundError",
    "CancelFlowRun",
    "EventTrigger",
    "FlowRunStateTrigger",
    "PauseDeployment",
    "ProactiveTrigger",
    "ResumeDeployment",
    "RunDeployment",
    "SendNotification",
    "delete_automation",
    "get_automation",
    "list_automations",
    "set_enabled",
]

TEMPLATE_ROOTS = ("event", "flow_run", "flow", "automation", "ui_url", "window")
FLOW_RUN_STATES = ("Scheduled", "Late", "Pending", "Running", "Retrying", "Paused", "Completed", "Cached",
                   "Failed", "Crashed", "Cancelling", "Cancelled", "TimedOut")


class AutomationNotFoundError(HeadwaterError, LookupError):
    """No automation of that name."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventTrigger(_Model):
    """Fires when ``threshold`` matching events happen within ``within`` seconds (reactive)."""

    type: Literal["event"] = "event"
    expect: list[str] = Field(default_factory=lambda: ["*"], description="Event name patterns (`*` wildcards).")
    match: dict[str, str | list[str]] = Field(default_factory=dict, description="Resource label patterns.")
    match_related: dict[str, str | list[str]] = Field(
        default_factory=dict, description="Label patterns one related resource must have."
    )
    threshold: int = Field(default=1, ge=1, description="How many events fire the trigger.")
    within: float = Field(default=0, ge=0, description="Seconds the threshold's events must fall within.")
    for_each: list[str] = Field(default_factory=list, description="Resource labels to count separately.")


class ProactiveTrigger(_Model):
    """Fires when fewer than ``threshold`` expected events happen in a window.

    Windows: ``within`` seconds after each ``after`` event; or, with ``cron``, the ``within``
    seconds before each cron time ("not Completed by 07:00" is cron ``0 7 * * *`` and a
    ``within`` covering the night); or else consecutive ``within``-second windows.
    """

    type: Literal["proactive"] = "proactive"
    expect: list[str] = Field(description="Event name patterns that are expected.")
    match: dict[str, str | list[str]] = Field(default_factory=dict, description="Resource label patterns.")
    match_related: dict[str, str | list[str]] = Field(
        default_factory=dict, description="Label patterns one related resource must have."
    )
    after: list[str] = Field(default_factory=list, description="Event patterns that open a window.")
    within: float = Field(gt=0, description="The window's length in seconds.")
    threshold: int = Field(default=1, ge=1, description="Fewer expected events than this fire the trigger.")
    cron: str | None = Field(default=None, description="Windows end at these times (cron expression).")
    timezone: str = Field(default="UTC", description="Time zone of the cron expression.")

    @model_validator(mode="after")
    def _check(self) -> ProactiveTrigger:
        if self.cron:
            _cron_next(self.cron, self.timezone, time.time())
        return self


class FlowRunStateTrigger(_Model):
    """Shortcut: a flow run of one of ``flows`` entered one of ``states``."""

    type: Literal["flow-run-state"] = "flow-run-state"
    flows: list[str] = Field(default_factory=lambda: ["*"], description="Flow name patterns.")
    states: list[str] = Field(default_factory=lambda: ["Failed", "Crashed"], description="State names.")
    tags: list[str] = Field(default_factory=list, description="Only runs with one of these tags.")
    threshold: int = Field(default=1, ge=1, description="How many such runs fire the trigger.")
    within: float = Field(default=0, ge=0, description="Seconds the threshold's runs must fall within.")

    @field_validator("states")
    @classmethod
    def _known(cls, states: list[str]) -> list[str]:
        lower = {s.lower(): s for s in FLOW_RUN_STATES}
        unknown = [s for s in states if s.lower() not in lower]
        if unknown:
            raise ValueError(f"unknown state(s) {', '.join(unknown)}; known: {', '.join(FLOW_RUN_STATES)}")
        return [lower[s.lower()] for s in states]

    def as_event_trigger(self) -> EventTrigger:
        related: dict[str, str | list[str]] = {}
        if self.flows != ["*"]:
            related = {"headwater.resource.role": "flow", "headwater.resource.name": self.flows}
        trigger = EventTrigger(
            expect=[f"headwater.flow-run.{s}" for s in self.states], match_related=related,
            threshold=self.threshold, within=self.within,
        )
        if self.tags:
            trigger.match_related = {**related, "headwater.resource.id": [f"headwater.tag.{t}" for t in self.tags]}
        return trigger


class SendNotification(_Model):
    """Send a message through a saved notification block."""

    type: Literal["send-notification"] = "send-notification"
    block: str = Field(description="The notification block, `slug/name` or a unique name.")
    subject: str = Field(default="{{ automation.name }}: {{ event.event }}", description="Subject template.")
    body: str = Field(
        default="{{ event.event }} on {{ event.resource.headwater.resource.name }} at {{ event.occurred }}"
        "{{ flow_run.summary }}{{ ui_url }}",
        description="Message template.",
    )


class RunDeployment(_Model):
    """Create a run of a deployment."""

    type: Literal["run-deployment"] = "run-deployment"
    deployment: str = Field(description="`flow-name/deployment-name`.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Parameters (templates allowed).")


class CancelFlowRun(_Model):
    """Cancel the flow run the triggering event is about."""

    type: Literal["cancel-flow-run"] = "cancel-flow-run"


class PauseDeployment(_Model):
    """Pause a deployment's schedules."""

    type: Literal["pause-deployment"] = "pause-deployment"
    deployment: str = Field(description="`flow-name/deployment-name`.")


class ResumeDeployment(_Model):
    """Resume a deployment's schedules."""

    type: Literal["resume-deployment"] = "resume-deployment"
    deployment: str = Field(description="`flow-name/deployment-name`.")


Trigger = Annotated[EventTrigger | ProactiveTrigger | FlowRunStateTrigger, Field(discriminator="type")]
Action = Annotated[
    SendNotification | RunDeployment | CancelFlowRun | PauseDeployment | ResumeDeployment,
    Field(discriminator="type"),
]


class Automation(_Model):
    """A trigger and the actions it takes, saved in the store by name."""

    name: str = Field(min_length=1, max_length=200, description="Unique name.")
    description: str = Field(default="", description="What it is for.")
    enabled: bool = Field(default=True, description="Paused automations are not evaluated.")
    trigger: Trigger = Field(description="What fires it.")
    actions: list[Action] = Field(min_length=1, description="What it does, in order.")
    id: str | None = Field(default=None, description="Assigned when created.")

    @classmethod
    def from_dict(cls, data: Any) -> Automation:
        """Validate a dict (from YAML or JSON); one clear line per problem."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'automation'}: {err['msg']}" for err in exc.errors()
            )
            raise EventError(f"invalid automation: {problems}") from None

    def event_trigger(self) -> EventTrigger | ProactiveTrigger:
        return self.trigger.as_event_trigger() if isinstance(self.trigger, FlowRunStateTrigger) else self.trigger

    def check(self) -> None:
        """Check what the actions name: blocks, deployments, templates."""
        for i, action in enumerate(self.actions):
            where = f"actions.{i} ({action.type})"
            if isinstance(action, SendNotification):
                for text in (action.subject, action.body):
                    _check_template(text, where)
                from headwater.blocks.core import Block
                from headwater.blocks.notifications import NotificationBlock

                try:
                    block = Block.load(action.block)
                except HeadwaterError as exc:
                    raise EventError(f"{where}: {exc}") from None
                if not isinstance(block, NotificationBlock):
                    raise EventError(f"{where}: block {action.block!r} is a {type(block).__name__}, "
                                     "not a notification block")
            elif isinstance(action, RunDeployment | PauseDeployment | ResumeDeployment):
                _check_template(action.model_dump().get("parameters", {}), where)
                from headwater.events import actions as run_actions

                run_actions.check_deployment(action.deployment, where)

    def create(self, replace: bool = False) -> Automation:
        """Save it (checked first); ``replace`` overwrites one of the same name."""
        self.check()
        from headwater.store.engine import db_write

        now = time.time()
        spec = self.model_dump_json(exclude={"id", "name", "enabled"})
        with db_write() as tx:
            row = tx.execute("SELECT id FROM automations WHERE name = :n", {"n": self.name})
            if row and not replace:
                raise EventError(f"automation {self.name!r} exists; pass --replace to overwrite it")
            start = _cursor_start(tx)
            if row:
                self.id = row[0].id
                tx.execute("UPDATE automations SET spec = :s, enabled = :e, updated = :u, cursor_seq = :c, "
                           "trigger_state = NULL WHERE id = :id",
                           {"s": spec, "e": int(self.enabled), "u": now, "c": start, "id": self.id})
            else:
                self.id = str(uuid.uuid4())
                tx.execute("INSERT INTO automations (id, name, enabled, spec, created, updated, cursor_seq) "
                           "VALUES (:id, :n, :e, :s, :c, :c, :cur)",
                           {"id": self.id, "n": self.name, "e": int(self.enabled), "s": spec, "c": now,
                            "cur": start})
        return self


def _cursor_start(tx: Any) -> int:
    """New automations watch events from now on, not the whole log."""
    return int(tx.scalar("SELECT MAX(seq) AS m FROM events") or 0)


def _check_template(template: Any, where: str) -> None:
    try:
        names = placeholders(template)
    except EventError as exc:
        raise EventError(f"{where}: {exc}") from None
    bad = sorted({n for n in names if n.split(".", 1)[0] not in TEMPLATE_ROOTS})
    if bad:
        raise EventError(f"{where}: unknown template field(s) {', '.join(bad)}; "
                         f"fields start with {', '.join(TEMPLATE_ROOTS)}")


def _cron_next(expr: str, tz: str, after: float) -> float:
    """The first time strictly after ``after`` (epoch) of a cron expression in zone ``tz``."""
    from datetime import datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise EventError(f"unknown time zone {tz!r} (use an IANA name such as Europe/Berlin)") from None
    try:
        from croniter import croniter
    except ImportError:
        raise EventError("cron windows need croniter: pip install croniter") from None
    if not croniter.is_valid(expr):
        raise EventError(f"invalid cron expression {expr!r}")
    return float(croniter(expr, datetime.fromtimestamp(after, zone)).get_next(float))


def _row(row: Any) -> Automation:
    data = json.loads(row.spec)
    return Automation.model_validate({**data, "id": row.id, "name": row.name, "enabled": bool(row.enabled)})


def list_automations() -> list[Automation]:
    from headwater.store.engine import db_read

    with db_read() as tx:
        return [_row(r) for r in tx.execute("SELECT * FROM automations ORDER BY name")]


def get_automation(name: str) -> Automation:
    from headwater.store.engine import db_read

    with db_read() as tx:
        rows = tx.execute("SELECT * FROM automations WHERE name = :n OR id = :n", {"n": name})
    if not rows:
        raise AutomationNotFoundError(f"no automation named {name!r}: see headwater automation ls")
    return _row(rows[0])


def set_enabled(name: str, enabled: bool) -> Automation:
    """Pause (False) or resume (True); a resumed automation watches events from now on."""
    from headwater.store.engine import db_write

    automation = get_automation(name)
    with db_write() as tx:
        params = {"e": int(enabled), "u": time.time(), "id": automation.id, "c": _cursor_start(tx)}
        extra = ", cursor_seq = :c, trigger_state = NULL" if enabled and not automation.enabled else ""
        tx.execute(f"UPDATE automations SET enabled = :e, updated = :u{extra} WHERE id = :id", params)
    automation.enabled = enabled
    return automation


def delete_automation(name: str) -> None:
    from headwater.store.engine import db_write

    automation = get_automation(name)
    with db_write() as tx:
        tx.execute("DELETE FROM automations WHERE id = :id", {"id": automation.id})
        tx.execute("DELETE FROM automation_actions WHERE automation_id = :id AND status <> 'done'",
                   {"id": automation.id})
