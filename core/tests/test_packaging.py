"""Packaging: what installing the distributions does to a user's environment and to pip."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

FIXTURE_TEST = """
def test_uses_home(headwater_home):
    assert headwater_home.is_dir()
"""


def _pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess:
    (folder / "pytest.ini").write_text("[pytest]\n")  # its own rootdir: not this repository's conftest
    (folder / "test_user.py").write_text(FIXTURE_TEST)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "test_user.py"],
        cwd=folder, capture_output=True, text=True, timeout=120,
    )


def test_installing_headwater_does_not_load_its_fixtures_into_every_pytest_session(tmp_path):
    assert not [ep for ep in distribution("headwater").entry_points if ep.group == "pytest11"]
    plain = _pytest_in(tmp_path)
    assert plain.returncode != 0
    assert "fixture 'headwater_home' not found" in plain.stdout


def test_the_fixtures_are_one_option_away(tmp_path):
    opted_in = _pytest_in(tmp_path, "-p", "headwater.testing.pytest_plugin")
    assert opted_in.returncode == 0, opted_in.stdout + opted_in.stderr
    assert "1 passed" in opted_in.stdout
