"""A planted secret must never appear in the store, logs, CLI output or exception text."""

from __future__ import annotations

import json
import logging
import os
import stat

import pytest
from blockdefs import Warehouse, WarehouseCredentials
from conftest import run_cli, run_python
from headwater.errors import SecretBackendError
from headwater.redaction import RedactingFilter, redact
from headwater.settings import reset_settings

PLANTED = "Pl4nted-S3cret-Value-7781"


def _save_planted() -> Warehouse:
    wh = Warehouse(host="db.local", credentials=WarehouseCredentials(username="ann", password=PLANTED),
                   extra={"api_key": PLANTED + "-dict"}, cert=(PLANTED + "-bytes").encode())
    wh.save("prod")
    return wh


def _all_store_bytes(home) -> bytes:
    return b"".join(p.read_bytes() for p in home.iterdir() if p.is_file() and p.name.startswith("headwater.db"))


def test_planted_secret_absent_from_sqlite_file_bytes(headwater_home):
    _save_planted()
    Warehouse.load("prod")
    blob = _all_store_bytes(headwater_home)
    assert blob, "the store file should exist"
    for value in (PLANTED, PLANTED + "-dict", PLANTED + "-bytes"):
        assert value.encode() not in blob


def test_planted_secret_redacted_from_logs_and_exceptions(caplog):
    _save_planted()
    wh = Warehouse.load("prod")
    logger = logging.getLogger("user.code")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="user.code"):
        logger.info("connecting with %s", wh.credentials.password.get_secret_value())
        try:
            raise RuntimeError(f"login failed for password {PLANTED}")
        except RuntimeError:
            logger.exception("boom")
    text = caplog.text
    assert PLANTED not in text
    assert "**********" in text
    assert PLANTED not in redact(f"error: {PLANTED}")


def test_planted_secret_absent_from_every_cli_output():
    _save_planted()
    outputs = []
    for args in (["block", "ls"], ["block", "ls", "-o", "json"], ["block", "inspect", "warehouse/prod"],
                 ["block", "inspect", "warehouse/prod", "-o", "json"], ["block", "type", "ls", "-o", "json"],
                 ["config"], ["block", "inspect", "warehouse/nope"]):
        proc = run_cli(*args)
        outputs.append(proc.stdout + proc.stderr)
    joined = "\n".join(outputs)
    assert "warehouse/prod" in joined
    assert PLANTED not in joined


def test_key_file_created_with_mode_0600(headwater_home, monkeypatch):
    monkeypatch.delenv("HEADWATER_SECRET_KEY")
    reset_settings()
    WarehouseCredentials(username="a", password="some-password").save("k")
    mode = stat.S_IMODE((headwater_home / "secret.key").stat().st_mode)
    assert mode == 0o600


KEY_RACE_WORKER = """
import sys, time
from pathlib import Path
from headwater.blocks.secrets import get_secret_backend
from headwater.blocks.system import Secret
start = Path(sys.argv[1])
while not start.exists():
    time.sleep(0.001)
for i in range(6):
    Secret(value=f"value-{sys.argv[2]}-{i}").save(f"s-{sys.argv[2]}-{i}")
print(get_secret_backend().key_id)
"""


