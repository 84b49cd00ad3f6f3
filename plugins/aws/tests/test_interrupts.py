"""A folder upload killed or interrupted part-way leaves no incomplete multipart upload behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from headwater_aws import S3Bucket

from .conftest import credentials_for

MiB = 1024 * 1024
FILES = 4
FILE_SIZE = 24 * MiB

_UPLOADER = textwrap.dedent("""
    import json, sys
    from headwater_aws import AwsClientParameters, AwsCredentials, S3Bucket

    spec = json.loads(sys.argv[1])
    creds = AwsCredentials(aws_access_key_id=spec["key_id"], aws_secret_access_key=spec["secret"],
                           region_name=spec["region"],
                           aws_client_parameters=AwsClientParameters(endpoint_url=spec["endpoint"]))
    bucket = S3Bucket(bucket_name=spec["bucket"], credentials=creds, max_concurrency=2,
                      multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    bucket.upload_from_folder(spec["folder"], "big")
""")


def _big_folder(root: Path) -> Path:
    root.mkdir()
    for i in range(FILES):
        (root / f"f{i}.bin").write_bytes(os.urandom(FILE_SIZE))
    return root


def _start_upload(server: Any, bucket: str, folder: Path) -> subprocess.Popen[bytes]:
    spec = {"key_id": server.access_key_id, "secret": server.secret_access_key, "region": server.region,
            "endpoint": server.endpoint, "bucket": bucket, "folder": str(folder)}
    return subprocess.Popen([sys.executable, "-c", _UPLOADER, json.dumps(spec)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for_multipart_upload(server: Any, bucket: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not server.multipart_uploads(bucket):
        assert process.poll() is None, f"the upload ended before a multipart upload began: {process.stderr.read()!r}"
        assert time.monotonic() < deadline, "no multipart upload began within 60 s"
        time.sleep(0.05)


def test_interrupted_folder_upload_stops_and_aborts_its_multipart_uploads(
    s3_server: Any, s3_bucket_name: str, tmp_path: Path
) -> None:
    folder = _big_folder(tmp_path / "big")
    process = _start_upload(s3_server, s3_bucket_name, folder)
    _wait_for_multipart_upload(s3_server, s3_bucket_name, process)
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=60)
    assert process.returncode != 0 and b"KeyboardInterrupt" in err
    assert s3_server.multipart_uploads(s3_bucket_name) == []
    # Ctrl-C stopped the transfer: it did not carry on through the files it had queued.
    assert len(s3_server.object_keys(s3_bucket_name, "big/")) < FILES


def test_retry_of_a_killed_folder_upload_aborts_the_uploads_it_left(
    s3_server: Any, s3_bucket_name: str, tmp_path: Path
) -> None:
    folder = _big_folder(tmp_path / "big")
    process = _start_upload(s3_server, s3_bucket_name, folder)
    _wait_for_multipart_upload(s3_server, s3_bucket_name, process)
    process.kill()  # no chance to clean up
    process.communicate(timeout=30)
    left = s3_server.multipart_uploads(s3_bucket_name)
    assert left, "the killed upload should have left an incomplete multipart upload"
    bucket = S3Bucket(bucket_name=s3_bucket_name, credentials=credentials_for(s3_server), max_concurrency=2,
                      multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    assert bucket.upload_from_folder(folder, "big") == "big"
    assert s3_server.multipart_uploads(s3_bucket_name) == []
    assert s3_server.object_keys(s3_bucket_name, "big/") == [f"big/f{i}.bin" for i in range(FILES)]
