"""Issue 20, item 10: the encrypted backend's key problems each get one clear line, and a store
never ends up with secrets under two keys (or a silently replaced key file)."""

from __future__ import annotations

import os
import subprocess

import pytest
from blockdefs import WarehouseCredentials
from conftest import HEADWATER_BIN, run_cli
from headwater.errors import SecretBackendError
from headwater.settings import reset_settings


@pytest.fixture
def key_file_home(headwater_home, monkeypatch):
    """A home whose key comes from HEADWATER_HOME/secret.key, as for a user without HEADWATER_SECRET_KEY."""
    monkeypatch.delenv("HEADWATER_SECRET_KEY")
    reset_settings()
    return headwater_home


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr and "UnicodeDecodeError" not in proc.stderr, proc.stderr
    assert "UnicodeEncodeError" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_a_key_file_that_is_not_text_gives_one_clear_line(key_file_home):
    created = run_cli("block", "create", "secret", "api", "--secret-stdin", "value", input="first-secret-value\n")
    assert created.returncode == 0, created.stderr
    key = key_file_home / "secret.key"
    key.write_bytes(b"\xff\xfe\x00 not a key \x81")
    line = _one_line_error(
        run_cli("block", "create", "secret", "api2", "--secret-stdin", "value", input="second-value\n")
    )
    assert f"the key file {key} is damaged" in line and "restore it" in line
    reset_settings()
    with pytest.raises(SecretBackendError, match="is damaged"):
        WarehouseCredentials(username="a", password="some-password").save("k")


def test_secret_stdin_that_is_not_utf8_gives_one_clear_line(key_file_home):
    proc = subprocess.run([str(HEADWATER_BIN), "block", "create", "secret", "api", "--secret-stdin", "value"],
                          input=b"pass\xff\xfeword\n", capture_output=True, env=dict(os.environ), timeout=120)
    proc = subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())
    line = _one_line_error(proc)
    assert "--secret-stdin value: standard input is not UTF-8 text" in line
    assert "pass" not in line and "word" not in line  # the bytes were the secret: not shown
    assert "api" not in run_cli("block", "ls").stdout  # nothing half-written


def test_a_deleted_key_file_is_not_replaced_while_the_store_holds_secrets_encrypted_with_it(key_file_home):
    created = run_cli("block", "create", "secret", "api", "--secret-stdin", "value", input="kept-secret-value\n")
    assert created.returncode == 0, created.stderr
    key = key_file_home / "secret.key"
    key.unlink()
    line = _one_line_error(run_cli("block", "create", "secret", "api2", "--secret-stdin", "value", input="new-value\n"))
    assert f"the key file {key} is missing" in line and "1 with key" in line and "restore the key file" in line
    assert not key.exists()  # no new key silently took its place
    assert "api2" not in run_cli("block", "ls").stdout
    # a store without encrypted secrets gets its key file, as on first use
    deleted = run_cli("block", "delete", "secret/api", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    again = run_cli("block", "create", "secret", "api3", "--secret-stdin", "value", input="fresh-value\n")
    assert again.returncode == 0, again.stderr
    assert key.exists()


def test_blocks_saved_under_another_key_do_not_mix_into_one_store(key_file_home, monkeypatch):
    created = run_cli("block", "create", "secret", "api", "--secret-stdin", "value", input="first-key-secret\n")
    assert created.returncode == 0, created.stderr
    other = run_cli("config", "new-key").stdout.strip()
    proc = run_cli("block", "create", "secret", "other", "--secret-stdin", "value", input="second-key-secret\n",
                   env={"HEADWATER_SECRET_KEY": other})
    line = _one_line_error(proc)
    assert "this store's secrets are encrypted with another key (1 secret(s) with key" in line
    assert "set HEADWATER_SECRET_KEY to the key they were saved with" in line
    assert "other" not in run_cli("block", "ls").stdout
    monkeypatch.setenv("HEADWATER_SECRET_KEY", other)
    reset_settings()
    with pytest.raises(SecretBackendError, match="encrypted with another key"):
        WarehouseCredentials(username="a", password="some-password").save("k")


@pytest.mark.postgres
def test_a_shared_postgresql_store_refuses_a_second_key(postgres_database, monkeypatch):
    monkeypatch.setenv("HEADWATER_DATABASE_URL", postgres_database)
    reset_settings()
    WarehouseCredentials(username="a", password="team-key-secret-1").save("team")
    monkeypatch.setenv("HEADWATER_SECRET_KEY", "a-laptop-with-another-key-0123456789")
    reset_settings()
    with pytest.raises(SecretBackendError, match=r"encrypted with another key \(1 secret\(s\) with key [0-9a-f]{12}\)"):
        WarehouseCredentials(username="b", password="laptop-secret-2").save("laptop")
