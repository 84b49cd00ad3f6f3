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


ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTIONS = [
    "core", *sorted(f"plugins/{p.name}" for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())
]


def test_every_distribution_builds_without_warnings_and_with_pypi_metadata(tmp_path):
    import shutil
    import zipfile

    sources = []
    for d in DISTRIBUTIONS:  # copies: a build writes build/ and egg-info folders beside the sources
        sources.append(tmp_path / "src" / d)
        shutil.copytree(
            ROOT / d, sources[-1], ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__")
        )
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path),
         *map(str, sources)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "deprecat" not in (proc.stdout + proc.stderr).lower()
    wheels = sorted(tmp_path.glob("*.whl"))
    assert len(wheels) == len(DISTRIBUTIONS)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            names = zf.namelist()
            metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        headers, _, description = metadata.partition("\n\n")
        assert "License-Expression: Apache-2.0" in headers, wheel.name
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), wheel.name
        assert (
            "Description-Content-Type: text/markdown" in headers and description.startswith("# headwater")
        ), wheel.name
        assert "Project-URL: Documentation, https://" in headers and "Classifier: Typing :: Typed" in headers
        assert "../" not in description, f"{wheel.name}: relative links do not work on PyPI"
        packages = {n.split("/")[0] for n in names if n.endswith("/__init__.py") and n.count("/") == 1}
        assert packages and all(f"{p}/py.typed" in names for p in packages), wheel.name
        if not wheel.name.startswith("headwater-0"):
            assert "Requires-Dist: headwater<0.2,>=0.1" in headers, wheel.name
