"""Planted secrets: no page or JSON answer of the UI holds a secret, in any encoding."""

from __future__ import annotations

import base64
import html
import json
import subprocess
import sys
from urllib.parse import quote, quote_plus

import httpx
import pytest
from ui_support import Server, subprocess_env

PLANTED = "pl4nted/Secret+value=ü&x<y>"
UNKNOWN = "never-remembered-Passw0rd"  # a plain str parameter no redaction knows about

SETUP = f"""
import uiflows
from headwater import Secret
planted = {PLANTED!r}
uiflows.Warehouse(url="db://warehouse", password=planted, extra={{"sslkey": planted + "-key"}}).save("wh")
Secret(value=planted).save("token")
try:
    uiflows.leaky("wh", password=planted, api_token=planted)
except ValueError:
    pass
from headwater import flow, get_run_logger
@flow
def connect(db_password: str, host: str = "db"):
    get_run_logger().info("connecting to %s", host)
connect(db_password={UNKNOWN!r})
"""


def forms(secret: str) -> set[str]:
    """The ways a secret could appear in a page or a JSON document."""
    raw = secret.encode()
    out = {
        secret,
        quote(secret),
        quote(secret, safe=""),
        quote_plus(secret),
        html.escape(secret),
        html.escape(secret, quote=False),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
    }
    return {f for f in out if len(f) >= 6}


def hits(text: str, secrets: list[str]) -> list[str]:
    return [f for s in secrets for f in forms(s) if f in text]


def test_the_search_finds_each_encoding():
    for form in forms(PLANTED):
        assert hits(f"<p>{form}</p>", [PLANTED]), form


def _pages(base: str) -> dict[str, str]:
    with httpx.Client(base_url=base, timeout=30) as c:
        runs = c.get("/api/runs").json()["runs"]
        assert {r["flow_name"] for r in runs} == {"leaky", "connect"}
        paths = [
            "/",
            "/runs",
            "/runs?tag=secret",
            "/api/runs",
            "/api/dashboard",
            "/api/flows",
            "/blocks",
            "/blocks/new",
            "/api/blocks",
            "/api/block-types",
            "/blocks/new?type=ui-warehouse",
            "/blocks/new?type=secret",
        ]
        for r in runs:
            paths += [
                f"/runs/{r['id']}",
                f"/api/runs/{r['id']}",
                f"/api/runs/{r['id']}/logs",
                f"/api/runs/{r['id']}/logs/stream",
            ]
        for ref in ("ui-warehouse/wh", "secret/token"):
            paths += [f"/blocks/{ref}", f"/blocks/{ref}/edit", f"/api/blocks/{ref}"]
        out = {}
        for path in paths:
            resp = c.get(path)
            assert resp.status_code == 200, (path, resp.text[:300])
            out[path] = resp.text
        return out


def test_no_secret_in_any_page_or_json_answer():
    proc = subprocess.run(
        [sys.executable, "-c", SETUP], capture_output=True, text=True, env=subprocess_env(), timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    server = Server()
    try:
        pages = _pages(server.url)
    finally:
        server.stop()
    leaks = {path: hits(text, [PLANTED, PLANTED + "-key", UNKNOWN]) for path, text in pages.items()}
    assert {p: h for p, h in leaks.items() if h} == {}
    # the pages do show the runs and blocks (the check above looked at the real thing)
    leaky = next(p for p in pages if p.startswith("/runs/") and "leaky" in pages[p])
    assert "could not log in as **********" in pages[leaky] and "connecting with **********" in pages[leaky]
    connect = next(t for p, t in pages.items() if p.startswith("/api/runs/") and '"flow_name":"connect"' in t)
    assert json.loads(connect)["parameters"] == {"db_password": "**********", "host": "db"}
    assert "db://warehouse" in pages["/blocks/ui-warehouse/wh"]
    logs = server.proc.stderr.read() + server.proc.stdout.read()
    assert hits(logs, [PLANTED, UNKNOWN]) == []


@pytest.mark.parametrize("field", ["password", "extra"])
def test_edit_form_never_holds_the_stored_secret(field, client):
    import uiflows

    uiflows.Warehouse(url="db://x", password=PLANTED, extra={"k": PLANTED}).save("wh")
    form = client.get("/blocks/ui-warehouse/wh/edit").text
    assert f'name="{field}"' in form and hits(form, [PLANTED]) == []
