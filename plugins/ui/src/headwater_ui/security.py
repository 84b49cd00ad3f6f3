"""Request security: the token, the Host check, CSRF on mutating requests and response headers.

Written as plain ASGI middleware so that streamed responses (server-sent events) pass through
untouched.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = ["CSP", "CSRF_COOKIE", "CSRF_FIELD", "CSRF_HEADER", "TOKEN_COOKIE", "SecurityMiddleware", "csrf_ok"]

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'"
)
TOKEN_COOKIE = "hw_ui_token"
CSRF_COOKIE = "hw_ui_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


def _cookies(headers: dict[bytes, bytes]) -> dict[str, str]:
    raw = headers.get(b"cookie")
    return dict(_parse_cookies(raw)) if raw else {}


@lru_cache(maxsize=64)
def _parse_cookies(raw: bytes) -> tuple[tuple[str, str], ...]:
    """A Cookie header's values; a browser sends the same header on every request, so it is parsed once."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw.decode("latin-1"))
    except Exception:
        return ()
    return tuple((k, m.value) for k, m in jar.items())


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


def csrf_ok(scope: Scope, submitted: str | None) -> bool:
    """Whether a mutating request carries the CSRF token of its own cookie (double submit), or
    was authorised by a bearer token."""
    state = scope.get("state") or {}
    return bool(state.get("bearer")) or _same(state.get("csrf_cookie"), submitted)


class SecurityMiddleware:
    """Checks the token (if any) and the Host header, sets the CSRF cookie and security headers."""

    def __init__(self, app: ASGIApp, token: str | None, allowed_hosts: set[str] | None) -> None:
        self.app = app
        self.token = token
        self.allowed_hosts = {h.lower() for h in allowed_hosts} if allowed_hosts else None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        cookies = _cookies(headers)
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if self.allowed_hosts is not None and host.rsplit(":", 1)[0] not in self.allowed_hosts:
            # a page on another site whose DNS name was re-pointed at 127.0.0.1 must not read the UI
            await _plain(send, 400, f"unexpected Host header {host!r}: open the UI at its loopback address")
            return
        extra: list[tuple[bytes, bytes]] = []
        by_bearer = False
        if self.token is not None:
            auth = headers.get(b"authorization", b"").decode("latin-1")
            bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            if _same(query.get("token"), self.token) and scope["method"] == "GET":
                # exchange the token in the address for a cookie, and drop it from the address bar
                rest = urlencode([(k, v) for k, v in query.items() if k != "token"])
                location = scope.get("path", "/") + (f"?{rest}" if rest else "")
                cookie = f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                await _plain(
                    send, 303, "signed in", [(b"location", location.encode()), (b"set-cookie", cookie.encode())]
                )
                return
            by_bearer = _same(bearer, self.token)
            if not (by_bearer or _same(cookies.get(TOKEN_COOKIE), self.token)):
                await _plain(
                    send,
                    401,
                    "unauthorised: this Headwater UI needs its token "
                    "(Authorization: Bearer TOKEN, or open /?token=TOKEN once in the browser)",
                    [(b"www-authenticate", b'Bearer realm="headwater-ui"')],
                )
                return
        csrf = cookies.get(CSRF_COOKIE)
        if not csrf or len(csrf) < 20:
            csrf = secrets.token_urlsafe(24)
            extra.append((b"set-cookie", f"{CSRF_COOKIE}={csrf}; Path=/; SameSite=Strict".encode()))
        scope.setdefault("state", {})
        # a bearer token cannot be sent by another site's form: such requests need no CSRF token
        scope["state"]["bearer"] = self.token is not None and by_bearer
        scope["state"]["csrf_cookie"] = cookies.get(CSRF_COOKIE) if cookies.get(CSRF_COOKIE) == csrf else None
        scope["state"]["csrf"] = csrf
        if scope["method"] not in _SAFE_METHODS:
            origin = headers.get(b"origin", b"").decode("latin-1").lower()
            if origin and origin != "null" and origin.split("://", 1)[-1] != host:
                await _plain(send, 403, f"cross-site request refused (Origin {origin} is not this UI)")
                return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                took = f"app;dur={(time.perf_counter() - started) * 1000:.2f}".encode()  # server time, for bench/ui.py
                message["headers"] = [*message.get("headers", []), *_HEADERS, *extra, (b"server-timing", took)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _plain(send: Any, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *_HEADERS,
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
