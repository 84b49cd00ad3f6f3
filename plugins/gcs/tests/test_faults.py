"""Bad input and faults: one clear error naming bucket, blob and endpoint; nothing half-written."""

from __future__ import annotations

import contextlib
import http.server
import io
import os
import signal
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from headwater.errors import BlockValidationError, ConnectionFailedError, ObjectNotFoundError, TransferError
from headwater.testing.gcs import FakeGcsServer
from headwater.testing.process import free_port
from headwater_gcs import GcpCredentials, GcsBucket

from .conftest import make_tree


def test_missing_blob_names_bucket_blob_and_endpoint(gcs_bucket: GcsBucket, gcs_server: Any, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFoundError) as info:
        gcs_bucket.read_path("no/such.txt")
    message = str(info.value)
    assert f"gs://{gcs_bucket.bucket}/no/such.txt" in message and gcs_server.endpoint in message
    with pytest.raises(ObjectNotFoundError):
        gcs_bucket.download_object_to_path("no/such.txt", tmp_path / "x.txt")
    assert list(tmp_path.iterdir()) == []  # no empty or partial file left behind


def test_missing_bucket_says_the_bucket_does_not_exist(gcp_credentials: GcpCredentials, gcs_server: Any,
                                                       tmp_path: Path) -> None:
    block = GcsBucket(bucket="no-such-bucket-hw", gcp_credentials=gcp_credentials)
    for call in (lambda: block.read_path("a.txt"), block.list_objects, block.get_bucket,
                 lambda: block.download_folder_to_path("run", tmp_path / "out")):
        with pytest.raises(ObjectNotFoundError) as info:
            call()
        assert "bucket 'no-such-bucket-hw' does not exist" in str(info.value)
        assert gcs_server.endpoint in str(info.value)


def test_empty_folder_download_is_an_error(gcs_bucket: GcsBucket, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFoundError, match="no objects under"):
        gcs_bucket.download_folder_to_path("nothing-here", tmp_path / "out")


def test_unreachable_endpoint_is_one_clear_error(service_account_info: dict[str, str]) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    creds = GcpCredentials(endpoint=endpoint, retry_timeout=0.5, service_account_info=service_account_info)
    block = GcsBucket(bucket="b-unreachable", gcp_credentials=creds)
    for call in (lambda: block.write_path("k.txt", b"x"), lambda: block.read_path("k.txt"), block.check,
                 block.list_objects):
        with pytest.raises(ConnectionFailedError) as info:
            call()
        message = str(info.value)
        assert endpoint in message and "b-unreachable" in message
        assert "cannot be reached (Connection refused)" in message
        assert "PRIVATE KEY" not in message and service_account_info["private_key_id"] not in message


@pytest.mark.parametrize("seekable", [True, False], ids=["file", "pipe"])
def test_source_failing_part_way_leaves_no_blob(seekable: bool, gcs_bucket_name: str, gcp_credentials: GcpCredentials,
                                               gcs_server: Any, tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(12 * 1024 * 1024))

    class FailingFile(io.FileIO):
        """A real file whose disk "goes away" after 3 MiB have been read."""

        read_so_far = 0

        def read(self, size: int = -1) -> bytes:
            if self.read_so_far >= 3 * 1024 * 1024:
                raise OSError("disk went away")
            data = super().read(size)
            self.read_so_far += len(data)
            return data

        def readinto(self, buffer: Any) -> int:
            data = self.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)

        def seekable(self) -> bool:
            return seekable

    block = GcsBucket(bucket=gcs_bucket_name, gcp_credentials=gcp_credentials, chunk_size=1024 * 1024)
    with FailingFile(path, "r") as source, pytest.raises(TransferError) as info:
        block.upload_from_file_object(source, "partial.bin")
    message = str(info.value)
    assert f"gs://{gcs_bucket_name}/partial.bin" in message and "disk went away" in message
    assert "no object was written" in message
    assert gcs_server.object_names(gcs_bucket_name) == []


def test_server_killed_mid_upload_leaves_no_blob(tmp_path: Path) -> None:
    root = tmp_path / "gcs-data"
    port = free_port()
    server = FakeGcsServer(tmp_path / "server.log", port=port, filesystem_root=root).start()
    try:
        bucket = server.create_bucket("killed")
        creds = GcpCredentials(endpoint=server.endpoint, retry_timeout=1)
        block = GcsBucket(bucket=bucket, gcp_credentials=creds, chunk_size=1024 * 1024)

        source = tmp_path / "big.bin"
        source.write_bytes(os.urandom(12 * 1024 * 1024))
        sent: list[int] = []

        def progress(nbytes: int) -> None:
            sent.append(nbytes)
            if sum(sent) >= 3 * 1024 * 1024 and server.proc.poll() is None:
                os.killpg(server.proc.pid, signal.SIGKILL)
                server.proc.wait()

        with pytest.raises(ConnectionFailedError) as info:
            block.upload_from_path(source, "half.bin", progress=progress)
        assert "gs://killed/half.bin" in str(info.value) and server.endpoint in str(info.value)
    finally:
        server.stop()
    with FakeGcsServer(tmp_path / "server2.log", port=port, filesystem_root=root) as again:
        assert again.object_names("killed") == []
        assert again.read_object("killed", "half.bin") is None


