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
    code = ("from headwater import LocalFileSystem; "
            "print([o['key'] for o in LocalFileSystem.load('raw').list_objects()])")
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


def test_an_optional_secret_left_empty_is_prompted_for_and_enter_skips():
    from terminal import on_terminal

    code, seen = on_terminal("block", "create", "-m", "blockdefs", "warehouse-credentials", "login",
                             "--set", "username=u", answers=[(b"password (hidden)", b"pw-typed-77\n")])
    assert code == 0, seen
    code, seen = on_terminal(
        "block", "create", "-m", "blockdefs", "warehouse", "wh", "--set", "host=h",
        "--set", "credentials=warehouse-credentials/login",
        answers=[(b"extra (hidden, optional: Enter skips)", b'{"token": "t-typed-88"}\n'),
                 (b"cert (hidden, optional: Enter skips)", b"\n")],
    )
    assert code == 0 and b"saved warehouse/wh" in seen, seen
    assert b"t-typed-88" not in seen.replace(b"<answered>", b"")  # hidden input is not echoed
    loaded = run_python("import blockdefs\nfrom headwater import Block\nw = Block.load('warehouse/wh')\n"
                        "print(w.extra.get_secret_value(), w.cert)")
    assert loaded.stdout.strip() == "{'token': 't-typed-88'} None"


def test_types_of_plugins_not_installed_or_not_loaded_carry_the_pip_install_hint():
    import sqlite3

    from headwater.cli.blocks import FIRST_PARTY_TYPES
    from headwater.plugins import block_type_registry
    from headwater.settings import get_settings

    provided = {slug: info.dist for slug, info in block_type_registry().items() if info.dist not in (None, "headwater")}
    assert provided == FIRST_PARTY_TYPES  # the table stays in step with the plugins
    proc = run_cli("block", "create", "gcs-bucket", "x", "--set", "bucket=b", env={"HEADWATER_LOAD_PLUGINS": "aws"})
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "provided by headwater-gcs, whose plugin 'gcs' is not in HEADWATER_LOAD_PLUGINS" in proc.stderr
    # a store shared with a machine that has a plugin this one lacks
    assert run_cli("block", "create", "secret", "tok", "--secret-env", "value=V", env={"V": "v"}).returncode == 0
    with sqlite3.connect(get_settings().home / "headwater.db") as db:
        db.execute("UPDATE block_documents SET slug = 'ftp-server', dist = 'headwater-ftp'")
    listed = run_cli("block", "ls")
    assert "ftp-server/tok" in listed.stdout and "pip install headwater-ftp" in listed.stdout, listed.stdout
    row = json.loads(run_cli("block", "ls", "-o", "json").stdout)[0]
    assert row["problem"] == "headwater-ftp is not installed: pip install headwater-ftp"
    create = run_cli("block", "create", "ftp-server", "other")
    assert create.returncode == 1
    assert create.stderr.strip() == (
        "Error: block type 'ftp-server' is provided by headwater-ftp, which is not installed: pip install headwater-ftp"
    )
    loaded = run_python("from headwater import Block; Block.load('tok')", check=False)
    assert "which is not installed: pip install headwater-ftp" in loaded.stderr  # the hint load gives


def test_block_json_timestamps_are_iso_8601_with_an_offset():
    from datetime import datetime

    assert run_cli("block", "create", "local-file-system", "raw", "--set", "basepath=/srv").returncode == 0
    row = json.loads(run_cli("block", "ls", "-o", "json").stdout)[0]
    detail = json.loads(run_cli("block", "inspect", "raw", "-o", "json").stdout)
    for stamp in (row["updated"], detail["created"], detail["updated"]):
        assert datetime.fromisoformat(stamp).utcoffset() is not None, stamp


def test_completion_scripts_and_completing_block_refs():
    for shell, marker in (("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete --no-files")):
        proc = run_cli("completion", shell)
        assert proc.returncode == 0 and "_HEADWATER_COMPLETE" in proc.stdout and marker in proc.stdout, shell
    assert run_cli("completion", "tcsh").returncode == 2
    run_cli("block", "create", "local-file-system", "raw-orders", "--set", "basepath=/srv")
    run_cli("block", "create", "secret", "api", "--secret-env", "value=V", env={"V": "v"})
    words = run_cli("block", "inspect", "r", env={"_HEADWATER_COMPLETE": "bash_complete",
                                                   "COMP_WORDS": "headwater block inspect r", "COMP_CWORD": "3"})
    assert words.stdout.split() == ["plain,raw-orders"]
    words = run_cli(env={"_HEADWATER_COMPLETE": "bash_complete",
                         "COMP_WORDS": "headwater block delete ", "COMP_CWORD": "3"})
    assert words.stdout.split() == [
        "plain,api", "plain,local-file-system/raw-orders", "plain,raw-orders", "plain,secret/api"
    ]


def test_every_core_command_with_json_output_documents_it_in_cli_md():
    from pathlib import Path

    import click
    from headwater.cli import CORE_COMMANDS, cli

    doc = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    section = doc[doc.index("## JSON output"):]

    def walk(cmd: click.Command, path: str):
        if isinstance(cmd, click.Group):
            if any(p.name == "output" for p in cmd.params):
                yield path
            for name, sub in cmd.commands.items():
                yield from walk(sub, f"{path} {name}")
        elif any(p.name == "output" for p in cmd.params):
            yield path

    ctx = click.Context(cli)
    with_json = [p.strip() for name in CORE_COMMANDS for p in walk(cli.get_command(ctx, name), name)]
    assert {"block ls", "runs ls", "runs logs", "config"} <= set(with_json)
    undocumented = [p for p in with_json if f"| `{p}` |" not in section]
    assert not undocumented, f"not in docs/cli.md's JSON output table: {undocumented}"
