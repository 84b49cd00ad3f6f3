"""`headwater ui` arrives through the register_commands hook, without web imports elsewhere."""

from __future__ import annotations

import subprocess
import sys

from ui_support import HEADWATER_BIN, subprocess_env


def test_headwater_lists_ui_and_its_help_shows_the_options():
    out = subprocess.run(
        [str(HEADWATER_BIN), "--help"], capture_output=True, text=True, env=subprocess_env(), timeout=60
    )
    assert out.returncode == 0 and "Serve the web UI" in out.stdout
    help_ = subprocess.run(
        [str(HEADWATER_BIN), "ui", "--help"], capture_output=True, text=True, env=subprocess_env(), timeout=60
    )
    assert "--host" in help_.stdout and "--port" in help_.stdout and "HEADWATER_UI_TOKEN" in help_.stdout
    plugins = subprocess.run(
        [str(HEADWATER_BIN), "plugin", "ls", "-o", "json"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=60,
    )
    assert '"headwater-ui"' in plugins.stdout


def test_listing_commands_does_not_import_the_web_stack():
    code = (
        "import sys; from headwater.cli import cli; import click; "
        "cli.list_commands(click.Context(cli)); cli.get_command(click.Context(cli), 'ui'); "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'jinja2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(), timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_the_server_stops_promptly_with_a_log_stream_open(tmp_path):
    import signal
    import time

    import httpx
    from ui_support import TESTS, Server

    gate = tmp_path / "gate"
    flow = subprocess.Popen(
        [sys.executable, str(TESTS / "uiflows.py"), "gated", str(gate)],
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Server()
    try:
        deadline = time.monotonic() + 30
        runs: list = []
        while not runs and time.monotonic() < deadline:
            runs = httpx.get(f"{server.url}/api/runs?state=RUNNING").json()["runs"]
            time.sleep(0.1)
        assert runs, "the gated flow run did not start"
        with httpx.stream("GET", f"{server.url}/api/runs/{runs[0]['id']}/logs/stream", timeout=30) as stream:
            next(stream.iter_lines())  # the stream is open
            started = time.monotonic()
            server.proc.send_signal(signal.SIGINT)  # Ctrl+C
            server.proc.wait(timeout=15)
            assert time.monotonic() - started < 10
    finally:
        server.stop()
        gate.touch()
        flow.wait(timeout=60)