def test_server_killed_mid_download_leaves_no_file(tmp_path: Path) -> None:
    port = free_port()
    server = FakeGcsServer(tmp_path / "server.log", port=port).start()
    try:
        bucket = server.create_bucket("dl-bucket")
        block = GcsBucket(bucket=bucket, gcp_credentials=GcpCredentials(endpoint=server.endpoint, retry_timeout=1))
        block.write_path("big.bin", os.urandom(48 * 1024 * 1024))
        killed = []

        def progress(nbytes: int) -> None:
            if not killed:
                killed.append(nbytes)
                os.killpg(server.proc.pid, signal.SIGKILL)

        target = tmp_path / "out" / "big.bin"
        with pytest.raises(TransferError) as info:
            block.download_object_to_path("big.bin", target, progress=progress)
        assert "gs://dl-bucket/big.bin" in str(info.value)
        assert not target.exists() and list((tmp_path / "out").iterdir()) == []
    finally:
        server.stop()


def test_folder_upload_failure_says_what_was_done(gcs_bucket: GcsBucket, tmp_path: Path) -> None:
    make_tree(tmp_path / "src", files=5)
    (tmp_path / "src" / "zz-dangling").symlink_to(tmp_path / "does-not-exist")
    with pytest.raises(TransferError) as info:
        gcs_bucket.upload_from_folder(tmp_path / "src", "f")
    message = str(info.value)
    assert "failed: zz-dangling" in message and "of 6 file(s) transferred" in message
    assert gcs_bucket.bucket in message


def test_no_local_source_is_a_clear_error(gcs_bucket: GcsBucket, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFoundError, match="no local file"):
        gcs_bucket.upload_from_path(tmp_path / "absent.txt")
    with pytest.raises(ObjectNotFoundError, match="no local folder"):
        gcs_bucket.upload_from_folder(tmp_path / "absent")


def test_bad_chunk_size_is_rejected() -> None:
    with pytest.raises(BlockValidationError, match="chunk_size: .*multiple of 262144"):
        GcsBucket(bucket="bkt", chunk_size=1000)


def test_server_restart_between_calls_is_transparent(tmp_path: Path) -> None:
    """Keep-alive connections the server closed while idle are replaced, not reported as failures."""
    root = tmp_path / "gcs-data"
    port = free_port()
    contents = make_tree(tmp_path / "src", files=20)
    with FakeGcsServer(tmp_path / "server.log", port=port, filesystem_root=root) as server:
        bucket = server.create_bucket("restart")
        creds = GcpCredentials(endpoint=server.endpoint, retry_timeout=0.01)
        block = GcsBucket(bucket=bucket, gcp_credentials=creds, max_concurrency=4)
        block.upload_from_folder(tmp_path / "src", "run")
        block.write_path("one.txt", b"before")
    with FakeGcsServer(tmp_path / "server2.log", port=port, filesystem_root=root):
        # retry_timeout=0.01 leaves no time for a retry: stale connections must be replaced at once.
        assert block.read_path("one.txt") == b"before"
        out = block.download_folder_to_path("run", tmp_path / "dst")
        assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()} == contents
        block.write_path("one.txt", b"after")
        assert block.read_path("one.txt") == b"after"


def test_folder_download_failure_says_what_was_done(gcs_bucket: GcsBucket, tmp_path: Path) -> None:
    make_tree(tmp_path / "src", files=12)
    gcs_bucket.upload_from_folder(tmp_path / "src", "run")
    blocker = tmp_path / "dst" / "d1" / "sub1" / "f1.bin"
    (blocker / "inside").mkdir(parents=True)  # a non-empty folder where a file must go
    with pytest.raises(TransferError) as info:
        gcs_bucket.download_folder_to_path("run", tmp_path / "dst")
    message = str(info.value)
    assert f"download of gs://{gcs_bucket.bucket}/run/" in message and "failed: d1/sub1/f1.bin" in message
    assert "stopped: " in message and "of 12 file(s) transferred" in message
    assert (blocker / "inside").is_dir()
    assert not [p for p in (tmp_path / "dst").rglob("*") if p.name.endswith(".hw-partial")]


