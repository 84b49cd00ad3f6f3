"""The keyring backend against a real OS keyring: gnome-keyring's Secret Service on a private D-Bus session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r"""
set -e
echo -n unlock-pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
"$PY" -c "
from blockdefs import WarehouseCredentials
WarehouseCredentials(username='a', password='held-by-the-os-keyring').save('k')
print(WarehouseCredentials.load('k').password.get_secret_value())
from headwater.blocks.secrets import resolve_backend_name
print(resolve_backend_name()[0])
"
"""


@pytest.mark.skipif(
    not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")),
    reason="needs gnome-keyring and dbus (apt-get install gnome-keyring dbus; make test installs them as root)",
)
def test_auto_uses_a_real_secret_service_and_keeps_secrets_out_of_the_store(headwater_home, monkeypatch):
    for var in ("HEADWATER_SECRET_KEY", "PYTHON_KEYRING_BACKEND", "DBUS_SESSION_BUS_ADDRESS"):
        monkeypatch.delenv(var, raising=False)
    env = {**os.environ, "HEADWATER_SECRETS_BACKEND": "auto", "PY": sys.executable,
           "XDG_DATA_HOME": str(headwater_home / "xdg-data"), "XDG_RUNTIME_DIR": str(headwater_home / "xdg-run")}
    Path(env["XDG_RUNTIME_DIR"]).mkdir(mode=0o700)
    proc = subprocess.run(["dbus-run-session", "--", "bash", "-c", SCRIPT], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["held-by-the-os-keyring", "keyring"]
    assert b"held-by-the-os-keyring" not in (headwater_home / "headwater.db").read_bytes()
    assert not (headwater_home / "secret.key").exists()
