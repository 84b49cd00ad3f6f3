"""A fast path for the many small objects of folder transfers, and for streamed downloads.

google-cloud-storage spends about a millisecond of Python per object (Blob objects, retry
wrappers, requests); for folders of small files that, not the network, caps the rate. For a
plain media upload, whole-object read, listing page or streamed download this module sends
one JSON-API request over keep-alive ``http.client`` connections, authorised by the
google-auth credentials themselves, and checks the data against the server's CRC32C.

It is only an optimisation: anything unusual (an error status, a checksum that differs, a
connection problem before any byte was delivered) returns None or False and the caller
repeats the operation through google-cloud-storage, which retries (``google.api_core``),
refreshes credentials and raises the proper error.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from headwater.errors import TransferError

__all__ = ["GOOGLE_ENDPOINT", "FastPathGcs", "crc32c_b64"]

GOOGLE_ENDPOINT = "https://storage.googleapis.com"
_CHUNK = 1024 * 1024


def crc32c_b64(data: bytes) -> str:
    """The base64 CRC32C of ``data``, as GCS reports it."""
    import google_crc32c

    return base64.b64encode(google_crc32c.Checksum(data).digest()).decode()


class FastPathGcs:
    """Single-request GCS operations on a thread-safe pool of keep-alive connections."""

    def __init__(self, credentials: Any, endpoint: str | None, pool_size: int, timeout: float) -> None:
        from google.auth.transport.requests import Request

        self.base = (endpoint or GOOGLE_ENDPOINT).rstrip("/")
        parts = urlsplit(self.base)
        self._netloc, self._https = parts.netloc, parts.scheme == "https"
        self._credentials, self._auth_request = credentials, Request()
        self._pool_size, self._timeout = pool_size, timeout
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._tls: Any = None

    # -- connections ------------------------------------------------------------------------

    def _new(self) -> http.client.HTTPConnection:
        if not self._https:
            return http.client.HTTPConnection(self._netloc, timeout=self._timeout)
        if self._tls is None:
            import ssl

            import certifi

            self._tls = ssl.create_default_context(cafile=certifi.where())
        return http.client.HTTPSConnection(self._netloc, timeout=self._timeout, context=self._tls)

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection the server has not closed (reused=True), or a new one."""
        from urllib3.util import wait_for_read

        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._new(), False
            try:  # a live idle connection has nothing to read
                if conn.sock is not None and not wait_for_read(conn.sock, timeout=0.0):
                    return conn, True
            except OSError:
                pass
            conn.close()

    def _open(self, method: str, path: str, body: bytes | None = None,
              headers: dict[str, str] | None = None) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        sent = {"Host": self._netloc, **(headers or {})}
        self._credentials.before_request(self._auth_request, method, self.base + path, sent)
        conn, reused = self._take()
        for attempt in (1, 2):
            try:
                conn.request(method, path, body=body, headers=sent)
                return conn, conn.getresponse()
            except ConnectionError:  # closed by the server as we reused it: once more, on a new one
                conn.close()
                if not reused or attempt == 2:
                    raise
                conn = self._new()
            except BaseException:
                conn.close()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _done(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse) -> None:
        with self._lock:
            if not response.will_close and len(self._idle) < self._pool_size:
                self._idle.append(conn)
                return
        conn.close()

    def _call(self, method: str, path: str, body: bytes | None = None,
              headers: dict[str, str] | None = None) -> tuple[Any, bytes] | None:
        """(response headers, body) of a 200 answer; None for anything else."""
        try:
            conn, response = self._open(method, path, body, headers)
            data = response.read()
        except Exception:
            return None
        self._done(conn, response)
        return (response.headers, data) if response.status == 200 else None

    def _media(self, bucket: str, name: str, upload: bool = False) -> str:
        if upload:
            return f"/upload/storage/v1/b/{quote(bucket, safe='')}/o?uploadType=media&name={quote(name, safe='')}"
        return f"/download/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}?alt=media"

    # -- operations -------------------------------------------------------------------------

    def list(self, bucket: str, prefix: str, fields: str) -> list[dict[str, Any]] | None:
        """Metadata (only ``fields``) of every object under ``prefix``; None if not done."""
        found: list[dict[str, Any]] = []
        query = {"fields": f"items({fields}),nextPageToken"}
        if prefix:
            query["prefix"] = prefix
        while True:
            answer = self._call("GET", f"/storage/v1/b/{quote(bucket, safe='')}/o?{urlencode(query)}")
            if answer is None:
                return None
            page = json.loads(answer[1])
            found += page.get("items", ())
            if not page.get("nextPageToken"):
                return found
            query["pageToken"] = page["nextPageToken"]

    def upload(self, bucket: str, name: str, data: bytes, content_type: str | None = None) -> bool:
        """Upload ``data`` as ``bucket/name`` in one request, checked by CRC32C; False if not done."""
        headers = {"Content-Type": content_type or "application/octet-stream"}
        answer = self._call("POST", self._media(bucket, name, upload=True), data, headers)
        return answer is not None and json.loads(answer[1]).get("crc32c") in (None, crc32c_b64(data))

    def read(self, bucket: str, name: str) -> bytes | None:
        """The whole object, checked by CRC32C; None if not done."""
        answer = self._call("GET", self._media(bucket, name))
        if answer is None or not _crc_ok(answer[0], crc32c_b64(answer[1])):
            return None
        return answer[1]

    def download_to(self, bucket: str, name: str, write: Callable[[bytes], Any],
                    progress: Callable[[int], None] | None = None) -> bool:
        """Stream the object into ``write``; False if nothing was written (not done).

        Raises:
            TransferError: the stream broke or its bytes do not match the CRC32C.
        """
        import google_crc32c

        try:
            conn, response = self._open("GET", self._media(bucket, name))
            if response.status != 200:
                response.read()
                self._done(conn, response)
                return False
        except Exception:
            return False
        checksum, total = google_crc32c.Checksum(), 0
        try:
            while chunk := response.read(_CHUNK):
                checksum.update(chunk)
                write(chunk)
                total += len(chunk)
                if progress is not None:
                    progress(len(chunk))
        except Exception as exc:
            conn.close()
            raise TransferError(f"download of gs://{bucket}/{name} (endpoint {self.base}) broke after {total} "
                                f"bytes: {type(exc).__name__}: {exc}; nothing was kept") from None
        self._done(conn, response)
        if not _crc_ok(response.headers, base64.b64encode(checksum.digest()).decode()):
            raise TransferError(f"download of gs://{bucket}/{name} was corrupted in transit (CRC32C mismatch)")
        return True


def _crc_ok(headers: Any, actual: str) -> bool:
    """Whether ``actual`` is the CRC32C the server sent (true when it sent none, or stores the
    object compressed)."""
    if headers.get("x-goog-stored-content-encoding", "identity") != "identity":
        return True
    for part in (headers.get("x-goog-hash") or "").split(","):
        key, _, digest = part.strip().partition("=")
        if key == "crc32c":
            return digest == actual
    return True
