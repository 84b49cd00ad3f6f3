"""Fixtures for the UI tests: an isolated store, a real server, a headless Chromium."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# ui_support and uiflows import by name; appended, so that core's tests still find their own conftest first
sys.path.append(str(Path(__file__).parent))

from ui_support import Server  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_home(headwater_home: Any) -> Any:
    return headwater_home


@pytest.fixture
def client() -> Any:
    from headwater_ui import create_app
    from starlette.testclient import TestClient

    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Not for the session: Playwright's sync API keeps an asyncio
    loop marked as running on the main thread while it is open, and the tests after it would then
    see Headwater's async dispatch (a sync-named block call returning a coroutine, as in Prefect)."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("Chromium is not installed: apt-get install chromium (scripts/ensure-test-services.sh does it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(chromium),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
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
