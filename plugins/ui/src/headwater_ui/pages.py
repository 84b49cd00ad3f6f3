"""The HTML pages (server-rendered; ``static/app.js`` adds live updates through the API)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from headwater.errors import HeadwaterError
from headwater.redaction import redact
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from headwater_ui import blockforms, queries
from headwater_ui.actions import cancel_flow_run
from headwater_ui.rendering import error_response, redirect, render
from headwater_ui.runrows import flow_options, runs_rows, state_choices
from headwater_ui.security import CSRF_FIELD, csrf_ok
from headwater_ui.svg import MAX_GRAPH_NODES, MAX_TIMELINE_ROWS, lineage_svg, timeline_svg

__all__ = ["block", "block_edit", "block_new", "blocks", "cancel", "dashboard", "run", "runs", "runs_inline"]

MAX_TASK_ROWS = 300
MAX_LOG_LINES = 2000


async def _form(request: Request) -> dict[str, str] | None:
    """The submitted url-encoded form, or None when its CSRF token is missing or wrong."""
    from urllib.parse import parse_qsl

    body = (await request.body()).decode("utf-8", "replace")
    form = dict(parse_qsl(body, keep_blank_values=True))
    return form if csrf_ok(request.scope, form.get(CSRF_FIELD)) else None


def _csrf_refused(request: Request) -> Response:
    return error_response(request, 403, "the form's CSRF token is missing or stale: reload the page and submit again")


def dashboard(request: Request) -> Response:
    data = queries.dashboard()
    return render(request, "dashboard.html", data=data, states=list(queries.STATE_TYPES), nav="dashboard")


def runs_inline(request: Request) -> bool:
    """Whether the runs page's reads are bounded and may skip the worker thread (its form's flow
    names included)."""
    return queries.inline_read(request.query_params, flow_choices=True)


def runs(request: Request) -> Response:
    f = queries.RunFilter.from_query(request.query_params)
    page = queries.read_runs(f)
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "cursor"])
    cursor = page.next_cursor
    next_url = f"/runs?{query}{'&' if query else ''}cursor={quote(cursor, safe='')}" if cursor else None
    return render(
        request,
        "runs.html",
        rows=runs_rows(page),
        f=f,
        state_choices=state_choices(queries.STATE_TYPES, tuple(f.states)),
        flow_options=flow_options(queries.flow_names(), f.flow),
        next_url=next_url,
        first_url=f"/runs?{query}" if f.cursor else None,
        since_raw=request.query_params.get("since", ""),
        until_raw=request.query_params.get("until", ""),
        api_query=query,
        nav="runs",
    )


def run(request: Request) -> Response:
    detail = queries.run_summary(request.path_params["run_id"])
    view = queries.task_view(detail["id"], shown=MAX_TASK_ROWS, whole_graph=MAX_GRAPH_NODES)
    tasks = view["tasks"]
    logs, earlier = queries.logs_tail(detail["id"], MAX_LOG_LINES)
    return render(
        request,
        "run.html",
        run=detail,
        tasks=tasks,
        task_count=view["count"],
        failed=view["errors"],
        timeline=timeline_svg(tasks),
        lineage=lineage_svg(tasks, view["graph"]),
        logs=logs,
        last_log=logs[-1]["id"] if logs else 0,
        timeline_rows=min(view["count"], MAX_TIMELINE_ROWS),
        max_task_rows=MAX_TASK_ROWS,
        earlier_logs=earlier,
        nav="runs",
        unfinished=detail["state_type"] in ("RUNNING", "PENDING", "SCHEDULED"),
    )


async def cancel(request: Request) -> Response:
    form = await _form(request)
    if form is None:
        return _csrf_refused(request)
    run_id = request.path_params["run_id"]
    try:
        await run_in_threadpool(cancel_flow_run, run_id)
    except HeadwaterError as exc:
        detail = await run_in_threadpool(queries.run_detail, run_id)
        return render(
            request,
            "error.html",
            status=409,
            message=redact(str(exc)),
            back=f"/runs/{detail['id']}",
            title="Cannot cancel this run",
        )
    return redirect(f"/runs/{quote(run_id)}")


def blocks(request: Request) -> Response:
    from headwater.store.documents import list_documents

    slug = request.query_params.get("type") or None
    docs = list_documents(slug)
    grouped: dict[str, list[Any]] = {}
    for d in docs:
        grouped.setdefault(d.slug, []).append(d)
    types = blockforms.block_types()
    return render(request, "blocks.html", grouped=grouped, types=types, slug=slug, nav="blocks")


def block(request: Request) -> Response:
    from headwater.store.documents import read_document

    doc = read_document(f"{request.path_params['slug']}/{request.path_params['name']}")
    return render(request, "block.html", doc=doc, fields=blockforms.shown_fields(doc.data), nav="blocks")


async def block_new(request: Request) -> Response:
    slug = request.query_params.get("type", "")
    if request.method == "GET":
        if not slug:
            return render(request, "block_types.html", types=blockforms.block_types(), nav="blocks")
        cls = await run_in_threadpool(blockforms.block_type, slug)
        fields = await run_in_threadpool(blockforms.form_fields, cls)
        return render(
            request, "block_form.html", slug=slug, cls=cls, fields=fields, name="", editing=False, nav="blocks"
        )
    return await _submit(request, slug, editing=False)


async def block_edit(request: Request) -> Response:
    from headwater.store.documents import read_document

    slug, name = request.path_params["slug"], request.path_params["name"]
    if request.method == "GET":
        doc = await run_in_threadpool(read_document, f"{slug}/{name}")
        cls = await run_in_threadpool(blockforms.block_type, slug)
        fields = await run_in_threadpool(
            blockforms.form_fields, cls, blockforms.shown_fields(doc.data), doc.secret_fields
        )
        return render(
            request, "block_form.html", slug=slug, cls=cls, fields=fields, name=name, editing=True, nav="blocks"
        )
    return await _submit(request, slug, editing=True, name=name)


async def _submit(request: Request, slug: str, editing: bool, name: str | None = None) -> Response:
    form = await _form(request)
    if form is None:
        return _csrf_refused(request)
    name = name if editing else form.get("_name", "").strip()
    try:
        ref = await run_in_threadpool(blockforms.save_from_form, slug, name or "", form, editing)
    except HeadwaterError as exc:
        cls = await run_in_threadpool(blockforms.block_type, slug)
        stored: list[str] = []
        if editing:
            from headwater.store.documents import read_document

            stored = (await run_in_threadpool(read_document, f"{slug}/{name}")).secret_fields
        fields = await run_in_threadpool(blockforms.form_fields, cls, None, stored)
        for f in fields:  # keep what was typed, except secrets (never sent back)
            if f.kind not in ("secret", "secret-json") and f.name in form:
                f.value = "true" if f.kind == "bool" else form[f.name]
        return render(
            request,
            "block_form.html",
            status=400,
            slug=slug,
            cls=cls,
            fields=fields,
            name=name or "",
            editing=editing,
            error=redact(str(exc)),
            nav="blocks",
        )
    return redirect(f"/blocks/{ref}")


def deployments(request: Request) -> Response:
    from headwater_ui import deployments as deps

    if not deps.available():
        return render(
            request,
            "error.html",
            status=404,
            title="No deployments here",
            message="this Headwater has no orchestration (deployments): upgrade headwater",
        )
    rows = deps.deployment_rows()
    for r in rows:
        r["fields"] = deps.parameter_fields(r["parameter_schema"], r["parameters"])
    return render(request, "deployments.html", rows=rows, nav="deployments")


async def deployment_action(request: Request) -> Response:
    from headwater_ui import deployments as deps

    form = await _form(request)
    if form is None:
        return _csrf_refused(request)
    name = f"{request.path_params['flow']}/{request.path_params['name']}"
    action = request.path_params["action"]
    try:
        if action in ("pause", "resume"):
            await run_in_threadpool(deps.pause, name, action == "pause")
            return redirect("/deployments")
        if action == "run":
            run_id = await run_in_threadpool(deps.run_deployment, name, form)
            return redirect(f"/deployments?queued={quote(run_id)}")
    except HeadwaterError as exc:
        return render(
            request, "error.html", status=400, message=redact(str(exc)), back="/deployments", title="Cannot do that"
        )
    return error_response(request, 404, f"unknown action {action!r}: pause, resume or run")
