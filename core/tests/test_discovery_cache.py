"""A flow process learns which plugins implement the lifecycle hooks from the record of the last discovery.

Real processes and a real pip install of ``plugin_pkgs/lifecycleplugin``, whose hooks append each
state change to ``$HEADWATER_HOME/lifecycle.log``. Each test has its own folder on PYTHONPATH
(the "site" a plugin is installed into) and runs its flow from its own project folder, so its
records are its own.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from headwater._discovery_cache import SETTLE_NS
from test_plugins import PKGS, _env

FLOW = """
import json, sys
from headwater import flow, task

@task
def step():
    return 1

@flow
def etl():
    return step()

etl()
seen = sorted(m for m in sys.modules if m in ("importlib.metadata", "pluggy") or m.startswith("headwater_")
              or m == "headwater._core_plugin")
from headwater import _discovery_cache
from headwater.settings import get_settings
print(json.dumps({"imported": seen, "record": _discovery_cache.cache_path(get_settings().load_plugins)}))
"""
HOOKED = ["flow etl Pending", "flow etl Running", "task step Running", "task step Completed", "flow etl Completed"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The lifecycle plugin built once; each test pip-installs it into its own site folder."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out),
                    str(PKGS / "lifecycleplugin")], check=True, capture_output=True, timeout=300)
    return next(out.glob("*.whl"))


@pytest.fixture
def project(tmp_path) -> tuple[Path, Path]:
    """``(flow file, site folder)``: both exist before the first flow, as an installed environment does."""
    (tmp_path / "proj").mkdir()
    (tmp_path / "site").mkdir()
    (tmp_path / "proj" / "flow.py").write_text(FLOW)
    return tmp_path / "proj" / "flow.py", tmp_path / "site"


def _install(wheel: Path, site: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    time.sleep(2 * SETTLE_NS / 1e9)  # a record trusts a folder's time once it is this old (see _discovery_cache)


def _uninstall(site: Path) -> None:
    """What ``pip uninstall`` removes (pip refuses to uninstall from a ``--target`` folder)."""
    for path in site.glob("headwater_lifecycleplugin*"):
        shutil.rmtree(path)


def _run(flow_file: Path, site: Path, home: Path, **env: str) -> dict:
    proc = subprocess.run([sys.executable, str(flow_file)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **_env(str(site), **env)})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "headwater: plugin" not in proc.stderr, proc.stderr
    log = home / "lifecycle.log"
    hooked = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return {**json.loads(proc.stdout.splitlines()[-1]), "hooked": hooked}


def test_a_plain_flow_process_imports_neither_importlib_metadata_nor_pluggy(project, headwater_home):
    flow_file, site = project
    first = _run(flow_file, site, headwater_home)  # no record yet: the real discovery, which writes one
    assert "importlib.metadata" in first["imported"] and "pluggy" in first["imported"]
    again = _run(flow_file, site, headwater_home)
    assert again["imported"] == [] and again["hooked"] == []
    assert stat.S_IMODE(os.stat(again["record"]).st_mode) == 0o600
    (flow_file.parent / "out.csv").write_text("a,b\n")  # the script's folder changes, its distributions do not
    assert _run(flow_file, site, headwater_home)["imported"] == []


def test_installing_and_uninstalling_a_lifecycle_plugin_is_seen_by_the_next_flow_process(
        project, wheel, headwater_home):
    flow_file, site = project
    _run(flow_file, site, headwater_home)
    assert _run(flow_file, site, headwater_home)["imported"] == []  # the record is in use
    _install(wheel, site)
    assert _run(flow_file, site, headwater_home)["hooked"] == HOOKED
    again = _run(flow_file, site, headwater_home)
    assert again["hooked"] == HOOKED
    # from the record: only the plugin with lifecycle hooks is imported, and no distribution is scanned
    assert again["imported"] == ["headwater_lifecycleplugin", "pluggy"]
    _uninstall(site)
    gone = _run(flow_file, site, headwater_home)
    assert gone["hooked"] == [] and "headwater_lifecycleplugin" not in gone["imported"]
    assert _run(flow_file, site, headwater_home)["imported"] == []


def test_hooks_added_to_or_removed_from_an_installed_plugin_module_are_seen(project, wheel, headwater_home):
    flow_file, site = project
    _install(wheel, site)
    assert _run(flow_file, site, headwater_home)["hooked"] == HOOKED
    module = site / "headwater_lifecycleplugin" / "__init__.py"
    hooked_source = module.read_text()
    module.write_text("# the hooks are gone (an editable plugin being worked on)\n")
    assert _run(flow_file, site, headwater_home)["hooked"] == []
    assert _run(flow_file, site, headwater_home)["imported"] == []
    module.write_text(hooked_source)
    assert _run(flow_file, site, headwater_home)["hooked"] == HOOKED


def test_headwater_load_plugins_is_honoured_by_each_process(project, wheel, headwater_home):
    flow_file, site = project
    _install(wheel, site)
    for _ in range(2):  # the second of each reads the record the first wrote
        assert _run(flow_file, site, headwater_home)["hooked"] == HOOKED
        assert _run(flow_file, site, headwater_home, HEADWATER_LOAD_PLUGINS="core")["hooked"] == []
        assert _run(flow_file, site, headwater_home, HEADWATER_LOAD_PLUGINS="lifecycle")["hooked"] == HOOKED


@pytest.mark.parametrize("damage", ["truncated", "not json", "a field missing", "empty"])
def test_a_damaged_record_is_ignored_and_rewritten(project, wheel, headwater_home, damage):
    flow_file, site = project
    _install(wheel, site)
    record = Path(_run(flow_file, site, headwater_home)["record"])
    good = record.read_bytes()
    if damage == "truncated":
        record.write_bytes(good[: len(good) // 2])
    elif damage == "not json":
        record.write_bytes(b"\x00\xffnot a record")
    elif damage == "a field missing":
        data = json.loads(good)
        for plugin in data["plugins"]:
            del plugin["hooks"]
        record.write_text(json.dumps(data))
    else:
        record.write_bytes(b"")
    assert _run(flow_file, site, headwater_home)["hooked"] == HOOKED
    assert json.loads(record.read_bytes()) == json.loads(good)
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert _run(flow_file, site, headwater_home)["imported"] == ["headwater_lifecycleplugin", "pluggy"]


def test_concurrent_flow_processes_leave_one_whole_record(project, wheel, headwater_home):
    flow_file, site = project
    _install(wheel, site)
    env = {**os.environ, **_env(str(site))}
    procs = [subprocess.Popen([sys.executable, str(flow_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
    assert (headwater_home / "lifecycle.log").read_text().splitlines().count("flow etl Completed") == 4
    record = Path(json.loads(outs[0][0].splitlines()[-1])["record"])
    assert [p.name for p in record.parent.iterdir() if p.name.endswith(".tmp")] == []
    assert _run(flow_file, site, headwater_home)["imported"] == ["headwater_lifecycleplugin", "pluggy"]


def test_an_environment_keeps_its_newest_records(tmp_path, monkeypatch):
    from headwater import _discovery_cache

    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    folder = Path(_discovery_cache.cache_dir())
    folder.mkdir(parents=True)
    leftover = folder / ".123-456.tmp"  # a writer killed between writing and renaming, long ago
    leftover.write_text("{")
    os.utime(leftover, (time.time() - 7200, time.time() - 7200))
    for n in range(20):
        _discovery_cache.write(_discovery_cache.Snapshot((f"plugin{n}",)), [], set())
        time.sleep(0.01)  # distinct modification times
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == sorted(Path(_discovery_cache.cache_path((f"plugin{n}",))).name for n in range(4, 20))
    assert _discovery_cache.read(("plugin19",)) == []
