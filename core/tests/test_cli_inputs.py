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
