from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _runtime_home(headwater_home):
    return headwater_home