def test_processes_starting_together_on_a_fresh_home_share_one_complete_key(headwater_home, monkeypatch, tmp_path):
    import subprocess
    import sys
    import time

    monkeypatch.delenv("HEADWATER_SECRET_KEY")
    reset_settings()
    start = tmp_path / "start"
    procs = [
        subprocess.Popen([sys.executable, "-c", KEY_RACE_WORKER, str(start), str(n)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        for n in range(6)
    ]
    time.sleep(1.5)  # let every worker import and reach the start line (not a timing assertion)
    start.touch()
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _out, err in results]
    key_ids = {out.strip() for out, _err in results}
    assert len(key_ids) == 1
    assert not [f for f in headwater_home.iterdir() if f.name.startswith(".secret.key.")]
    from headwater.blocks.system import Secret

    assert Secret.load("s-3-5").get() == "value-3-5"


def test_damaged_key_file_does_not_blame_headwater_secret_key(headwater_home, monkeypatch):
    monkeypatch.delenv("HEADWATER_SECRET_KEY")
    reset_settings()
    (headwater_home / "secret.key").touch(mode=0o600)
    with pytest.raises(SecretBackendError, match="secret.key is damaged") as info:
        WarehouseCredentials(username="a", password="some-password").save("k")
    assert "HEADWATER_SECRET_KEY" not in str(info.value)


def test_key_file_readable_by_others_is_refused(headwater_home, monkeypatch):
    monkeypatch.delenv("HEADWATER_SECRET_KEY")
    reset_settings()
    WarehouseCredentials(username="a", password="some-password").save("k")
    os.chmod(headwater_home / "secret.key", 0o644)
    reset_settings()
    with pytest.raises(SecretBackendError, match="chmod 600"):
        WarehouseCredentials.load("k")


def test_wrong_key_gives_clear_error_naming_the_fix(monkeypatch):
    WarehouseCredentials(username="a", password="some-password").save("k")
    monkeypatch.setenv("HEADWATER_SECRET_KEY", "a-completely-different-key-of-enough-length")
    reset_settings()
    with pytest.raises(SecretBackendError, match="HEADWATER_SECRET_KEY"):
        WarehouseCredentials.load("k")


def test_ciphertext_moved_between_documents_fails_integrity(headwater_home):
    import sqlite3

    WarehouseCredentials(username="a", password="password-aaaa").save("a")
    WarehouseCredentials(username="b", password="password-bbbb").save("b")
    con = sqlite3.connect(headwater_home / "headwater.db")
    ids = dict(con.execute("SELECT name, id FROM block_documents").fetchall())
    stored_a = con.execute("SELECT stored FROM block_secrets WHERE document_id = ?", (ids["a"],)).fetchone()[0]
    con.execute("UPDATE block_secrets SET stored = ? WHERE document_id = ?", (stored_a, ids["b"]))
    con.commit()
    with pytest.raises(SecretBackendError, match="integrity"):
        WarehouseCredentials.load("b")


def test_stored_secret_with_bad_base64_names_the_block_and_the_fix(headwater_home):
    import sqlite3

    WarehouseCredentials(username="a", password="password-cccc").save("c")
    con = sqlite3.connect(headwater_home / "headwater.db")
    stored = con.execute("SELECT stored FROM block_secrets").fetchone()[0]
    con.execute("UPDATE block_secrets SET stored = ?", (stored.rsplit(":", 1)[0] + ":not*base64!",))
    con.commit()
    con.close()
    with pytest.raises(SecretBackendError) as info:
        WarehouseCredentials.load("c")
    message = str(info.value)
    assert "warehouse-credentials/c" in message and "password" in message and "corrupted" in message, message
    proc = run_cli("block", "check", "warehouse-credentials/c")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("Error: block 'warehouse-credentials/c'"), proc.stderr
    assert "Error: Error" not in proc.stderr, proc.stderr
    assert "--overwrite" in proc.stderr


def test_auto_backend_never_falls_back_to_plaintext_keyring(headwater_home, monkeypatch):
    # keyring's "fail" backend (headless Linux) must make auto choose the encrypted backend
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("HEADWATER_SECRETS_BACKEND", "auto")
    monkeypatch.delenv("HEADWATER_SECRET_KEY")
    proc = run_cli("config", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    import json

    shown = json.loads(proc.stdout)
    assert shown["secrets_backend"] == "encrypted"
    assert "not a real keyring" in shown["secrets_backend_reason"]


def test_explicit_keyring_backend_without_real_keyring_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    proc = run_python(
        "from blockdefs import WarehouseCredentials\n"
        "WarehouseCredentials(username='a', password='pw-123456').save('k')\n",
        env={"HEADWATER_SECRETS_BACKEND": "keyring"}, check=False,
    )
    assert proc.returncode != 0
    assert "HEADWATER_SECRETS_BACKEND=encrypted" in proc.stderr


def test_unknown_backend_name_lists_choices(monkeypatch):
    monkeypatch.setenv("HEADWATER_SECRETS_BACKEND", "vault9")
    reset_settings()
    from headwater.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown secret backend 'vault9'"):
        WarehouseCredentials(username="a", password="pw-123456").save("k")


def test_keyrings_alt_plaintext_backend_is_never_used(monkeypatch):
    pytest.importorskip("keyrings.alt")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("HEADWATER_SECRETS_BACKEND", "auto")
    monkeypatch.delenv("HEADWATER_SECRET_KEY")
    import json

    shown = json.loads(run_cli("config", "-o", "json").stdout)
    assert shown["secrets_backend"] == "encrypted"
    assert "PlaintextKeyring" in shown["secrets_backend_reason"]
    forced = run_python(
        "from blockdefs import WarehouseCredentials\nWarehouseCredentials(username='a', "
        "password='pw-123456').save('k')\n",
        env={"HEADWATER_SECRETS_BACKEND": "keyring"}, check=False,
    )
    assert forced.returncode != 0 and "not a real keyring" in forced.stderr


def test_public_metadata_of_a_secret_dict_is_not_redacted_everywhere():
    from headwater import SecretDict

    SecretDict({"type": "service_account", "client_email": "robot@example.iam",
                "private_key": "-----BEGIN KEY-----abc"})
    assert redact("service_account_info for robot@example.iam") == "service_account_info for robot@example.iam"
    assert "-----BEGIN KEY-----abc" not in redact("key is -----BEGIN KEY-----abc")


def _home_bytes(home) -> bytes:
    return b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())


def test_secret_flow_parameter_is_masked_in_logs_state_and_history(headwater_home, tmp_path):
    canary = "Param-S3cret-4419"
    flow_file = tmp_path / "pw_flow.py"
    flow_file.write_text(
        "from headwater import flow, task, get_run_logger, SecretStr\n"
        "@task\n"
        "def use(pw: SecretStr):\n"
        "    get_run_logger().info('connecting with %s', pw.get_secret_value())\n"
        "@flow\n"
        "def login(pw: SecretStr):\n"
        "    use(pw)\n"
        "    raise ValueError(f'bad password {pw.get_secret_value()}')\n"
    )
    proc = run_cli("run", f"{flow_file}:login", "--param", f"pw={canary}")
    assert proc.returncode == 1
    assert "connecting with **********" in proc.stdout + proc.stderr
    assert "bad password **********" in proc.stderr
    assert canary not in proc.stdout + proc.stderr
    shown = run_cli("runs", "ls", "-o", "json")
    run_id = json.loads(shown.stdout)[0]["id"]
    for args in (("runs", "show", run_id, "-o", "json"), ("runs", "logs", run_id)):
        assert canary not in run_cli(*args).stdout
    assert canary.encode() not in _home_bytes(headwater_home)


def test_secrets_are_masked_in_escaped_json_and_shortened_forms(headwater_home):
    from headwater import Secret
    from headwater.history.writer import encode_parameters

    Secret(value="Esc-S3cret-4419\\x").save("backslash")
    Secret(value="Esc-S3cret-4419-é").save("accent")
    Secret(value={"token": "Json-S3cret-4419", "user": "ann"}).save("api")
    backslash, accent = Secret.load("backslash").get(), Secret.load("accent").get()
    token = Secret.load("api").get()["token"]
    shown = redact(" ".join([repr({"p": backslash}), json.dumps(backslash), json.dumps(accent), str({"t": token}),
                      encode_parameters({"long": "x" * 470 + token, "accent": accent}) or ""]))
    for secret_part in ("Esc-S3cret-4419", "Json-S3cret-4419", "Json-S3cr"):
        assert secret_part not in shown, shown
    assert "ann" in redact("user ann")  # public fields of a JSON secret are not masked


def test_cached_task_results_are_private_to_the_owner(headwater_home):
    from headwater import flow, task
    from headwater.runtime import INPUTS

    @task(cache_policy=INPUTS)
    def produce(n: int) -> str:
        return f"value-{n}"

    @flow
    def cached() -> str:
        return produce(1)

    assert cached() == "value-1"
    results = headwater_home / "results"
    files = [p for p in results.rglob("*") if p.is_file()]
    assert files
    assert stat.S_IMODE(results.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
