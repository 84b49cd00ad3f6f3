"""The JSON API under ``/api`` (documented in docs/ui.md; ``GET /api`` lists it).

Reads are GET; the one action, cancel, is a POST that needs the ``X-CSRF-Token`` header
(the value of the ``hw_ui_csrf`` cookie) or a bearer token. Secret values never appear:
block secrets are listed by field name only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from headwater.redaction import redact
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from headwater_ui import blockforms, queries
from headwater_ui.actions import cancel_flow_run
from headwater_ui.rendering import SafeJSONResponse, error_response
from headwater_ui.security import CSRF_HEADER, csrf_ok
from headwater_ui.threads import threaded

__all__ = ["ENDPOINTS", "POLL_SECONDS", "routes", "runs_inline"]

POLL_SECONDS = 0.2
KEEPALIVE_SECONDS = 15.0
_FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")

ENDPOINTS = {
    "GET /api/runs": "flow runs, newest first; filters: state (repeat or comma list), flow, deployment (flow/name), "
    "tag (repeat), since, until "
    "(24h, 7d, ISO date or Unix time), q (name or id), limit (<= 500), cursor (next_cursor of the previous page)",
    "GET /api/runs/{id}": "a flow run (id or unique prefix) with parameters (secrets masked), state transitions, "
    "task runs (upstream ids, tries, durations, error) and subflow runs",
    "GET /api/runs/{id}/logs": "log lines of a run; after=ID for lines after that id",
    "GET /api/runs/{id}/logs/stream": "server-sent events: 'log' (one line as JSON, id = line id), 'state' (the run's "
    "state when it changes), 'end' (the run finished and every line was sent)",
    "POST /api/runs/{id}/cancel": "cancel a run (header X-CSRF-Token)",
    "GET /api/dashboard": "runs per state (24 h, 7 days, per day), failure rate per flow, slowest tasks, late runs",
    "GET /api/flows": "flow names in the history",
    "GET /api/deployments": "deployments: schedules, next run times, paused, queued runs, default parameters",
    "POST /api/deployments/{flow}/{name}/{action}": "pause, resume, or run (body: JSON parameters) a deployment "
    "(header X-CSRF-Token)",
    "GET /api/block-types": "installed block types with their fields (secret fields marked, no values)",
    "GET /api/blocks": "saved blocks (type=SLUG to filter); secret fields by name only",
    "GET /api/blocks/{slug}/{name}": "one saved block's fields, secrets masked",
}


def _json(data: Any, status: int = 200) -> Response:
    return SafeJSONResponse(data, status_code=status)


async def index(request: Request) -> Response:
    return _json({"endpoints": ENDPOINTS})


def runs_inline(request: Request) -> bool:
    """Whether a runs-list request is a bounded read that may skip the worker thread."""
    return queries.inline_read(request.query_params)


def runs(request: Request) -> Response:
    return _json(queries.runs_page(queries.RunFilter.from_query(request.query_params)))


def run(request: Request) -> Response:
    return _json(queries.run_detail(request.path_params["run_id"]))


def logs(request: Request) -> Response:
    from headwater.history.reader import get_flow_run

    run_id = get_flow_run(request.path_params["run_id"])["id"]
    try:
        after = int(request.query_params.get("after") or 0)
    except ValueError:
        return error_response(request, 400, "after must be a log line id (a whole number)")
    return _json({"logs": queries.logs_after(run_id, after)})


def _state_of(run_id: str) -> tuple[str, str]:
    from headwater.history.reader import get_flow_run

    r = get_flow_run(run_id)
    return r["state_type"], r["state"]


def _event(kind: str, data: Any, id_: int | None = None) -> str:
    head = f"id: {id_}\n" if id_ is not None else ""
    return f"{head}event: {kind}\ndata: {redact(json.dumps(data, separators=(',', ':')))}\n\n"


async def logs_stream(request: Request) -> Response:
    from headwater.history.reader import get_flow_run

    run_id = (await run_in_threadpool(get_flow_run, request.path_params["run_id"]))["id"]
    try:
        after = int(request.headers.get("last-event-id") or request.query_params.get("after") or 0)
    except ValueError:
        after = 0

    async def events() -> AsyncIterator[str]:
        nonlocal after
        last_state: tuple[str, str] | None = None
        idle = 0.0
        yield "retry: 1000\n\n"
        while True:
            lines = await run_in_threadpool(queries.logs_after, run_id, after)
            for line in lines:
                after = line["id"]
                yield _event("log", line, line["id"])
            state = await run_in_threadpool(_state_of, run_id)
            if state != last_state:
                last_state = state
                yield _event("state", {"state_type": state[0], "state": state[1]})
            if state[0] in _FINAL and not lines:
                # the writer flushes the last lines with the final state: one more read, then done
                for line in await run_in_threadpool(queries.logs_after, run_id, after):
                    after = line["id"]
                    yield _event("log", line, line["id"])
                yield _event("end", {"state_type": state[0], "state": state[1]})
                return
            if await request.is_disconnected():
                return
            idle = 0.0 if lines else idle + POLL_SECONDS
            if idle >= KEEPALIVE_SECONDS:
                idle = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"x-accel-buffering": "no"})


async def cancel(request: Request) -> Response:
    if not csrf_ok(request.scope, request.headers.get(CSRF_HEADER)):
        return error_response(request, 403, "missing or stale X-CSRF-Token header (the hw_ui_csrf cookie's value)")
    from headwater.errors import HeadwaterError
    from headwater.history.reader import RunNotFoundError

    try:
        result = await run_in_threadpool(cancel_flow_run, request.path_params["run_id"])
    except RunNotFoundError:
        raise
    except HeadwaterError as exc:
        return error_response(request, 409, redact(str(exc)))
    return _json(result)


def dashboard(request: Request) -> Response:
    return _json(queries.dashboard())


def flows(request: Request) -> Response:
    return _json({"flows": queries.flow_names()})


def block_types(request: Request) -> Response:
    out = []
    for slug, info in blockforms.block_types().items():
        fields = blockforms.form_fields(info.cls)
        out.append(
            {
                "slug": slug,
                "provided_by": info.dist,
                "description": info.cls.get_description(),
                "fields": [
                    {
                        "name": f.name,
                        "kind": f.kind,
                        "required": f.required,
                        "secret": f.kind.startswith("secret"),
                        "description": f.description,
                        "choices": f.choices,
                    }
                    for f in fields
                ],
            }
        )
    return _json({"block_types": out})


def _doc(d: Any, with_fields: bool) -> dict[str, Any]:
    out = {
        "ref": d.ref,
        "slug": d.slug,
        "name": d.name,
        "provided_by": d.dist or d.module,
        "secret_fields": d.secret_fields,
        "created": d.created,
        "updated": d.updated,
    }
    if with_fields:
        out["fields"] = blockforms.shown_fields(d.data)
    return out


def blocks(request: Request) -> Response:
    from headwater.store.documents import list_documents

    return _json({"blocks": [_doc(d, False) for d in list_documents(request.query_params.get("type") or None)]})


def block(request: Request) -> Response:
    from headwater.store.documents import read_document

    return _json(_doc(read_document(f"{request.path_params['slug']}/{request.path_params['name']}"), True))


def deployments(request: Request) -> Response:
    from headwater_ui import deployments as deps

    if not deps.available():
        return error_response(request, 404, "this Headwater has no orchestration (deployments)")
    rows = deps.deployment_rows()
    for r in rows:
        r.pop("parameter_schema", None)
    return _json({"deployments": rows})


async def deployment_action(request: Request) -> Response:
    from headwater.errors import HeadwaterError

    from headwater_ui import deployments as deps

    if not csrf_ok(request.scope, request.headers.get(CSRF_HEADER)):
        return error_response(request, 403, "missing or stale X-CSRF-Token header (the hw_ui_csrf cookie's value)")
    name = f"{request.path_params['flow']}/{request.path_params['name']}"
    action = request.path_params["action"]
    try:
        if action in ("pause", "resume"):
            return _json(
                {
                    "deployment": await run_in_threadpool(deps.pause, name, action == "pause"),
                    "paused": action == "pause",
                }
            )
        if action == "run":
            body = await request.body()
            params = json.loads(body) if body.strip() else {}
            form = {f"param.{k}": v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
            return _json({"id": await run_in_threadpool(deps.run_deployment, name, form)})
    except (HeadwaterError, ValueError) as exc:
        return error_response(request, 400, redact(str(exc)))
    return error_response(request, 404, f"unknown action {action!r}: pause, resume or run")


def routes() -> list[Route]:
    """The API's routes."""
    return [
        Route("/api", index),
        Route("/api/runs", threaded(runs, inline=runs_inline)),
        Route("/api/runs/{run_id}", run),
        Route("/api/runs/{run_id}/logs", logs),
        Route("/api/runs/{run_id}/logs/stream", logs_stream),
        Route("/api/runs/{run_id}/cancel", cancel, methods=["POST"]),
        Route("/api/dashboard", dashboard),
        Route("/api/flows", flows),
        Route("/api/deployments", deployments),
        Route("/api/deployments/{flow}/{name}/{action}", deployment_action, methods=["POST"]),
        Route("/api/block-types", block_types),
        Route("/api/blocks", blocks),
        Route("/api/blocks/{slug}/{name}", block),
    ]
