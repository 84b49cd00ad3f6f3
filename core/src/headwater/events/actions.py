"""What automations do: send a notification, run/pause/resume a deployment, cancel a run.

Deployment actions call the orchestration package; a store without it (or without that
deployment) is reported when the automation is created, not when it first fires.
"""

from __future__ import annotations

import os
from typing import Any

from headwater.errors import HeadwaterError
from headwater.events.emit import EventError
from headwater.events.templates import render, render_value
from headwater.redaction import redact

__all__ = ["ActionError", "build_context", "check_deployment", "execute"]


class ActionError(HeadwaterError):
    """An automation's action failed (it is retried with backoff, then recorded as failed)."""


def _orchestration() -> Any:
    try:
        from headwater import orchestration
    except ImportError:
        raise EventError("deployment actions need Headwater's orchestration (deployments), "
                         "which this installation does not have") from None
    return orchestration


def check_deployment(name: str, where: str) -> None:
    """Raise EventError unless deployment ``name`` exists."""
    _orchestration()
    from headwater.orchestration.deployments import get_deployment

    try:
        get_deployment(name)
    except HeadwaterError as exc:
        raise EventError(f"{where}: {exc}") from None


def build_context(automation: Any, event: Any | None, window: dict[str, Any] | None = None,
                  tx: Any = None) -> dict[str, Any]:
    """The values templates can name: event, flow_run, flow, automation, ui_url, window."""
    context: dict[str, Any] = {
        "automation": {"name": automation.name, "description": automation.description},
        "event": event.to_dict() if event is not None else {},
        "flow_run": {"summary": ""},
        "flow": {},
        "ui_url": "",
        "window": window or {},
    }
    if event is not None:
        resource = event.resource
        context["event"]["resource"] = {"headwater": {"resource": {
            k.split(".", 2)[2]: v for k, v in resource.items() if k.startswith("headwater.resource.")}}, **resource}
        rid = event.resource_id
        if rid.startswith("headwater.flow-run."):
            context["flow_run"] = _flow_run(rid.removeprefix("headwater.flow-run."), event, tx)
            context["flow"] = {"name": context["flow_run"].get("flow_name", "")}
    base = os.environ.get("HEADWATER_UI_URL", "").rstrip("/")
    if base and context["flow_run"].get("id"):
        context["ui_url"] = f"\n{base}/runs/{context['flow_run']['id']}"
    return context


def _flow_run(run_id: str, event: Any, tx: Any) -> dict[str, Any]:
    import json

    info: dict[str, Any] = {"id": run_id, "name": event.resource.get("headwater.resource.name", ""),
                            "state": event.event.rsplit(".", 1)[-1], "message": event.payload.get("message", "")}
    rows = tx.execute("SELECT name, flow_name, parameters, message FROM flow_runs WHERE id = :id",
                      {"id": run_id}) if tx is not None else []
    if rows:
        info.update(name=rows[0].name, flow_name=rows[0].flow_name,
                    parameters=json.loads(rows[0].parameters) if rows[0].parameters else {})
        info["message"] = info["message"] or rows[0].message or ""
    info["message"] = str(info["message"]).strip().splitlines()[-1] if info["message"] else ""  # no traceback
    message = f": {info['message']}" if info["message"] else ""
    info["summary"] = f"\nFlow run {info['name']} of {info.get('flow_name') or '?'} is {info['state']}{message}"
    return info


def execute(action: Any, context: dict[str, Any]) -> str:
    """Carry out one action; returns a one-line description of what was done."""
    kind = action.type
    try:
        if kind == "send-notification":
            from headwater.blocks.core import Block

            block = Block.load(action.block)
            subject = redact(render(action.subject, context))
            body = redact(render(action.body, context))
            block.notify(body, subject=subject)
            return f"notified {action.block}"
        _orchestration()
        from headwater.orchestration import deployments, queue

        if kind == "cancel-flow-run":
            run_id = context.get("flow_run", {}).get("id")
            if not run_id:
                raise ActionError("cancel-flow-run: the triggering event is not about a flow run")
            queue.cancel_run(run_id)
            return f"cancelled flow run {run_id}"
        if kind == "run-deployment":
            from headwater.orchestration.entrypoints import check_with_schema

            dep = deployments.get_deployment(action.deployment)
            parameters = render_value(action.parameters, context, strict=False)
            if dep.parameter_schema:
                check_with_schema(dep.parameter_schema, {**dep.parameters, **parameters})
            # the fire key makes the run unique: an action carried out twice creates one run
            run_id = queue.create_run(dep, parameters, auto_key=f"automation:{context.get('fire_key')}")
            return f"created flow run {run_id} of {action.deployment}" if run_id else "run already created"
        if kind in ("pause-deployment", "resume-deployment"):
            deployments.set_paused(action.deployment, kind == "pause-deployment")
            return f"{kind.split('-')[0]}d {action.deployment}"
    except HeadwaterError as exc:
        raise ActionError(f"{kind}: {redact(str(exc))}") from None
    raise ActionError(f"unknown action type {kind!r}")
