from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CORE_TESTS = Path(__file__).parent
HEADWATER_BIN = Path(sys.executable).with_name("headwater")
sys.path.insert(0, str(CORE_TESTS))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CORE_TESTS), os.environ.get("PYTHONPATH")]))


@pytest.fixture(autouse=True)
def _isolated_home(headwater_home):
    return headwater_home


def run_python(code: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with the current HEADWATER_* environment."""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"subprocess failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def run_cli(*args: str, input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real ``headwater`` command."""
    return subprocess.run(
        [str(HEADWATER_BIN), *args], capture_output=True, text=True, input=input,
        env={**os.environ, **(env or {})}, timeout=120,
    )
