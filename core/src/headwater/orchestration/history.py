"""Deployment runs in the run history: the ones that have not started yet (Scheduled, Late,
Pending, or Cancelled before they started) live only in ``scheduled_runs`` and are merged into
``headwater runs ls`` here."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["resolve_deployment_name", "unstarted_runs"]


def resolve_deployment_name(name: str) -> str:
    """``flow/name`` for a deployment given by full name, unique name or id."""
    from headwater.orchestration.deployments import get_deployment

    return get_deployment(name).full_name


def unstarted_runs(
    limit: int = 20, flow_name: str | None = None, state: str | None = None, deployment: str | None = None
) -> list[dict[str, Any]]:
    """Deployment runs with no flow-run history yet, newest scheduled time first."""
    from headwater.store.engine import db_read

    where = ["NOT EXISTS (SELECT 1 FROM flow_runs f WHERE f.id = s.id)"]
    params: dict[str, Any] = {"limit": int(limit)}
    if flow_name:
        where.append("s.flow_name = :flow")
        params["flow"] = flow_name
    if state:
        where.append("LOWER(s.state) = :state")
        params["state"] = state.lower()
    if deployment:
        where.append("s.deployment = :dep")
        params["dep"] = deployment
    with db_read() as tx:
        rows = tx.execute(
            f"SELECT * FROM scheduled_runs s WHERE {' AND '.join(where)} ORDER BY s.scheduled_time DESC LIMIT :limit",
            params,
        )
    return [
        {
            "id": r.id,
            "name": r.name,
            "flow_name": r.flow_name,
            "state": r.state,
            "state_type": r.state_type,
            "message": r.message,
            "parameters": json.loads(r.parameters) if r.parameters else {},
            "tags": json.loads(r.tags) if r.tags else [],
            "run_count": 0,
            "parent_flow_run_id": None,
            "started": r.started,
            "ended": r.ended,
            "duration": None,
            "pid": r.pid,
            "host": r.host,
            "transitions": [],
            "deployment": r.deployment,
            "scheduled_time": r.scheduled_time,
            "worker": r.worker,
            "work_pool": r.work_pool,
            "task_runs": 0,
            "created": r.created,
        }
        for r in rows
    ]
