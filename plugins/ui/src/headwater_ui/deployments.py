"""Deployments in the UI, through Headwater's orchestration (``headwater.orchestration``)."""

from __future__ import annotations

import json
from typing import Any

from headwater.errors import HeadwaterError

__all__ = ["available", "deployment_rows", "parameter_fields", "pause", "run_deployment"]


def available() -> bool:
    """Whether this Headwater has orchestration (deployments, schedules, workers)."""
    try:
        import headwater.orchestration.deployments  # noqa: F401
    except ImportError:
        return False
    return True


def deployment_rows(next_runs: int = 3) -> list[dict[str, Any]]:
    """Every deployment with its schedules, the next times they fire and its queued runs."""
    from headwater.orchestration.deployments import list_deployments
    from headwater.store.engine import db_read

    deps = list_deployments()
    with db_read() as tx:
        queued = tx.execute(
            "SELECT deployment_id, id, name, scheduled_time, state FROM scheduled_runs "
            "WHERE state_type = 'SCHEDULED' ORDER BY scheduled_time"
        )
    by_dep: dict[str, list[dict[str, Any]]] = {}
    for q in queued:
        by_dep.setdefault(q.deployment_id, []).append(dict(q))
    out = []
    for d in deps:
        active = [s for s, on in zip(d.schedules, d.schedule_active or [True] * len(d.schedules), strict=False) if on]
        upcoming = sorted(t.timestamp() for s in active for t in s.next_dates(next_runs))[:next_runs]
        out.append(
            {
                "name": d.full_name,
                "flow_name": d.flow_name,
                "deployment": d.name,
                "work_pool": d.work_pool_name,
                "paused": d.paused,
                "schedules": [s.describe() for s in d.schedules],
                "parameters": d.parameters,
                "tags": d.tags,
                "description": d.description,
                "next_runs": [] if d.paused else upcoming,
                "queued": by_dep.get(d.id or "", [])[:next_runs],
                "parameter_schema": d.parameter_schema or {},
            }
        )
    return out


_KINDS = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}


def parameter_fields(schema: dict[str, Any], defaults: dict[str, Any]) -> list[dict[str, Any]]:
    """Inputs for a deployment's "Run" form, from its flow's signature as the deployment saved it
    (names, required ones, simple types); a blank input takes the deployment's or the flow's default.
    Secret parameters are password inputs, never filled in."""
    names = schema.get("names", []) if schema else []
    required = set(schema.get("required", [])) if schema else set()
    types = schema.get("types", {}) if schema else {}
    secret = set(schema.get("secret", [])) if schema else set()
    fields = []
    for name in names:
        kind = "secret" if name in secret else _KINDS.get(types.get(name, ""), "json")
        value = None if kind == "secret" else defaults.get(name)
        if value is None:
            text = ""
        elif kind == "json":
            text = json.dumps(value)
        else:
            text = str(value).lower() if kind == "boolean" else str(value)
        fields.append(
            {
                "name": name,
                "kind": kind,
                "required": name in required and name not in defaults,
                "value": text,
                "title": name,
            }
        )
    return fields


def _parse(fields: list[dict[str, Any]], form: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in fields:
        raw = form.get(f"param.{f['name']}", "")
        if f["kind"] == "boolean":
            values[f["name"]] = raw in ("on", "true")
            continue
        if raw.strip() == "":
            continue
        if f["kind"] in ("string", "secret"):
            values[f["name"]] = raw
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            value = _NOT_JSON
        wanted, example = _TYPED.get(f["kind"], (object, '[1, 2] or {"a": 1}'))
        if value is _NOT_JSON or isinstance(value, bool) or not isinstance(value, wanted):
            what = {"integer": "an integer", "number": "a number"}.get(f["kind"], "JSON")
            raise HeadwaterError(f"parameter {f['name']}: {raw!r} is not {what} (e.g. {example})")
        values[f["name"]] = value
    return values


_NOT_JSON = object()
_TYPED: dict[str, tuple[type | tuple[type, ...], str]] = {"integer": (int, "7"), "number": ((int, float), "2.5")}


def run_deployment(name: str, form: dict[str, str]) -> str:
    """Queue a run of deployment ``name`` with the form's parameters; returns the run's id.

    Raises:
        HeadwaterError: unknown deployment, or a parameter that does not fit (one line).
    """
    from headwater.orchestration.deployments import get_deployment
    from headwater.orchestration.queue import create_run

    dep = get_deployment(name)
    params = {**dep.parameters, **_parse(parameter_fields(dep.parameter_schema or {}, dep.parameters), form)}
    run_id = create_run(dep, parameters=params)
    if run_id is None:
        raise HeadwaterError(f"deployment {name!r}: the run was not queued")
    return run_id


def pause(name: str, paused: bool) -> str:
    """Pause or resume a deployment's schedules; returns its full name."""
    from headwater.orchestration.deployments import set_paused

    return set_paused(name, paused)
