"""A lean JSON-API transport for small objects and streamed downloads.

google-cloud-storage spends about a millisecond of Python per object (Blob objects, retry
wrappers, requests). For folders of small files that cost dominates, so single-request
operations (media upload, media download, object metadata) go straight to the JSON API
over a thread-safe urllib3 pool, authorised by google-auth's own ``AuthorizedHttp``.
Every transfer is checked against the server's CRC32C. Large uploads still use
google-cloud-storage's resumable upload.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable
from typing import IO, Any
from urllib.parse import quote, urlencode

from headwater.errors import HeadwaterError, TransferError

from headwater_gcs._errors import Where, translate

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
        from google.auth.transport.urllib3 import AuthorizedHttp

        self.base = (endpoint or GOOGLE_ENDPOINT).rstrip("/")
        self.display = self.base
        self.retry_timeout = retry_timeout
        self.user_project = user_project
        kwargs: dict[str, Any] = {"maxsize": pool_size, "retries": False,
                                  "timeout": urllib3.Timeout(connect=min(timeout, 10.0), read=timeout)}
        if self.base.startswith("https://"):
            try:
                import certifi

                kwargs["ca_certs"] = certifi.where()
            except ImportError:  # urllib3 then uses the system store
                pass
        self._http = AuthorizedHttp(credentials, http=urllib3.PoolManager(**kwargs))

    # -- plumbing ---------------------------------------------------------------------------

    def _url(self, path: str, query: dict[str, Any] | None = None) -> str:
        query = {k: v for k, v in (query or {}).items() if v is not None}
        if self.user_project:
            query["userProject"] = self.user_project
        return f"{self.base}{path}" + (f"?{urlencode(query)}" if query else "")

    def _request(self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                 stream: bool = False) -> Any:
        """Send with retries on connection errors and 408/429/5xx; return the urllib3 response."""
        import urllib3.exceptions

        deadline = time.monotonic() + self.retry_timeout
        delay = 0.1
        while True:
            try:
                response = self._http.urlopen(method, url, body=body, headers=headers or {},
                                              preload_content=not stream, redirect=False)
            except (urllib3.exceptions.HTTPError, OSError):
                if time.monotonic() + delay > deadline:
                    raise
            else:
                if response.status < 300:
                    return response
                data = response.data if not stream else response.read()
                response.release_conn()
                if response.status not in _RETRY_STATUS or time.monotonic() + delay > deadline:
                    raise _HttpStatusError(response.status, data)
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 5.0)

    def _object_path(self, bucket: str, name: str, upload: bool = False, download: bool = False) -> str:
        prefix = "/upload" if upload else "/download" if download else ""
        if upload:
            return f"{prefix}/storage/v1/b/{quote(bucket, safe='')}/o"
        return f"{prefix}/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}"

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

    def upload_bytes(self, bucket: str, name: str, data: bytes, content_type: str | None = None) -> dict[str, Any]:
        """Upload ``data`` as ``bucket/name`` in one request; returns the object's metadata.

        Raises:
            TransferError: the server's CRC32C differs from the data's (the object is deleted).
        """
        url = self._url(self._object_path(bucket, name, upload=True), {"uploadType": "media", "name": name})
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
        url = self._url(self._object_path(bucket, name, download=True), {"alt": "media"})
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
        url = self._url(self._object_path(bucket, name, download=True), {"alt": "media"})
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

