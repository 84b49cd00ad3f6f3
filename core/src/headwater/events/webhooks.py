"""Webhooks: an HTTP endpoint that turns requests into events, one template per webhook.

``POST /hooks/<id>`` with ``Authorization: Bearer <token>`` (or ``?token=``): the JSON (or
form) body, headers and query are rendered through the webhook's template into an event,
which is recorded; automations then react to it. Tokens are shown once and stored hashed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from headwater.errors import HeadwaterError
from headwater.events.emit import Event, EventError, emit_event
from headwater.events.templates import placeholders, render_value

__all__ = ["WebhookNotFoundError", "create_webhook", "delete_webhook", "handle", "list_webhooks", "make_server"]

DEFAULT_TEMPLATE = {
    "event": "webhook.called",
    "resource": {"headwater.resource.id": "webhook.{{ webhook.name }}"},
    "payload": "{{ body }}",
}
ROOTS = ("body", "headers", "query", "webhook")


class WebhookNotFoundError(HeadwaterError, LookupError):
    """No webhook of that name or id."""


def _hash(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def _check_template(template: Any) -> dict[str, Any]:
    if isinstance(template, str):
        try:
            template = json.loads(template)
        except ValueError as exc:
            raise EventError(f"webhook template is not JSON: {exc}") from None
    if not isinstance(template, dict) or "event" not in template or "resource" not in template:
        raise EventError("a webhook template is a JSON object with at least 'event' and 'resource'")
    unknown = set(template) - {"event", "resource", "related", "payload"}
    if unknown:
        raise EventError(f"webhook template: unknown key(s) {', '.join(sorted(unknown))}")
    bad = sorted({p for p in placeholders(template) if p.split(".", 1)[0] not in ROOTS})
    if bad:
        raise EventError(f"webhook template: unknown field(s) {', '.join(bad)}; fields start with {', '.join(ROOTS)}")
    return template


def create_webhook(name: str, template: Any = None) -> tuple[str, str]:
    """Create a webhook; returns ``(id, token)`` (the token is not shown again)."""
    from headwater.store.engine import db_write

    spec = _check_template(template if template is not None else DEFAULT_TEMPLATE)
    if not name or len(name) > 200:
        raise EventError("a webhook needs a name of 1 to 200 characters")
    token, id_ = secrets.token_urlsafe(24), str(uuid.uuid4())
    with db_write() as tx:
        if tx.execute("SELECT id FROM webhooks WHERE name = :n", {"n": name}):
            raise EventError(f"webhook {name!r} exists; delete it first (headwater webhook delete {name})")
        tx.execute("INSERT INTO webhooks (id, name, token_hash, template, enabled, created) "
                   "VALUES (:id, :n, :h, :t, 1, :c)",
                   {"id": id_, "n": name, "h": _hash(token), "t": json.dumps(spec), "c": time.time()})
    return id_, token


def list_webhooks() -> list[dict[str, Any]]:
    from headwater.store.engine import db_read

    with db_read() as tx:
        return [{"id": r.id, "name": r.name, "path": f"/hooks/{r.id}", "template": json.loads(r.template)}
                for r in tx.execute("SELECT * FROM webhooks ORDER BY name")]


def _get(key: str) -> Any:
    from headwater.store.engine import db_read

    with db_read() as tx:
        rows = tx.execute("SELECT * FROM webhooks WHERE id = :k OR name = :k", {"k": key})
    if not rows:
        raise WebhookNotFoundError(f"no webhook {key!r}: see headwater webhook ls")
    return rows[0]


def delete_webhook(name: str) -> None:
    from headwater.store.engine import db_write

    row = _get(name)
    with db_write() as tx:
        tx.execute("DELETE FROM webhooks WHERE id = :id", {"id": row.id})


def handle(webhook_id: str, token: str, body: bytes, headers: dict[str, str], query: dict[str, str]) -> Event:
    """Authenticate and turn one request into a recorded event.

    Raises:
        WebhookNotFoundError: unknown id. PermissionError: wrong token.
        EventError: the template did not render into a valid event.
    """
    row = _get(webhook_id)
    if not hmac.compare_digest(_hash(token or ""), row.token_hash):
        raise PermissionError("wrong or missing webhook token")
    text = body.decode("utf-8", "replace")
    parsed: Any
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        parsed = dict(urllib.parse.parse_qsl(text))
    else:
        try:
            parsed = json.loads(text) if text.strip() else {}
        except ValueError:
            parsed = text
    safe_headers = {k: v for k, v in headers.items() if k not in ("authorization", "cookie")}
    context = {"body": parsed, "headers": safe_headers, "query": {k: v for k, v in query.items() if k != "token"},
               "webhook": {"id": row.id, "name": row.name}}
    spec = render_value(json.loads(row.template), context, strict=True)
    payload = spec.get("payload")
    return emit_event(
        str(spec["event"]), resource=spec["resource"], related=spec.get("related") or None,
        payload=payload if isinstance(payload, dict) else ({"value": payload} if payload not in (None, "") else None),
    )


def make_server(host: str = "127.0.0.1", port: int = 4300) -> ThreadingHTTPServer:
    """An HTTP server for every webhook: ``POST /hooks/<id>``; answers 202 with the event id."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            parts = url.path.strip("/").split("/")
            if len(parts) != 2 or parts[0] != "hooks":
                return self._answer(404, {"error": "not found: POST /hooks/<id>"})
            auth = self.headers.get("Authorization", "")
            token = auth[7:] if auth.lower().startswith("bearer ") else query.get("token", "")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                event = handle(parts[1], token, body, {k.lower(): v for k, v in self.headers.items()}, query)
            except WebhookNotFoundError:
                return self._answer(404, {"error": "no such webhook"})
            except PermissionError as exc:
                return self._answer(401, {"error": str(exc)})
            except EventError as exc:
                return self._answer(400, {"error": str(exc)})
            from headwater.history.writer import flush

            flush()
            self._answer(202, {"event_id": event.id})

        do_PUT = do_POST

        def _answer(self, status: int, doc: dict[str, Any]) -> None:
            data = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return ThreadingHTTPServer((host, port), Handler)
