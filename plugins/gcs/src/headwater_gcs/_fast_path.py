"""A lean JSON-API transport for small objects and streamed downloads.

google-cloud-storage spends about a millisecond of Python per object (Blob objects, retry
wrappers, requests). For folders of small files that cost dominates, so single-request
operations (media upload, whole-object read, object metadata, delete) go straight to the
JSON API over :class:`_LeanHttp`: keep-alive ``http.client`` connections shared through a
small thread-safe pool, authorised by the google-auth credentials themselves. urllib3 would
cost about as much again per request (URL re-parsing and re-encoding, header dicts, retry
and timeout objects), which is what a folder of 1 KiB files spends most of its client CPU
on. Streamed downloads use google-auth's ``AuthorizedHttp`` over urllib3. Every transfer
is checked against the server's CRC32C. Large uploads still use google-cloud-storage's
resumable upload.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import threading
import time
from collections.abc import Callable
from typing import IO, Any
from urllib.parse import quote, urlencode, urlsplit

from headwater.errors import HeadwaterError, TransferError

from headwater_gcs._translate import Where, translate

__all__ = ["JsonApi", "crc32c_b64"]

GOOGLE_ENDPOINT = "https://storage.googleapis.com"
_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
_READ_CHUNK = 1024 * 1024


class _HttpStatusError(Exception):
    def __init__(self, code: int, body: bytes) -> None:
        self.code = code
        try:
            self.message = json.loads(body)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            self.message = body[:200].decode(errors="replace")
        super().__init__(f"HTTP {code}: {self.message}")


class _Reply:
    """A complete (non-streamed) response: ``status``, ``headers`` (case-insensitive) and ``data``."""

    __slots__ = ("data", "headers", "status")

    def __init__(self, status: int, headers: Any, data: bytes) -> None:
        self.status = status
        self.headers = headers
        self.data = data


class _LeanHttp:
    """Whole-body HTTP/1.1 requests over keep-alive ``http.client`` connections.

    Connections are kept in a LIFO list (at most ``pool_size`` idle ones) and handed to one
    thread at a time, so any number of threads can share it. An idle connection the server
    has closed is detected before reuse (as urllib3 does); a request that fails on a reused
    connection before any response arrives is sent once more on a fresh one. Credentials
    add their headers to every request; a 401 refreshes them and retries (twice at most),
    as google-auth's own transports do.
    """

    _MAX_REFRESH = 2

    def __init__(self, base: str, credentials: Any, auth_request: Any, pool_size: int,
                 connect_timeout: float, read_timeout: float) -> None:
        parts = urlsplit(base)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._https else 80)
        self._host_header = parts.netloc
        self._credentials = credentials
        self._auth_request = auth_request
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._ssl_context: Any = None
        from urllib3.util import wait_for_read

        self._wait_for_read = wait_for_read

    def _new(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if self._https:
            if self._ssl_context is None:
                import ssl

                try:
                    import certifi

                    self._ssl_context = ssl.create_default_context(cafile=certifi.where())
                except ImportError:  # the system store
                    self._ssl_context = ssl.create_default_context()
            conn = http.client.HTTPSConnection(self._host, self._port, timeout=self._connect_timeout,
                                               context=self._ssl_context)
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self._connect_timeout)
        conn.connect()
        conn.sock.settimeout(self._read_timeout)
        return conn

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection still open (reused=True), or a new one."""
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._new(), False
            sock = conn.sock
            if sock is not None:
                try:
                    dropped = self._wait_for_read(sock, timeout=0.0)  # a live idle connection has nothing to read
                except OSError:
                    dropped = True
                if not dropped:
                    return conn, True
            conn.close()

    def _give_back(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self._pool_size:
                self._idle.append(conn)
                return
        conn.close()

    def request(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> _Reply:
        """Send one request to ``url`` (under this origin); return the whole response."""
        target = url[len(self.origin):] or "/"
        for attempt in range(self._MAX_REFRESH + 1):
            sent = dict(headers)
            sent["Host"] = self._host_header
            self._credentials.before_request(self._auth_request, method, url, sent)
            reply = self._send(method, target, body, sent)
            if reply.status != 401 or attempt == self._MAX_REFRESH:
                return reply
            self._credentials.refresh(self._auth_request)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method: str, target: str, body: bytes | None, headers: dict[str, str]) -> _Reply:
        conn, reused = self._take()
        try:
            try:
                conn.request(method, target, body=body, headers=headers)
                response = conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                if not reused:
                    raise
                # The server closed the idle connection as we used it: once more, on a new one.
                conn.close()
                conn = self._new()
                conn.request(method, target, body=body, headers=headers)
                response = conn.getresponse()
            data = response.read()
        except BaseException:
            conn.close()
            raise
        if response.will_close:
            conn.close()
        else:
            self._give_back(conn)
        return _Reply(response.status, response.headers, data)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def crc32c_b64(data: bytes) -> str:
    """The base64 CRC32C of ``data``, as GCS reports it."""
    import google_crc32c

    return base64.b64encode(google_crc32c.Checksum(data).digest()).decode()


class JsonApi:
    """Single-request GCS operations over one shared, thread-safe connection pool.

    Args:
        credentials: google-auth credentials (anonymous for an emulator).
        endpoint: API root (``None``: Google's).
        pool_size: Connections kept per host (at least the transfer concurrency).
        retry_timeout: Seconds to keep retrying transient failures.
        user_project: Project billed for requester-pays buckets.
    """

    def __init__(
        self,
        credentials: Any,
        endpoint: str | None,
        pool_size: int = 16,
        retry_timeout: float = 60.0,
        timeout: float = 60.0,
        user_project: str | None = None,
    ) -> None:
        import urllib3
        from google.auth.transport.urllib3 import AuthorizedHttp, Request

        self.base = (endpoint or GOOGLE_ENDPOINT).rstrip("/")
        self.display = self.base
        self.retry_timeout = retry_timeout
        self.user_project = user_project
        self._quoted_buckets: dict[str, str] = {}
        kwargs: dict[str, Any] = {"maxsize": pool_size, "retries": False,
                                  "timeout": urllib3.Timeout(connect=min(timeout, 10.0), read=timeout)}
        if self.base.startswith("https://"):
            try:
                import certifi

                kwargs["ca_certs"] = certifi.where()
            except ImportError:  # urllib3 then uses the system store
                pass
        pool = urllib3.PoolManager(**kwargs)
        self._http = AuthorizedHttp(credentials, http=pool)
        self._lean = _LeanHttp(self.base, credentials, Request(pool), pool_size,
                               connect_timeout=min(timeout, 10.0), read_timeout=timeout)

    # -- plumbing ---------------------------------------------------------------------------

    def _url(self, path: str, query: dict[str, Any] | None = None) -> str:
        query = {k: v for k, v in (query or {}).items() if v is not None}
        if self.user_project:
            query["userProject"] = self.user_project
        return f"{self.base}{path}" + (f"?{urlencode(query)}" if query else "")

    def _request(self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                 stream: bool = False) -> Any:
        """Send with retries on connection errors and 408/429/5xx.

        Returns:
            With ``stream``, the urllib3 response (read it, then ``release_conn()``); otherwise
            a :class:`_Reply` holding the whole body.
        """
        import urllib3.exceptions

        deadline = time.monotonic() + self.retry_timeout
        delay = 0.1
        while True:
            try:
                if stream:
                    response = self._http.urlopen(method, url, body=body, headers=headers or {},
                                                  preload_content=False, redirect=False)
                else:
                    response = self._lean.request(method, url, body, headers or {})
            except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError):
                if time.monotonic() + delay > deadline:
                    raise
            else:
                if response.status < 300:
                    return response
                if stream:
                    data = response.read()
                    response.release_conn()
                else:
                    data = response.data
                if response.status not in _RETRY_STATUS or time.monotonic() + delay > deadline:
                    raise _HttpStatusError(response.status, data)
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 5.0)

    def _media_url(self, bucket: str, name: str, upload: bool = False) -> str:
        """The URL of a media upload (``name`` as the new object's name) or media download."""
        qbucket = self._quoted_buckets.get(bucket)
        if qbucket is None:
            qbucket = self._quoted_buckets[bucket] = quote(bucket, safe="")
        qname = quote(name, safe="")
        billing = f"&userProject={quote(self.user_project, safe='')}" if self.user_project else ""
        if upload:
            return f"{self.base}/upload/storage/v1/b/{qbucket}/o?uploadType=media&name={qname}{billing}"
        return f"{self.base}/download/storage/v1/b/{qbucket}/o/{qname}?alt=media{billing}"

    def _object_path(self, bucket: str, name: str) -> str:
        """The path of an object's metadata (media URLs come from :meth:`_media_url`)."""
        return f"/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}"

    def _fail(self, exc: BaseException, action: str, bucket: str, name: str | None) -> HeadwaterError:
        where = Where(self.display, bucket, name)
        exists = None
        if getattr(exc, "code", None) == 404 and name is not None:
            exists = self.bucket_exists(bucket)
        return translate(exc, action, where, bucket_exists=exists)

    # -- operations -------------------------------------------------------------------------

    def bucket_exists(self, bucket: str) -> bool | None:
        try:
            self._request("GET", self._url(f"/storage/v1/b/{quote(bucket, safe='')}", {"fields": "name"}))
            return True
        except _HttpStatusError as exc:
            return False if exc.code == 404 else None
        except Exception:
            return None

    def list_objects(self, bucket: str, prefix: str, fields: str = "name,size") -> list[dict[str, Any]]:
        """Metadata (only ``fields``) of every object under ``prefix``, read page by page.

        Raises the transport's exception untranslated (the caller knows what it was doing).
        """
        path = f"/storage/v1/b/{quote(bucket, safe='')}/o"
        found: list[dict[str, Any]] = []
        token = None
        while True:
            query = {"prefix": prefix or None, "pageToken": token, "fields": f"items({fields}),nextPageToken"}
            page = json.loads(self._request("GET", self._url(path, query)).data)
            found += page.get("items", ())
            token = page.get("nextPageToken")
            if not token:
                return found

    def upload_bytes(self, bucket: str, name: str, data: bytes, content_type: str | None = None) -> dict[str, Any]:
        """Upload ``data`` as ``bucket/name`` in one request; returns the object's metadata.

        Raises:
            TransferError: the server's CRC32C differs from the data's (the object is deleted).
        """
        url = self._media_url(bucket, name, upload=True)
        headers = {"Content-Type": content_type or "application/octet-stream"}
        try:
            response = self._request("POST", url, body=data, headers=headers)
            meta = json.loads(response.data)
        except Exception as exc:
            raise self._fail(exc, "upload to", bucket, name) from None
        expected = crc32c_b64(data)
        if meta.get("crc32c") not in (None, expected):
            self.delete(bucket, name)
            raise TransferError(f"upload of gs://{bucket}/{name} was corrupted in transit (CRC32C mismatch); deleted it")
        return meta

    def download_to(self, bucket: str, name: str, sink: IO[bytes] | Callable[[bytes], Any],
                    progress: Callable[[int], None] | None = None) -> int:
        """Stream ``bucket/name`` into ``sink`` (a binary file or a callable); returns its size.

        Raises:
            ObjectNotFoundError: no such object or bucket.
            TransferError: the bytes do not match the server's CRC32C, or the stream broke.
        """
        import google_crc32c

        write = sink if callable(sink) else sink.write
        url = self._media_url(bucket, name)
        try:
            response = self._request("GET", url, stream=True)
        except Exception as exc:
            raise self._fail(exc, "download", bucket, name) from None
        checksum = google_crc32c.Checksum()
        total = 0
        try:
            for chunk in response.stream(_READ_CHUNK, decode_content=False):
                checksum.update(chunk)
                write(chunk)
                total += len(chunk)
                if progress is not None:
                    progress(len(chunk))
        except Exception as exc:
            raise TransferError(
                f"download of gs://{bucket}/{name} (endpoint {self.display}) broke after {total} bytes: "
                f"{translate(exc, 'download', Where(self.display, bucket, name))}"
            ) from None
        finally:
            response.release_conn()
        expected = _crc_from_header(response.headers.get("x-goog-hash"))
        stored_encoding = response.headers.get("x-goog-stored-content-encoding", "identity")
        if expected and stored_encoding == "identity" and base64.b64encode(checksum.digest()).decode() != expected:
            raise TransferError(f"download of gs://{bucket}/{name} was corrupted in transit (CRC32C mismatch)")
        return total

    def read_bytes(self, bucket: str, name: str) -> bytes:
        """The whole object in one read (for small objects), checked against its CRC32C."""
        url = self._media_url(bucket, name)
        try:
            response = self._request("GET", url)
            data = response.data
        except Exception as exc:
            raise self._fail(exc, "download", bucket, name) from None
        expected = _crc_from_header(response.headers.get("x-goog-hash"))
        stored_encoding = response.headers.get("x-goog-stored-content-encoding", "identity")
        if expected and stored_encoding == "identity" and crc32c_b64(data) != expected:
            raise TransferError(f"download of gs://{bucket}/{name} was corrupted in transit (CRC32C mismatch)")
        return data

    def metadata(self, bucket: str, name: str) -> dict[str, Any] | None:
        """The object's metadata, or None if it does not exist."""
        try:
            response = self._request("GET", self._url(self._object_path(bucket, name)))
        except _HttpStatusError as exc:
            if exc.code == 404:
                return None
            raise self._fail(exc, "read metadata of", bucket, name) from None
        except Exception as exc:
            raise self._fail(exc, "read metadata of", bucket, name) from None
        return json.loads(response.data)

    def delete(self, bucket: str, name: str) -> None:
        try:
            self._request("DELETE", self._url(self._object_path(bucket, name)))
        except _HttpStatusError as exc:
            if exc.code != 404:
                raise self._fail(exc, "delete", bucket, name) from None
        except Exception as exc:
            raise self._fail(exc, "delete", bucket, name) from None


def _crc_from_header(value: str | None) -> str | None:
    for part in (value or "").split(","):
        key, _, digest = part.strip().partition("=")
        if key == "crc32c":
            return digest
    return None

