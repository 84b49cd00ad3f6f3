"""Helpers shared by the UI tests. A module of its own: every test folder of the repository has
a conftest.py, so ``from conftest import ...`` would find whichever was imported first."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TESTS = Path(__file__).parent
OUTPUT = TESTS.parents[2] / "test-output" / "ui"
HEADWATER_BIN = Path(sys.executable).with_name("headwater")


def flush() -> None:
    """Write the run history this process has queued (its flows ran in this process)."""
    from headwater.history.writer import flush as flush_history

    flush_history()


def subprocess_env() -> dict[str, str]:
    """The environment for a child process: this one's, with the tests folder importable."""
    path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


class Server:
    """``headwater ui`` running in its own process (it knows no secret the test process knows)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [str(HEADWATER_BIN), "ui", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**subprocess_env(), **(env or {})},
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


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot to test-output/ui/NAME.png (docs/ui.md uses them)."""
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