@pytest.fixture
def hanging_up_endpoint() -> Iterator[tuple[str, list[int]]]:
    """An endpoint that accepts each connection and closes it at once; the list counts them."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        listener.close()
        thread.join(timeout=5)


def test_check_fails_at_once_when_the_endpoint_cannot_be_reached(
        hanging_up_endpoint: tuple[str, list[int]]) -> None:
    endpoint, accepted = hanging_up_endpoint
    creds = GcpCredentials(endpoint=endpoint)  # the default retry_timeout: transfers would retry for 60 s
    with pytest.raises(ConnectionFailedError) as info:
        GcsBucket(bucket="b-check", gcp_credentials=creds).check()
    assert "gs://b-check" in str(info.value) and endpoint in str(info.value)
    assert len(accepted) == 1  # asked once, not retried


class _LoopbackHandler(http.server.BaseHTTPRequestHandler):
    """A test server's request handler: ``reply()`` sends a JSON body; no request logging."""

    def reply(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _serving(handler: type[_LoopbackHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 for the block; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_check_retries_a_busy_server(gcs_server: Any, gcs_bucket_name: str) -> None:
    """A 503 in front of the real server: check() asks again and finds the bucket."""
    requests_seen: list[str] = []

    class BusyOnce(_LoopbackHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            requests_seen.append(self.path)
            if len(requests_seen) == 1:
                self.reply(503)
                return
            try:
                with urllib.request.urlopen(gcs_server.endpoint + self.path, timeout=10) as answer:
                    self.reply(answer.status, answer.read())
            except urllib.error.HTTPError as exc:
                self.reply(exc.code, exc.read())

    with _serving(BusyOnce) as endpoint:
        GcsBucket(bucket=gcs_bucket_name, gcp_credentials=GcpCredentials(endpoint=endpoint)).check()
        with pytest.raises(ObjectNotFoundError, match="does not exist"):
            GcsBucket(bucket="no-such-bucket-hw", gcp_credentials=GcpCredentials(endpoint=endpoint)).check()
    assert [path.split("?")[0] for path in requests_seen] == [
        f"/storage/v1/b/{gcs_bucket_name}", f"/storage/v1/b/{gcs_bucket_name}", "/storage/v1/b/no-such-bucket-hw"]


def test_a_host_name_that_does_not_resolve_is_an_unreachable_endpoint() -> None:
    """What http.client raises when the endpoint's name does not resolve (no lookup is made here)."""
    from headwater_gcs._translate import Where, translate

    error = translate(socket.gaierror(-2, "Name or service not known"), "download",
                      Where("http://gcs.example.invalid:4443", "b", "k.txt"))
    assert isinstance(error, ConnectionFailedError)
    assert str(error).startswith("cannot download gs://b/k.txt (endpoint http://gcs.example.invalid:4443): "
                                 "the endpoint cannot be reached (Name or service not known); ")


def test_credentials_check_lists_buckets_on_the_emulator(gcs_server: Any) -> None:
    GcpCredentials(endpoint=gcs_server.endpoint).check()
    endpoint = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ConnectionFailedError) as info:
        GcpCredentials(endpoint=endpoint).check()
    assert str(info.value).startswith(f"cannot check the credentials against GCS (endpoint {endpoint}): "
                                      "the endpoint cannot be reached (Connection refused)")


@pytest.fixture
def token_service() -> Iterator[tuple[str, list[dict[str, str]], list[bool]]]:
    """A loopback OAuth2 token endpoint: grants a token while ``accept[0]`` is true, else
    answers invalid_grant as Google does for a revoked key; ``grants`` records each request."""
    import base64
    import json
    from urllib.parse import parse_qsl

    grants: list[dict[str, str]] = []
    accept = [True]

    class Token(_LoopbackHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
            claims = json.loads(base64.urlsafe_b64decode(form["assertion"].split(".")[1] + "=="))
            grants.append({"grant_type": form["grant_type"], "iss": claims["iss"]})
            if accept[0]:
                status, body = 200, {"access_token": "ya29.loopback", "expires_in": 3600, "token_type": "Bearer"}
            else:
                status, body = 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            self.reply(status, json.dumps(body).encode())

    with _serving(Token) as base:
        yield f"{base}/token", grants, accept


def test_credentials_check_asks_for_a_token_and_names_a_refused_key(
        token_service: tuple[str, list[dict[str, str]], list[bool]], service_account_info: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    token_uri, grants, accept = token_service
    creds = GcpCredentials(service_account_info={**service_account_info, "token_uri": token_uri})
    creds.check()
    assert grants == [{"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                       "iss": service_account_info["client_email"]}]
    accept[0] = False
    with pytest.raises(ConnectionFailedError) as info:
        creds.check()
    message = str(info.value)
    assert message.startswith("cannot check the credentials against GCS (endpoint https://storage.googleapis.com")
    assert "Google refused the credentials (invalid_grant: Invalid JWT Signature.)" in message
    assert "BEGIN PRIVATE KEY" not in message and service_account_info["private_key_id"] not in message
    assert len(grants) == 2


def test_bad_bucket_names_are_refused_at_construction() -> None:
    for name in ("", "../../etc passwd", "Has-Upper", "x" * 64, "192.168.1.1", "-dash"):
        with pytest.raises(BlockValidationError, match="bucket"):
            GcsBucket(bucket=name)
