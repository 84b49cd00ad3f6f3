"""Security: the bind rule, the token, CSRF, the Host check and the Content-Security-Policy."""

from __future__ import annotations

import re
import socket
import subprocess

import httpx
import pytest
import uiflows
from headwater_ui import create_app
from starlette.testclient import TestClient
from ui_support import HEADWATER_BIN, Server, flush, subprocess_env

TOKEN = "t0ken-for-the-ui-tests-0123456789"


def _headwater(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(HEADWATER_BIN), *args], capture_output=True, text=True, timeout=60, env={**subprocess_env(), **(env or {})}
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.org"])
def test_open_address_without_token_refuses_to_start(host):
    proc = _headwater("ui", "--host", host, "--port", "0", env={"HEADWATER_UI_TOKEN": ""})
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"refusing to serve the UI on {host}" in lines[0] and "--auth-token" in lines[0]
    assert "Traceback" not in proc.stderr


def test_short_token_and_busy_port_are_one_line_errors():
    proc = _headwater("ui", "--host", "0.0.0.0", "--auth-token", "abc")
    assert proc.returncode == 1 and "the UI token is too short (3 characters)" in proc.stderr
    assert "abc" not in proc.stderr.replace("(3 characters)", "")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = _headwater("ui", "--port", str(port))
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr and "pick another --port" in proc.stderr


def test_a_server_with_a_token_answers_401_without_it():
    server = Server(env={"HEADWATER_UI_TOKEN": TOKEN})
    try:
        for path in ("/", "/runs", "/api/runs", "/blocks", "/static/app.js"):
            r = httpx.get(server.url + path)
            assert r.status_code == 401, path
            assert TOKEN not in r.text
        assert (
            httpx.get(server.url + "/api/runs", headers={"Authorization": "Bearer wrong-token-wrong-token"}).status_code
            == 401
        )
        ok = httpx.get(server.url + "/api/runs", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.json() == {"runs": [], "next_cursor": None}
        # a browser opens /?token=... once: the token moves into a cookie and out of the address
        with httpx.Client(base_url=server.url) as browser:
            r = browser.get(f"/runs?token={TOKEN}&state=FAILED")
            assert r.status_code == 303 and r.headers["location"] == "/runs?state=FAILED"
            assert "HttpOnly" in r.headers["set-cookie"] and "SameSite=Strict" in r.headers["set-cookie"]
            assert browser.get("/runs").status_code == 200
    finally:
        server.stop()
    assert TOKEN not in server.proc.stderr.read() + server.proc.stdout.read()


def test_csrf_is_required_on_mutating_posts():
    uiflows.etl()
    flush()
    run_id = uiflows.etl.last_flow_run.id
    with TestClient(create_app()) as c:
        c.get("/runs")  # sets the CSRF cookie
        csrf = c.cookies["hw_ui_csrf"]
        assert c.post(f"/runs/{run_id}/cancel", data={}).status_code == 403
        assert c.post(f"/runs/{run_id}/cancel", data={"csrf_token": "x" * 32}).status_code == 403
        assert c.post(f"/api/runs/{run_id}/cancel").status_code == 403
        assert c.post("/blocks/new?type=secret", data={"_name": "x", "value": "v" * 8}).status_code == 403
        # with the token: past CSRF, refused because the run finished (409, one line)
        r = c.post(f"/api/runs/{run_id}/cancel", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 409 and "has finished (Completed): there is nothing to cancel" in r.json()["error"]
        cross = c.post(f"/runs/{run_id}/cancel", data={"csrf_token": csrf}, headers={"Origin": "http://evil.example"})
        assert cross.status_code == 403
    # this session's token sent with another session's cookie: refused
    with TestClient(create_app()) as other:
        stolen = {"X-CSRF-Token": csrf, "Cookie": f"hw_ui_csrf={'y' * 32}"}
        assert other.post(f"/api/runs/{run_id}/cancel", headers=stolen).status_code == 403


def test_unknown_host_header_is_refused_on_loopback():
    with TestClient(create_app(allowed_hosts={"127.0.0.1", "localhost"}), base_url="http://127.0.0.1:4200") as c:
        assert c.get("/runs").status_code == 200
        r = c.get("/runs", headers={"Host": "attacker.example:4200"})
        assert r.status_code == 400 and "unexpected Host header" in r.text


def test_every_page_has_a_strict_csp_and_no_inline_script(client):
    uiflows.etl()
    flush()
    run_id = uiflows.etl.last_flow_run.id
    uiflows.Warehouse(url="db://x", password="p4ssword-long").save("wh")
    for path in (
        "/",
        "/runs",
        f"/runs/{run_id}",
        "/blocks",
        "/blocks/new",
        "/blocks/new?type=ui-warehouse",
        "/blocks/ui-warehouse/wh",
        "/blocks/ui-warehouse/wh/edit",
        "/api/runs",
        "/runs/nope",
    ):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
        if r.headers["content-type"].startswith("text/html"):
            for tag in re.findall(r"<script[^>]*>.*?</script>", r.text, flags=re.S):
                assert re.fullmatch(r'<script src="/static/[\w.]+\.js" defer></script>', tag), tag
            assert not re.search(r"\son[a-z]+\s*=", r.text), path
            assert " style=" not in r.text and "<style" not in r.text
            assert "http://" not in r.text.replace('xmlns="http://www.w3.org/2000/svg"', ""), path


def test_the_runs_list_escapes_run_names_and_tags(client):
    # the runs table is built in Python (runrows.py), not by Jinja's autoescape: a name or tag
    # that is HTML must come out as text
    from headwater import tags

    evil = '<img src=x id="pwn">&amp;'
    with tags('<b id="bold">t</b>'):
        uiflows.etl.with_options(flow_run_name=evil)()
    flush()
    html = client.get("/runs").text
    assert '<img src=x id="pwn">' not in html and '<b id="bold">' not in html
    assert "&lt;img src=x id=&quot;pwn&quot;&gt;&amp;amp;" in html
    assert '<span class="tag">&lt;b id=&quot;bold&quot;&gt;t&lt;/b&gt;</span>' in html
