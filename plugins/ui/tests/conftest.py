"""Fixtures for the UI tests: an isolated store, runs recorded by real flows, a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).parent
OUTPUT = TESTS.parents[2] / "test-output" / "ui"
HEADWATER_BIN = Path(sys.executable).with_name("headwater")
sys.path.insert(0, str(TESTS))


@pytest.fixture(autouse=True)
def _isolated_home(headwater_home: Any) -> Any:
    return headwater_home


def flush() -> None:
    from headwater.history.writer import flush as flush_history

    flush_history()


@pytest.fixture
def client() -> Any:
    from headwater_ui import create_app
    from starlette.testclient import TestClient

    with TestClient(create_app()) as c:
        yield c


def subprocess_env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


class Server:
    """``headwater ui`` running in its own process (it knows no secret the test process knows)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [str(HEADWATER_BIN), "ui", "--port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env={**subprocess_env(), **(env or {})},
        )
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        found = re.search(r"http://(\S+?)/", line)
        if not found:
            self.stop()
            raise AssertionError(f"the UI did not start: {line}{self.proc.stderr.read()}")
        self.url = f"http://{found.group(1)}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("Chromium is not installed: apt-get install chromium (scripts/ensure-test-services.sh does it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run",
        ])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.errors = errors
    yield pg
    context.close()


def screenshot(page: Any, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_until(predicate: Any, timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
