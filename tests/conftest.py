"""Cross-package tests: the example pipelines, end to end, on real components."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT / "examples" / "etl", ROOT / "examples" / "tutorials"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


@pytest.fixture(autouse=True)
def _isolated_home(headwater_home):
    """Every test gets its own HEADWATER_HOME (store, secrets, cached results)."""
    return headwater_home
