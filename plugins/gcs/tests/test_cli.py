"""``headwater gcs upload|download`` on a saved block, and the plugin's registration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from headwater_gcs import GcsBucket

from .conftest import make_tree, read_tree


def _run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from headwater.cli import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_upload_and_download(gcs_bucket: GcsBucket, gcs_server: Any, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    gcs_bucket.save("cli-bucket")
    contents = make_tree(tmp_path / "src", files=7)
    code, out, err = _run("gcs", "upload", "cli-bucket", str(tmp_path / "src"), "--to", "drop", capsys=capsys)
    assert code == 0, err
    assert "uploaded 7 file(s)" in out
    assert gcs_server.object_names(gcs_bucket.bucket) == sorted(f"drop/{k}" for k in contents)
    code, out, err = _run("gcs", "download", "cli-bucket", "drop", "--to", str(tmp_path / "dst"), "-q", capsys=capsys)
    assert code == 0, err
    assert read_tree(tmp_path / "dst") == contents


def test_cli_error_is_one_line(gcs_bucket_name: str, gcp_credentials: Any, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    GcsBucket(bucket="no-such-bucket-cli", gcp_credentials=gcp_credentials).save("broken")
    code, _out, err = _run("gcs", "download", "broken", "x", "--to", str(tmp_path), "-q", capsys=capsys)
    assert code == 1
    assert err.strip().count("\n") == 0 and "no-such-bucket-cli" in err and "does not exist" in err


def test_importing_the_plugin_does_not_import_google() -> None:
    code = ("import sys, headwater_gcs, headwater_gcs._plugin; "
            "from headwater.plugins import block_type_registry; block_type_registry(); "
            "assert not [m for m in sys.modules if m.startswith('google')], 'google imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_ls_json_ignore_file_and_skip_counts(gcs_bucket: GcsBucket, gcs_server: Any, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import json
    from datetime import datetime

    gcs_bucket.save("cli-bucket")
    contents = make_tree(tmp_path / "src", files=6)
    (tmp_path / "src" / "debug.log").write_text("noise")
    (tmp_path / ".ignore").write_text("*.log\n")
    args = ("gcs", "upload", "cli-bucket", str(tmp_path / "src"), "--to", "drop", "--skip-unchanged", "-q",
            "--ignore-file", str(tmp_path / ".ignore"))
    code, out, err = _run(*args, capsys=capsys)
    assert code == 0, err
    assert "uploaded 6 file(s), skipped 0 unchanged" in out
    assert gcs_server.object_names(gcs_bucket.bucket) == sorted(f"drop/{k}" for k in contents)
    code, out, err = _run(*args, capsys=capsys)
    assert code == 0 and "uploaded 0 file(s), skipped 6 unchanged" in out, err
    code, out, err = _run("gcs", "ls", "cli-bucket", "drop", capsys=capsys)
    assert code == 0 and all(f"drop/{k}" in out for k in contents), err
    code, out, err = _run("gcs", "ls", "cli-bucket", "drop", "-o", "json", capsys=capsys)
    assert code == 0, err
    rows = json.loads(out)
    assert {row["key"]: row["size"] for row in rows} == {f"drop/{k}": len(v) for k, v in contents.items()}
    assert all(datetime.fromisoformat(row["last_modified"]).utcoffset() is not None for row in rows)


def test_bad_bucket_names_are_refused_and_nothing_saved(capsys: pytest.CaptureFixture[str]) -> None:
    for value in ("", "../../etc passwd", "UPPER", "ab"):
        code, out, err = _run("block", "create", "gcs-bucket", "x", "--set", f"bucket={value}", capsys=capsys)
        assert code != 0, value
        assert err.startswith("Error") and "bucket" in err and "Traceback" not in err, err
    code, out, err = _run("block", "ls", "-o", "json", capsys=capsys)
    assert code == 0 and "gcs-bucket" not in out
