"""The plugin contract, proven with small plugin distributions really installed by pip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli, run_python

PKGS = Path(__file__).parent / "plugin_pkgs"


def _pip_target(src: Path, target: Path) -> str:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target),
         str(src)],
        check=True, capture_output=True, timeout=300,
    )
    return str(target)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("plugins")
    return {
        name: _pip_target(PKGS / name, base / name) for name in ("testplugin", "brokenplugin", "dupplugin",
                                                                 "hookraise", "exitplugin", "cmdraise")
    }


def _env(*paths: str, **extra: str) -> dict:
    import os

    return {"PYTHONPATH": os.pathsep.join([*paths, str(Path(__file__).parent)]), **extra}


def test_plugin_ls_shows_name_distribution_version_and_block_types(installed):
    proc = run_cli("plugin", "ls", "-o", "json", env=_env(installed["testplugin"]))
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["testplugin"]["distribution"] == "headwater-testplugin"
    assert rows["testplugin"]["version"] == "1.2.3"
    assert rows["testplugin"]["block_types"] == ["widget"]
    assert rows["testplugin"]["secret_backends"] == ["filevault"]
    assert rows["core"]["block_types"] == ["secret", "local-file-system"]


def test_plugins_load_lazily_never_at_import(installed):
    out = run_python(
        "import sys, headwater\nfrom headwater import Secret\nprint('headwater_testplugin' in sys.modules)\n",
        env=_env(installed["testplugin"]),
    )
    assert out.stdout.strip() == "False"


def test_broken_plugin_is_recorded_not_printed(installed):
    env = _env(installed["brokenplugin"])
    quiet = run_python("from headwater.plugins import load_plugins\nload_plugins()\n", env=env)
    assert quiet.stdout == "" and quiet.stderr == ""
    proc = run_cli("plugin", "ls", "-o", "json", env=env)
    row = {r["name"]: r for r in json.loads(proc.stdout)}["testplugin"]
    assert row["status"] == "error"
    assert "libwidget.so.3" in row["error"]


def test_block_from_plugin_round_trips_and_missing_plugin_names_install_command(installed):
    run_python(
        "from headwater_testplugin import Widget\nWidget(size=3, api_key='wk-123456789').save('w')\n",
        env=_env(installed["testplugin"]),
    )
    proc = run_python("from headwater import Block\nBlock.load('widget/w')\n", env=_env(), check=False)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.endswith(
        "block type 'widget' is provided by headwater-testplugin, which is not installed: pip install "
        "headwater-testplugin"
    )
    # through the CLI: one line, no traceback
    cli = run_cli("block", "check", "widget/w", env=_env())
    assert cli.returncode == 1
    assert cli.stderr.strip().count("\n") == 0 and "pip install headwater-testplugin" in cli.stderr


def test_installed_but_broken_plugin_is_told_apart_from_missing(installed):
    run_python(
        "from headwater_testplugin import Widget\nWidget(size=3, api_key='wk-123456789').save('w')\n",
        env=_env(installed["testplugin"]),
    )
    proc = run_python("from headwater import Block\nBlock.load('widget/w')\n", env=_env(installed["brokenplugin"]),
                      check=False)
    assert "installed but failed to load" in proc.stderr and "libwidget.so.3" in proc.stderr


def test_allow_list_excludes_plugins(installed):
    env = _env(installed["testplugin"], HEADWATER_LOAD_PLUGINS="core")
    rows = {r["name"]: r for r in json.loads(run_cli("plugin", "ls", "-o", "json", env=env).stdout)}
    assert rows["testplugin"]["status"] == "not allowed"
    types = [r["slug"] for r in json.loads(run_cli("block", "type", "ls", "-o", "json", env=env).stdout)]
    assert "widget" not in types


def test_two_plugins_registering_one_slug_is_an_error_naming_both(installed):
    proc = run_cli("block", "type", "ls", env=_env(installed["testplugin"], installed["dupplugin"]))
    assert proc.returncode == 1
    assert "testplugin" in proc.stderr and "dupplugin" in proc.stderr and "'widget'" in proc.stderr


def test_duplicate_slug_still_lets_plugin_ls_and_the_other_plugins_work(installed):
    env = _env(installed["testplugin"], installed["dupplugin"], HEADWATER_SECRETS_BACKEND="filevault")
    proc = run_cli("plugin", "ls", "-o", "json", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["testplugin"]["status"] == "loaded"
    assert rows["dupplugin"]["status"] == "error"
    assert "'widget'" in rows["dupplugin"]["error"] and "testplugin" in rows["dupplugin"]["error"]
    # testplugin's secret backend is still usable
    run_python("from headwater import Secret\nSecret(value='kept-in-vault').save('s')\n", env=env)


def test_plugin_whose_hook_raises_or_exits_at_import_breaks_only_itself(installed):
    env = _env(installed["testplugin"], installed["hookraise"], installed["exitplugin"])
    proc = run_cli("plugin", "ls", "-o", "json", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["hookraise"]["status"] == "error"
    assert rows["hookraise"]["error"] == "its register_block_types hook raised RuntimeError: hook blew up"
    assert rows["exitplugin"]["status"] == "error"
    assert rows["exitplugin"]["error"] == "SystemExit: plugin exits at import"
    assert rows["testplugin"]["status"] == "loaded"
    types = run_cli("block", "type", "ls", "-o", "json", env=env)
    assert types.returncode == 0, types.stderr
    assert "widget" in [r["slug"] for r in json.loads(types.stdout)]


def test_allow_list_naming_a_plugin_that_is_not_installed_is_reported(installed):
    env = _env(installed["testplugin"], HEADWATER_LOAD_PLUGINS="testplugin,nosuch")
    proc = run_cli("plugin", "ls", "-o", "json", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["testplugin"]["status"] == "loaded"
    assert rows["nosuch"]["status"] == "not installed"
    assert "HEADWATER_LOAD_PLUGINS names 'nosuch'" in rows["nosuch"]["error"]


def test_plugin_secret_backend_and_command(installed, headwater_home):
    env = _env(installed["testplugin"], HEADWATER_SECRETS_BACKEND="filevault")
    run_python(
        "from headwater_testplugin import Widget\nWidget(size=1, api_key='vault-kept-value').save('v')\n"
        "print(Widget.load('v').api_key.get_secret_value())\n",
        env=env,
    )
    assert (headwater_home / "vault.json").exists()
    assert b"vault-kept-value" not in (headwater_home / "headwater.db").read_bytes()
    proc = run_cli("widget", env=env)
    assert proc.stdout.strip() == "hello from testplugin"


def test_every_hook_is_documented_with_its_exact_signature():
    import inspect

    from headwater import hookspecs

    doc = (Path(__file__).parents[2] / "docs" / "plugin-hooks.md").read_text()
    hooks = [f for n, f in vars(hookspecs).items() if callable(f) and hasattr(f, "headwater_spec")]
    assert hooks
    for fn in hooks:
        params = ", ".join(inspect.signature(fn).parameters)
        assert f"## {fn.__name__}({params})" in doc, f"docs/plugin-hooks.md lacks '## {fn.__name__}({params})'"


def test_plugin_whose_commands_hook_raises_loses_only_its_commands(installed):
    env = _env(installed["testplugin"], installed["cmdraise"])
    rows = {r["name"]: r for r in json.loads(run_cli("plugin", "ls", "-o", "json", env=env).stdout)}
    assert rows["cmdraise"]["status"] == "error"
    assert rows["cmdraise"]["error"] == "its register_commands hook raised RuntimeError: commands blew up"
    assert rows["testplugin"]["status"] == "loaded"
    helped = run_cli("--help", env=env)
    assert helped.returncode == 0 and "half-made" not in helped.stdout
    gone = run_cli("half-made", env=env)
    assert gone.returncode == 2 and gone.stderr.strip().startswith("Error: No such command 'half-made'")
    widget = run_cli("widget", env=env)  # the other plugin's command still works
    assert widget.returncode == 0 and widget.stdout.strip() == "hello from testplugin"
