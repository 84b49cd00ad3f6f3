"""Inputs the CLI must refuse or settle once, and what a new user meets (issue 20, 9/11/15)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import HEADWATER_BIN, run_cli, run_python


def test_replace_repoints_a_name_to_another_block_type_in_one_step(tmp_path):
    assert run_cli("block", "create", "local-file-system", "raw", "--set", f"basepath={tmp_path}").returncode == 0
    overwrite = run_cli("block", "create", "secret", "raw", "--secret-env", "value=V", "--overwrite", env={"V": "x"})
    assert overwrite.returncode == 0
    assert "ambiguous" in overwrite.stderr and "--replace" in overwrite.stderr  # says how to keep only one
    proc = run_cli("block", "create", "secret", "raw", "--secret-env", "value=V", "--replace", env={"V": "new"})
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr
    refs = [r["ref"] for r in json.loads(run_cli("block", "ls", "-o", "json").stdout)]
    assert refs == ["secret/raw"]
    loaded = run_python("from headwater import Block; print(type(Block.load('raw')).__name__, Block.load('raw').get())")
    assert loaded.stdout.split() == ["Secret", "new"]


def test_replace_keeps_a_block_others_refer_to(tmp_path):
    run_cli("block", "create", "-m", "blockdefs", "warehouse-credentials", "login", "--set", "username=u",
            "--secret-env", "password=P", env={"P": "pw"})
    run_cli("block", "create", "-m", "blockdefs", "warehouse", "wh", "--set", "host=h",
            "--set", "credentials=warehouse-credentials/login")
    proc = run_cli("block", "create", "secret", "login", "--secret-env", "value=V", "--replace", env={"V": "x"})
    assert proc.returncode == 1 and "warehouse/wh" in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    refs = sorted(r["ref"] for r in json.loads(run_cli("block", "ls", "-o", "json").stdout))
    assert refs == ["warehouse-credentials/login", "warehouse/wh"]  # nothing half-done


def test_a_relative_basepath_means_the_folder_it_was_saved_from(tmp_path):
    (tmp_path / "project" / "data").mkdir(parents=True)
    (tmp_path / "project" / "data" / "orders.csv").write_text("id\n1\n")
    (tmp_path / "elsewhere").mkdir()
    saved = subprocess.run([str(HEADWATER_BIN), "block", "create", "local-file-system", "raw",
                            "--set", "basepath=./data"], cwd=tmp_path / "project", capture_output=True, text=True)
    assert saved.returncode == 0, saved.stderr
    code = "from headwater import LocalFileSystem; print([o['key'] for o in LocalFileSystem.load('raw').list_objects()])"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path / "elsewhere", capture_output=True, text=True)
    assert proc.stdout.strip() == "['orders.csv']", proc.stderr


def test_an_unknown_secrets_backend_is_refused_by_every_command_but_plugin_ls():
    for args in (("config",), ("block", "ls"), ("runs", "ls"), ("block", "inspect", "secret/x")):
        proc = run_cli(*args, env={"HEADWATER_SECRETS_BACKEND": "bogus"})
        assert proc.returncode == 1, (args, proc.stdout)
        assert proc.stderr.count("\n") == 1 and "HEADWATER_SECRETS_BACKEND='bogus'" in proc.stderr, proc.stderr
        assert "encrypted" in proc.stderr and "keyring" in proc.stderr
    assert run_cli("plugin", "ls", env={"HEADWATER_SECRETS_BACKEND": "bogus"}).returncode == 0


def test_an_empty_store_file_is_not_taken_for_a_new_store(headwater_home):
    store = headwater_home / "headwater.db"
    store.write_bytes(b"")
    proc = run_cli("block", "ls")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert str(store) in proc.stderr and "empty" in proc.stderr and "backup" in proc.stderr
    assert store.stat().st_size == 0  # left as found


def test_a_store_url_in_a_missing_folder_creates_no_folder(tmp_path):
    url = f"sqlite:///{tmp_path}/missing/dir/x.db"
    proc = run_cli("block", "ls", env={"HEADWATER_DATABASE_URL": url})
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"{tmp_path}/missing/dir" in proc.stderr and "does not exist" in proc.stderr
    assert not (tmp_path / "missing").exists()


def test_inspect_warns_about_a_document_edited_outside_headwater():
    import sqlite3

    from headwater.settings import get_settings

    assert run_cli("block", "create", "local-file-system", "raw", "--set", "basepath=/srv/data").returncode == 0
    with sqlite3.connect(get_settings().home / "headwater.db") as db:
        db.execute("UPDATE block_documents SET data = replace(data, '/srv/data', '/srv/other')")
    proc = run_cli("block", "inspect", "raw")
    assert proc.returncode == 0 and "/srv/other" in proc.stdout
    assert "checksum mismatch" in proc.stderr and proc.stderr.count("\n") == 1
    assert json.loads(run_cli("block", "inspect", "raw", "-o", "json").stdout)["checksum_ok"] is False
    loaded = run_python("from headwater import Block; Block.load('raw')", check=False)
    assert "checksum mismatch" in loaded.stderr  # the warning says what load does
