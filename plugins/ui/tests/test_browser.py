"""The UI in headless Chromium (Debian's, driven by Playwright): what a user clicks and sees.

Each page is screenshotted to test-output/ui/ (docs/ui.md uses these pictures).
"""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
from playwright.sync_api import expect
from ui_support import TESTS, screenshot, subprocess_env, wait_until


def _python(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(), timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


RUNS = """
import uiflows
for n in (3, 5, 8):
    uiflows.etl(n=n)
try:
    uiflows.Warehouse(url="db://x", password="p4ssword-long").save("wh")
    uiflows.leaky("wh", password="p4ssword-long", api_token="tok-123456")
except ValueError:
    pass
"""


def _start_gated(tmp_path, *more: str):
    gate = tmp_path / "gate"
    proc = subprocess.Popen(
        [sys.executable, str(TESTS / "uiflows.py"), "gated", str(gate), *more],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, gate


def _running_run(base: str) -> dict:
    def find():
        runs = httpx.get(f"{base}/api/runs?flow=gated&state=RUNNING").json()["runs"]
        return runs[0] if runs else None

    return wait_until(find, what="the gated flow run to be recorded as running")


def test_runs_list_then_run_detail(server, page):
    _python(RUNS)
    page.goto(server.url + "/")
    assert page.locator(".card .big").first.inner_text().startswith("4 ")
    screenshot(page, "dashboard")
    page.goto(server.url + "/runs")
    rows = page.locator("#runs-table tbody tr")
    assert rows.count() == 4
    assert page.locator("#runs-table .badge.st-FAILED").count() == 1
    colour = page.locator("#runs-table .badge.st-FAILED").evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(224, 49, 49)"  # the CLI's colour for Failed (#e03131)
    screenshot(page, "runs")
    page.locator("#run-filters input[value=FAILED]").check()
    page.locator("#run-filters button[type=submit]").click()
    page.wait_for_url("**/runs?state=FAILED*")
    assert page.locator("#runs-table tbody tr").count() == 1
    page.locator("#runs-table tbody tr a").first.click()
    page.wait_for_selector("svg.timeline")
    assert page.locator("#run-state .badge").inner_text() == "Failed"
    assert "ValueError: could not log in as **********" in page.locator("pre.traceback").first.inner_text()
    screenshot(page, "run-failed")
    page.goto(server.url + "/runs?flow=etl")
    page.locator("#runs-table tbody tr a").first.click()
    page.wait_for_selector("svg.lineage")
    assert page.locator("svg.lineage path").count() == 2
    assert page.locator("svg.timeline rect").count() == 3
    assert "loaded 28 as daily" in page.locator("#logs").inner_text()
    screenshot(page, "run-detail")
    assert page.errors == []  # no script error and no CSP violation


def test_logs_stream_into_the_open_page_while_the_flow_runs(server, page, tmp_path):
    gate2 = tmp_path / "gate2"
    proc, gate = _start_gated(tmp_path, str(gate2))
    try:
        run = _running_run(server.url)
        page.goto(f"{server.url}/runs/{run['id']}")
        expect(page.locator("#logs")).to_contain_text("before the gate")
        expect(page.locator("#log-status")).to_have_text("live")
        assert page.locator("table.tasks tr.empty").count() == 1  # no task run yet
        page.evaluate("window.__notReloaded = true")
        screenshot(page, "run-live")
        gate.touch()
        t0 = time.monotonic()
        expect(page.locator("#logs")).to_contain_text("after the gate", timeout=10000)
        latency = time.monotonic() - t0
        # the task run that started meanwhile shows up in the table and the timeline, without a reload
        expect(page.locator("table.tasks tbody tr .badge")).to_have_count(1, timeout=10000)
        expect(page.locator("svg.timeline rect")).to_have_count(1)
        assert page.evaluate("() => window.__notReloaded") is True
        gate2.touch()
        expect(page.locator("#run-state .badge")).to_have_text("Completed", timeout=10000)
        print(f"log line to browser: {latency * 1000:.0f} ms")
    finally:
        gate.touch()
        gate2.touch()
        proc.wait(timeout=60)
    assert proc.returncode == 0
    assert page.errors == []


def test_cancel_button_of_a_running_run(server, page, tmp_path):
    proc, gate = _start_gated(tmp_path)
    try:
        run = _running_run(server.url)
        page.goto(f"{server.url}/runs/{run['id']}")
        page.locator("#cancel-form button").click()
        page.wait_for_selector("#error-message")
        message = page.locator("#error-message").inner_text()
        assert "is running in process" in message and (
            "needs Headwater's orchestration" in message or "outside any worker" in message
        )
        screenshot(page, "cancel-running")
    finally:
        gate.touch()
        proc.wait(timeout=60)


def test_create_a_block_through_the_form_and_load_it_from_python(server, page):
    page.goto(server.url + "/blocks")
    page.locator("#new-block").click()
    page.locator("a[href='/blocks/new?type=secret']").click()
    page.fill("#block-name", "api-key")
    page.fill("input[name=value]", "typed-in-the-browser-42")
    screenshot(page, "block-form")
    page.locator("#save-block").click()
    page.wait_for_url("**/blocks/secret/api-key")
    assert "typed-in-the-browser-42" not in page.content()
    screenshot(page, "block")
    assert (
        _python("from headwater import Secret; print(Secret.load('api-key').get())").strip()
        == "typed-in-the-browser-42"
    )
    # editing with the secret left blank keeps it
    page.locator("#edit-block").click()
    assert page.locator("input[name=value]").input_value() == ""
    page.locator("input[name=is_json]").check()  # the value is not JSON: the form says so, and keeps nothing typed
    page.locator("#save-block").click()
    expect(page.locator("#form-error")).to_contain_text("invalid secret")
    screenshot(page, "block-edit-error")
    page.errors.clear()  # the browser logs the 400 of that answer
    page.locator("input[name=is_json]").uncheck()
    page.locator("#save-block").click()
    page.wait_for_url("**/blocks/secret/api-key")
    out = _python(
        "from headwater import Secret; s = Secret.load('api-key'); print(s.value.get_secret_value(), s.is_json)"
    )
    assert out.split() == ["typed-in-the-browser-42", "False"]
    _python('import uiflows; uiflows.Warehouse(url="postgresql://db:5432/sales", password="p" * 12).save("sales")')
    page.goto(server.url + "/blocks/ui-warehouse/sales/edit")
    screenshot(page, "block-edit")
    page.goto(server.url + "/blocks")
    assert page.locator("a[href='/blocks/secret/api-key']").count() == 1
    assert page.locator("a[href='/blocks/ui-warehouse/sales']").count() == 1
    screenshot(page, "blocks")
    assert page.errors == []


DEPLOY = """
import sys
from pathlib import Path
from headwater.orchestration.pools import create_work_pool
from headwater.orchestration.serving import flow_from_source
proj = Path(sys.argv[1])
proj.mkdir()
(proj / "flows.py").write_text(
    "from headwater import flow\\n@flow\\ndef nightly(day: str = 'mon', limit: int = 10):\\n    return day\\n"
)
create_work_pool("local", "process")
flow_from_source(str(proj), "flows.py:nightly").deploy("daily", work_pool_name="local", print_next_steps=False,
                                                       parameters={"day": "tue"}, cron="0 3 * * *")
"""


def test_deployments_pause_and_run_from_the_page(server, page, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", DEPLOY, str(tmp_path / "proj")],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    page.goto(server.url + "/deployments")
    expect(page.locator("section.deployment h2")).to_contain_text("nightly/daily")
    screenshot(page, "deployments")
    page.locator("section.deployment button.secondary").click()
    expect(page.locator("section.deployment h2 .badge")).to_have_text("Paused")
    page.locator("section.deployment button.secondary").click()
    expect(page.locator("section.deployment h2 .badge")).to_have_count(0)
    page.fill("input[name='param.day']", "sat")
    page.locator("section.deployment form.run-form button").click()
    expect(page.locator("#queued")).to_contain_text("queued")
    queued = page.locator("section.deployment td").nth(2).inner_text()
    assert queued != "-"
    assert page.errors == []
