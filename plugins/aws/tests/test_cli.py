"""``headwater s3 upload|download|ls`` through the real ``headwater`` entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from headwater_aws import S3Bucket

from .conftest import SECRET_MARKER, credentials_for, make_tree, read_tree


def _run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from headwater.cli import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_upload_download_ls(s3_server: Any, s3_bucket_name: str, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    S3Bucket(bucket_name=s3_bucket_name, credentials=credentials_for(s3_server), bucket_folder="base").save("raw")
    tree = make_tree(tmp_path / "src", files=5)
    code, out, err = _run("s3", "upload", "raw", str(tmp_path / "src"), "--to", "day1", capsys=capsys)
    assert code == 0, err
    assert f"uploaded 5 file(s) to s3://{s3_bucket_name}/base/day1" in out
    assert s3_server.object_keys(s3_bucket_name) == sorted(f"base/day1/{k}" for k in tree)
    code, out, err = _run("s3", "ls", "raw", "day1", capsys=capsys)
    assert code == 0 and all(f"day1/{k}" in out for k in tree)
    code, out, err = _run("s3", "download", "raw", "day1", "--to", str(tmp_path / "dst"), "-q", capsys=capsys)
    assert code == 0, err
    assert read_tree(tmp_path / "dst") == tree


def test_errors_are_one_line_without_secrets(s3_server: Any, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run("s3", "upload", "nope", str(tmp_path), capsys=capsys)
    assert code == 1 and "no block named 's3-bucket/nope'" in err and "Traceback" not in err
    creds = credentials_for(s3_server).model_copy(update={"aws_secret_access_key": None})
    creds = type(creds).model_validate({**creds.model_dump(), "aws_secret_access_key": SECRET_MARKER})
    S3Bucket(bucket_name="hw-missing-bucket", credentials=creds).save("gone")
    make_tree(tmp_path / "src", files=2)
    code, out, err = _run("s3", "upload", "gone", str(tmp_path / "src"), "-q", capsys=capsys)
    assert code == 1 and err.startswith("Error: ") and "hw-missing-bucket" in err and "does not exist" in err
    assert SECRET_MARKER not in out + err and len(err.strip().splitlines()) == 1


def test_block_type_inspect_shows_nested_and_secret_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run("block", "type", "inspect", "aws-credentials", capsys=capsys)
    assert code == 0, err
    assert "provided_by     headwater-aws " in out
    assert "  aws_secret_access_key (SecretStr | None, default None, secret)\n" in out
    flat = " ".join(out.split())
    assert "Nested fields (api_version, use_ssl, verify, verify_cert_path, endpoint_url, config): " \
           "--set aws_client_parameters.FIELD=VALUE." in flat
    code, out, err = _run("block", "type", "inspect", "s3-bucket", capsys=capsys)
    assert code == 0, err
    assert "--set credentials=aws-credentials/NAME" in " ".join(out.split())


def test_skip_unchanged_reports_uploaded_and_skipped_apart(
    s3_server: Any, s3_bucket_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    S3Bucket(bucket_name=s3_bucket_name, credentials=credentials_for(s3_server)).save("raw")
    tree = make_tree(tmp_path / "src", files=5)
    code, out, err = _run("s3", "upload", "raw", str(tmp_path / "src"), "--skip-unchanged", "-q", capsys=capsys)
    assert code == 0, err
    assert "uploaded 5 file(s), skipped 0 unchanged" in out
    (tmp_path / "src" / next(iter(tree))).write_bytes(b"changed")
    code, out, err = _run("s3", "upload", "raw", str(tmp_path / "src"), "--skip-unchanged", "-q", capsys=capsys)
    assert code == 0, err
    assert "uploaded 1 file(s), skipped 4 unchanged" in out


def test_ls_json_has_iso_timestamps_and_numeric_sizes(
    s3_server: Any, s3_bucket_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    from datetime import datetime

    bucket = S3Bucket(bucket_name=s3_bucket_name, credentials=credentials_for(s3_server), bucket_folder="base")
    bucket.save("raw")
    bucket.write_path("day1/a.csv", b"12345")
    code, out, err = _run("s3", "ls", "raw", "day1", "-o", "json", capsys=capsys)
    assert code == 0, err
    [row] = json.loads(out)
    assert row["key"] == "day1/a.csv" and row["size"] == 5
    assert datetime.fromisoformat(row["last_modified"]).utcoffset() is not None


def test_bad_bucket_names_are_refused_and_nothing_saved(capsys: pytest.CaptureFixture[str]) -> None:
    for value in ("", "../../etc passwd", "UPPER", "ab"):
        code, out, err = _run("block", "create", "s3-bucket", "x", "--set", f"bucket_name={value}", capsys=capsys)
        assert code != 0, value
        assert err.startswith("Error") and "bucket_name" in err and "Traceback" not in err, err
    code, out, err = _run("block", "ls", "-o", "json", capsys=capsys)
    assert code == 0 and "s3-bucket" not in out
