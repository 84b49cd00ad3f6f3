"""`headwater ui` arrives through the register_commands hook, without web imports elsewhere."""

from __future__ import annotations

import subprocess
import sys

from conftest import HEADWATER_BIN, subprocess_env


def test_headwater_lists_ui_and_its_help_shows_the_options():
    out = subprocess.run([str(HEADWATER_BIN), "--help"], capture_output=True, text=True, env=subprocess_env(), timeout=60)
    assert out.returncode == 0 and "Serve the web UI" in out.stdout
    help_ = subprocess.run([str(HEADWATER_BIN), "ui", "--help"], capture_output=True, text=True, env=subprocess_env(), timeout=60)
    assert "--host" in help_.stdout and "--port" in help_.stdout and "HEADWATER_UI_TOKEN" in help_.stdout
    plugins = subprocess.run([str(HEADWATER_BIN), "plugin", "ls", "-o", "json"], capture_output=True, text=True,
                             env=subprocess_env(), timeout=60)
    assert '"headwater-ui"' in plugins.stdout


def test_listing_commands_does_not_import_the_web_stack():
    code = ("import sys; from headwater.cli import cli; import click; "
            "cli.list_commands(click.Context(cli)); cli.get_command(click.Context(cli), 'ui'); "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'jinja2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(), timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
