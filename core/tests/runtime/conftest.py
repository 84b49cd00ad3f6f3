from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.append(str(HERE))  # after core/tests, whose conftest module the core tests import by name


@pytest.fixture(autouse=True)
def _runtime_home(headwater_home):
    return headwater_home
