"""The ASGI application: server-rendered pages and the JSON API under ``/api`` they use."""

from __future__ import annotations

from typing import Any

from headwater.errors import HeadwaterError
from headwater.redaction import redact
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from headwater_ui import api, pages
from headwater_ui.colours import states_css
from headwater_ui.rendering import HERE, error_response
from headwater_ui.security import SecurityMiddleware
from headwater_ui.threads import threaded

__all__ = ["create_app"]


async def _states_css(request: Request) -> Response:
    return PlainTextResponse(states_css(), media_type="text/css")


async def _error(request: Request, exc: Exception) -> Response:
    return error_response(request, getattr(exc, "status_code", 500), getattr(exc, "detail", None) or "internal error")


def create_app(auth_token: str | None = None, allowed_hosts: set[str] | None = None) -> Any:
    """The UI as an ASGI application.

    Args:
        auth_token: When set, every request must carry it (``Authorization: Bearer``, or the
            cookie set by opening ``/?token=...``); others get 401.
        allowed_hosts: When set, requests whose ``Host`` is not one of these names get 400
            (guards a loopback UI against DNS rebinding).
    """
    routes = [
        Route("/", pages.dashboard),
        Route("/runs", threaded(pages.runs, inline=pages.runs_inline)),
        Route("/runs/{run_id}", pages.run),
        Route("/runs/{run_id}/cancel", pages.cancel, methods=["POST"]),
        Route("/deployments", pages.deployments),
        Route("/deployments/{flow}/{name}/{action}", pages.deployment_action, methods=["POST"]),
        Route("/blocks", pages.blocks),
        Route("/blocks/new", pages.block_new, methods=["GET", "POST"]),
        Route("/blocks/{slug}/{name}", pages.block),
        Route("/blocks/{slug}/{name}/edit", pages.block_edit, methods=["GET", "POST"]),
        Route("/static/states.css", _states_css),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        *api.routes(),
    ]

    def handle_headwater(request: Request, exc: Exception) -> Response:
        from headwater.errors import BlockExistsError, BlockNotFoundError, StoreUnavailableError, UnknownBlockTypeError
        from headwater.history.reader import RunNotFoundError

        status = 404 if isinstance(exc, (RunNotFoundError, BlockNotFoundError, UnknownBlockTypeError)) else 400
        if isinstance(exc, BlockExistsError):
            status = 409
        elif isinstance(exc, StoreUnavailableError):
            status = 503
        return error_response(request, status, redact(str(exc)))

    app = Starlette(routes=routes, exception_handlers={HeadwaterError: handle_headwater, 404: _error, 405: _error})
    return SecurityMiddleware(app, auth_token, allowed_hosts)
