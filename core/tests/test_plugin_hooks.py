"""Every hook is documented and exercised by a test; calling hooks keeps each plugin's failure its own."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from conftest import run_cli, run_python
from test_plugins import PKGS, _env, _pip_target

CORE_TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def testplugin(tmp_path_factory) -> str:
    return _pip_target(PKGS / "testplugin", tmp_path_factory.mktemp("plugins") / "testplugin")


def _hook_names() -> list[str]:
    from headwater import hookspecs

    return sorted(n for n, f in vars(hookspecs).items() if callable(f) and hasattr(f, "headwater_spec"))


def _hookimpls_in_tests() -> set[str]:
    """Names of the functions marked ``@hookimpl`` anywhere in core's tests and their test plugins."""
    found = set()
    for path in CORE_TESTS.rglob("*.py"):
        if "build" in path.relative_to(CORE_TESTS).parts:  # pip's build copies of the test plugins
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and any(
                getattr(d, "id", getattr(d, "attr", None)) == "hookimpl" for d in node.decorator_list
            ):
                found.add(node.name)
    return found


def test_every_hook_is_implemented_by_a_test_plugin():
    hooks = _hook_names()
    assert len(hooks) >= 6
    untested = [h for h in hooks if h not in _hookimpls_in_tests()]
    assert untested == [], f"hooks no test implements (add one to core/tests/plugin_pkgs or a test): {untested}"


def test_a_plugin_task_runner_is_used_by_name_and_listed(testplugin):
    env = _env(testplugin)
    out = run_python(
        "import threading\nfrom headwater import flow, task\n"
        "@task\ndef where(): return threading.current_thread().name\n"
        "@flow(task_runner='one-thread')\ndef f(): return sorted({where.submit().result() for _ in range(4)})\n"
        "print(len(f()))\n",
        env=env,
    )
    assert out.stdout.strip() == "1"
    rows = {r["name"]: r for r in json.loads(run_cli("plugin", "ls", "-o", "json", env=env).stdout)}
    assert rows["testplugin"]["task_runners"] == ["one-thread"]
    assert rows["core"]["task_runners"] == ["thread-pool", "process-pool"]


def test_a_failing_lifecycle_hook_is_reported_with_its_plugin_and_does_not_stop_the_others(capfd):
    from headwater import flow, hookimpl
    from headwater.plugins import get_plugin_manager
    from headwater.runtime import _record

    seen = []

    class Broken:
        @hookimpl
        def on_flow_run_state_change(self, flow_run, state):
            raise RuntimeError("hook blew up")

    class Recorder:
        @hookimpl
        def on_flow_run_state_change(self, flow_run, state):
            seen.append(state.name)

    @flow
    def etl():
        return 1

    pm = get_plugin_manager()
    _record.reset_lifecycle_hooks()
    _record._hooks()
    pm.register(Recorder(), name="recorder")
    pm.register(Broken(), name="broken")  # registered last: pluggy calls it first
    _record.reset_lifecycle_hooks()
    try:
        assert etl() == 1
    finally:
        pm.unregister(name="broken")
        pm.unregister(name="recorder")
        _record.reset_lifecycle_hooks()
    assert seen == ["Pending", "Running", "Completed"]
    err = capfd.readouterr().err
    assert "headwater: plugin 'broken': its on_flow_run_state_change hook raised RuntimeError: hook blew up" in err


def test_a_plugin_worker_type_runs_a_pools_runs(testplugin, tmp_path):
    env = _env(testplugin)
    (tmp_path / "marked.py").write_text(
        "import os, pathlib\nfrom headwater import flow\n"
        "@flow\ndef marked():\n"
        "    pathlib.Path(os.environ['HW_OUT']).write_text(os.environ.get('HW_MARKED_BY', 'none'))\n"
    )
    assert run_cli("work-pool", "create", "plugged", "--type", "marking-process", env=env).returncode == 0
    out = tmp_path / "out.txt"
    run_python(
        "from headwater import Flow\n"
        "from headwater.orchestration.deployments import get_deployment\n"
        "from headwater.orchestration.queue import create_run\n"
        f"Flow.from_source({str(tmp_path)!r}, 'marked.py:marked').deploy('d', work_pool_name='plugged',"
        " print_next_steps=False)\n"
        "create_run(get_deployment('marked/d'))\n",
        env=env,
    )
    done = run_cli("worker", "start", "--pool", "plugged", "--run-once", env={**env, "HW_OUT": str(out)})
    assert done.returncode == 0, done.stderr
    assert out.read_text() == "testplugin"
    rows = {r["name"]: r for r in json.loads(run_cli("plugin", "ls", "-o", "json", env=env).stdout)}
    assert rows["testplugin"]["worker_types"] == ["marking-process"]
    assert rows["core"]["worker_types"] == ["process"]
