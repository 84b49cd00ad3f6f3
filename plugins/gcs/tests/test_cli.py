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
