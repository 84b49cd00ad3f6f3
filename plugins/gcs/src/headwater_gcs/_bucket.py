"""``GcsBucket``: a Google Cloud Storage bucket behind Headwater's object-storage interface."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from headwater.blocks.buckets import BucketStorage, DownloadJob, Receiver, Sender, UploadJob
from headwater.blocks.core import to_thread
from headwater.blocks.object_storage import ProgressCallback, join_key
from headwater.blocks.transfers import ProgressReader, ProgressWriter, replace_atomically
from headwater.errors import HeadwaterError, StorageError, TransferError
from pydantic import Field, field_validator

from headwater_gcs._checksums import local_matches
from headwater_gcs._connection import Connection, connection_for
from headwater_gcs._translate import Where, is_connection_error, translate
from headwater_gcs.credentials import GcpCredentials

if TYPE_CHECKING:
    from google.cloud.storage import Blob, Bucket

    from headwater_gcs._dataframe import DataFrameSerializationFormat

__all__ = ["GcsBucket"]

SMALL_OBJECT_LIMIT = 8 * 1024 * 1024
"""Objects up to this size go up in one request; larger ones use a resumable upload."""
# check() answers a person at a prompt: an endpoint that cannot be reached fails at once, one
# that is busy (429, 5xx) is retried this long at most, and connecting may take this long.
CHECK_RETRY_SECONDS = 5.0
CHECK_CONNECT_TIMEOUT = 5.0


class GcsBucket(BucketStorage):
    """A Google Cloud Storage bucket (or a folder of one) with the object-storage interface.

    Paths given to every method are relative to ``bucket_folder``, which is applied exactly
    once. Folder transfers run ``max_concurrency`` files at a time on one shared client;
    files over 8 MiB are uploaded resumably in ``chunk_size`` pieces; every transfer is
    checked against the server's CRC32C.

    Example:
        >>> lake = GcsBucket.load("lake")                                  # doctest: +SKIP
        >>> lake.download_folder_to_path("daily/2024-06-01", "/tmp/daily")  # doctest: +SKIP
        PosixPath('/tmp/daily')
    """

    _block_description = "A Google Cloud Storage bucket (or a folder of one) with the object-storage interface."
    scheme: ClassVar[str] = "gs"

    bucket: str = Field(description="Name of the bucket.")
    gcp_credentials: GcpCredentials = Field(
        default_factory=GcpCredentials, description="Credentials (and endpoint) used to reach the bucket."
    )
    bucket_folder: str = Field(
        default="", description="Folder inside the bucket that every path is relative to (default: the bucket root)."
    )
    max_concurrency: int = Field(
        default=8, ge=1, le=64, description="How many files folder transfers move at once."
    )
    chunk_size: int | None = Field(
        default=None,
        description=(
            "Chunk size in bytes of resumable uploads (files over 8 MiB), a multiple of 256 KiB; "
            "None uploads each file in one resumable request."
        ),
    )

    @field_validator("chunk_size")
    @classmethod
    def _chunk_multiple(cls, value: int | None) -> int | None:
        if value is not None and (value <= 0 or value % (256 * 1024)):
            raise ValueError("must be a positive multiple of 262144 (256 KiB)")
        return value

    # -- plumbing -----------------------------------------------------------------------------

    def _conn(self) -> Connection:
        return connection_for(self.gcp_credentials, pool_size=self.max_concurrency)

    def _where(self, blob: str | None = None) -> Where:
        return Where(self.gcp_credentials.describe_endpoint(), self.bucket, blob)

    def _is_not_found(self, exc: BaseException) -> bool:
        return getattr(exc, "code", None) == 404

    def _bucket_exists(self) -> bool | None:
        return self._conn().bucket_exists(self.bucket)

    def _translate(self, exc: BaseException, action: str, where: Where, bucket_exists: bool | None) -> HeadwaterError:
        return translate(exc, action, where, bucket_exists=bucket_exists)

    def _bucket_ref(self) -> Bucket:
        return self._conn().client.bucket(self.bucket)

    # -- bucket -------------------------------------------------------------------------------

    def get_bucket(self) -> Bucket:
        """The bucket's ``google.cloud.storage.Bucket`` (fetched, so it must exist).

        Raises:
            ObjectNotFoundError: the bucket does not exist.
        """
        conn = self._conn()
        try:
            return conn.client.get_bucket(self.bucket, retry=conn.retry, timeout=conn.timeout)
        except Exception as exc:
            raise self._fail(exc, "get bucket") from None

    def create_bucket(self, location: str | None = None, **create_kwargs: Any) -> Bucket:
        """Create the bucket.

        Args:
            location: Where, e.g. ``"EU"`` or ``"us-central1"`` (default: Google's default).
            **create_kwargs: Passed to ``google.cloud.storage.Client.create_bucket``.

        Raises:
            StorageError: the bucket already exists or the name is not allowed.
        """
        conn = self._conn()
        try:
            return conn.client.create_bucket(self.bucket, location=location, retry=conn.retry,
                                             timeout=conn.timeout, **create_kwargs)
        except Exception as exc:
            if getattr(exc, "code", None) == 409:
                raise StorageError(f"cannot create bucket {self._where()}: it already exists") from None
            raise self._fail(exc, "create bucket") from None

    def check(self) -> None:
        """Check that the endpoint answers, the credentials work and the bucket exists.

        Unlike transfers, which keep retrying an unreachable endpoint for
        ``GcpCredentials.retry_timeout`` seconds, a check fails at once when the endpoint
        cannot be reached, and retries a busy one (429, 5xx) for at most 5 seconds.

        Raises:
            ObjectNotFoundError: the bucket does not exist.
            ConnectionFailedError: the endpoint cannot be reached or refuses the credentials.
        """
        from google.api_core import exceptions as gexc
        from google.api_core.retry import if_exception_type

        conn = self._conn()
        busy = if_exception_type(gexc.TooManyRequests, gexc.InternalServerError, gexc.BadGateway,
                                 gexc.ServiceUnavailable, gexc.GatewayTimeout)
        retry = conn.retry.with_predicate(busy).with_timeout(min(CHECK_RETRY_SECONDS, conn.retry.timeout))
        try:
            conn.client.get_bucket(self.bucket, retry=retry, timeout=(CHECK_CONNECT_TIMEOUT, conn.timeout))
        except Exception as exc:
            raise self._fail(exc, "get bucket") from None

    # -- listing ------------------------------------------------------------------------------

    def list_blobs(self, folder: str = "") -> list[Blob]:
        """The blobs under ``folder`` (recursively), folder placeholders excluded.

        Returns:
            ``google.cloud.storage.Blob`` objects; their ``name`` is the full name in the bucket.
        """
        conn = self._conn()
        try:
            blobs = list(conn.client.list_blobs(self.bucket, prefix=self._prefix(folder) or None,
                                                retry=conn.retry, timeout=conn.timeout))
        except Exception as exc:
            raise self._fail(exc, "list") from None
        return [blob for blob in blobs if not blob.name.endswith("/")]

    def _list_raw(self, prefix: str, fields: str) -> list[dict[str, Any]]:
        """Like :meth:`list_blobs` (``prefix`` already has ``bucket_folder``), as plain dicts of
        ``fields``: one JSON request per 1,000 objects, no ``Blob`` objects built."""
        conn = self._conn()
        items = conn.api.list(self.bucket, prefix, fields)
        if items is None:
            try:
                blobs = conn.client.list_blobs(
                    self.bucket, prefix=prefix or None, retry=conn.retry, timeout=conn.timeout
                )
                items = [{name: blob._properties.get(name) for name in fields.split(",")} for blob in blobs]
            except Exception as exc:
                raise self._fail(exc, "list") from None
        return [item for item in items if not item["name"].endswith("/")]

    def list_folders(self, folder: str = "") -> list[str]:
        """Every folder (at any depth) below ``folder``, relative to ``bucket_folder``, sorted."""
        found: set[str] = set()
        base = PurePosixPath(join_key(folder)) if join_key(folder) else None
        for blob in self.list_blobs(folder):
            parent = PurePosixPath(self._relative(blob.name)).parent
            while str(parent) not in (".", "") and parent != base:
                found.add(str(parent))
                parent = parent.parent
        return sorted(found)

    def list_objects(self, folder: str = "") -> list[dict[str, Any]]:
        """The objects under ``folder``, as dicts.

        Returns:
            One dict per object: ``key`` (relative to ``bucket_folder``, usable with
            :meth:`read_path`), ``name`` (the full name in the bucket), ``size``,
            ``last_modified`` (a datetime), ``crc32c``, ``md5_hash``, ``generation``,
            ``content_type``.
        """
        return [_describe(blob, self._relative(blob.name)) for blob in self.list_blobs(folder)]

    # -- single objects -----------------------------------------------------------------------

    def read_path(self, path: str) -> bytes:
        """The bytes of the object at ``path``.

        Raises:
            ObjectNotFoundError: no such object (or bucket).
        """
        return self._read(self._key(path))

    def write_path(self, path: str, content: bytes) -> str:
        """Write ``content`` to ``path``; returns the full name of the object written."""
        key = self._key(path)
        self._upload_file_object(io.BytesIO(content), key, len(content), None, {})
        return key

    def upload_from_file_object(
        self, from_file_object: BinaryIO, to_path: str, progress: ProgressCallback | None = None, **upload_kwargs: Any
    ) -> str:
        """Upload the rest of a binary file object to ``to_path``; returns the object's full name."""
        key = self._key(to_path)
        size = _remaining_size(from_file_object)
        if size is None:
            # Resumable uploads need to rewind; a pipe or socket is spooled to a temporary file.
            import shutil
            import tempfile

            with tempfile.SpooledTemporaryFile(max_size=SMALL_OBJECT_LIMIT) as spool:
                try:
                    shutil.copyfileobj(from_file_object, spool, 1024 * 1024)
                except OSError as exc:
                    raise TransferError(f"upload to {self._where(key)} was interrupted by its source "
                                        f"({type(exc).__name__}: {exc}); no object was written") from None
                size = spool.tell()
                spool.seek(0)
                self._upload_file_object(spool, key, size, progress, upload_kwargs)
            return key
        self._upload_file_object(from_file_object, key, size, progress, upload_kwargs)
        return key

    def download_object_to_file_object(
        self, from_path: str, to_file_object: BinaryIO, progress: ProgressCallback | None = None, **download_kwargs: Any
    ) -> BinaryIO:
        """Download the object at ``from_path`` into a binary file object; returns it."""
        self._download(self._key(from_path), to_file_object, progress, download_kwargs)
        return to_file_object

    def upload_from_dataframe(
        self, df: Any, to_path: str, serialization_format: str | DataFrameSerializationFormat = "csv_gzip",
        **upload_kwargs: Any,
    ) -> str:
        """Upload a pandas DataFrame (without its index), as prefect-gcp does; returns the full name.

        Args:
            df: The DataFrame.
            to_path: Destination relative to ``bucket_folder``; its extension is replaced by the
                format's (``.csv``, ``.csv.gz``, ``.parquet``, ``.snappy.parquet``, ``.gz.parquet``).
            serialization_format: ``"csv"``, ``"csv_gzip"`` (default), ``"parquet"``,
                ``"parquet_snappy"``, ``"parquet_gzip"`` or a :class:`DataFrameSerializationFormat`.
            **upload_kwargs: As for :meth:`upload_from_file_object`.
        """
        from headwater_gcs._dataframe import upload_dataframe

        return upload_dataframe(self, df, to_path, serialization_format, upload_kwargs)

    async def aupload_from_dataframe(
        self, df: Any, to_path: str, serialization_format: str | DataFrameSerializationFormat = "csv_gzip",
        **upload_kwargs: Any,
    ) -> str:
        return await to_thread(self.upload_from_dataframe, df, to_path, serialization_format, **upload_kwargs)

    # -- async twins of the GCS-specific methods ------------------------------------------------

    async def aget_bucket(self) -> Bucket:
        return await to_thread(self.get_bucket)

    async def acreate_bucket(self, location: str | None = None, **create_kwargs: Any) -> Bucket:
        return await to_thread(self.create_bucket, location, **create_kwargs)

    async def alist_blobs(self, folder: str = "") -> list[Blob]:
        return await to_thread(self.list_blobs, folder)

    async def alist_folders(self, folder: str = "") -> list[str]:
        return await to_thread(self.list_folders, folder)

    # -- what folder transfers need (BucketStorage runs them) ---------------------------------

    def _list_sizes(self, prefix: str) -> list[tuple[str, int]]:
        return [(item["name"], int(item.get("size") or 0)) for item in self._list_raw(prefix, "name,size")]

    def _remote_checksums(self, prefix: str) -> dict[str, dict[str, Any]]:
        return {item["name"]: {**item, "size": int(item.get("size") or 0)}
                for item in self._list_raw(prefix, "name,size,crc32c,md5Hash")}

    def _unchanged(self, path: Path, size: int, remote: dict[str, Any]) -> bool:
        return local_matches(path, size, remote)

    def _download_one(self, key: str, target: Path, progress: ProgressCallback | None,
                      download_kwargs: dict[str, Any]) -> None:
        replace_atomically(target, lambda fh: self._download(key, fh, progress, download_kwargs))

    def _upload_sender(self, jobs: Sequence[UploadJob], options: Any) -> Sender:
        return lambda path, key, size, report: self._upload_one(path, key, size, report, options)

    def _download_receiver(self, jobs: Sequence[DownloadJob], options: Any) -> Receiver:
        api = self._conn().api

        def fetch(name: str, dest: Path, size: int, report: ProgressCallback | None) -> None:
            if size <= SMALL_OBJECT_LIMIT and not options:
                data = api.read(self.bucket, name)
                if data is None:
                    data = self._read(name)
                replace_atomically(dest, lambda fh: fh.write(data), make_parents=False)
                if report is not None:
                    report(len(data))
                return
            replace_atomically(dest, lambda fh: self._download(name, fh, report, options))

        return fetch

    def _upload_one(self, path: Path, key: str, size: int, progress: ProgressCallback | None,
                      upload_kwargs: dict[str, Any]) -> None:
        try:
            fh = open(path, "rb")
        except OSError as exc:
            raise StorageError(f"cannot read local file {str(path)!r}: {exc.strerror or exc}") from None
        with fh:
            self._upload_file_object(fh, key, size, progress, upload_kwargs)

    def _upload_file_object(self, fh: Any, key: str, size: int | None, progress: ProgressCallback | None,
                            upload_kwargs: dict[str, Any]) -> None:
        conn = self._conn()
        simple = set(upload_kwargs) <= {"content_type"}
        if simple and size is not None and size <= SMALL_OBJECT_LIMIT:
            data = fh.read()
            if conn.api.upload(self.bucket, key, data, upload_kwargs.get("content_type")):
                if progress is not None:
                    progress(len(data))
                return
            fh = io.BytesIO(data)
        blob = self._bucket_ref().blob(key, chunk_size=self.chunk_size)
        source = ProgressReader(fh, progress) if progress is not None else fh
        try:
            # The caller's timeout= / retry= (prefect-gcp passes them through) win over the credentials'.
            blob.upload_from_file(source, size=size, **{"retry": conn.retry, "timeout": conn.timeout, **upload_kwargs})
        except Exception as exc:
            cause = _source_failure(exc)
            if cause is not None:
                # GCS only creates an object once its last byte arrives: nothing is left behind.
                raise TransferError(
                    f"upload to {self._where(key)} was interrupted by its source "
                    f"({type(cause).__name__}: {cause}); no object was written"
                ) from None
            raise self._fail(exc, "upload to", key) from None

    def _read(self, key: str) -> bytes:
        conn = self._conn()
        data = conn.api.read(self.bucket, key)
        if data is not None:
            return data
        try:
            return bytes(self._bucket_ref().blob(key).download_as_bytes(retry=conn.retry, timeout=conn.timeout))
        except Exception as exc:
            raise self._fail(exc, "download", key) from None

    def _download(self, key: str, fh: Any, progress: ProgressCallback | None, download_kwargs: dict[str, Any]) -> None:
        conn = self._conn()
        if not download_kwargs and conn.api.download_to(self.bucket, key, fh.write, progress):
            return
        sink = ProgressWriter(fh, progress) if progress is not None else fh
        try:
            self._bucket_ref().blob(key).download_to_file(
                sink, **{"retry": conn.retry, "timeout": conn.timeout, **download_kwargs})
        except Exception as exc:
            raise self._fail(exc, "download", key) from None


def _source_failure(exc: BaseException) -> OSError | None:
    """The local I/O error behind ``exc`` (google may fail to rewind after it), if any."""
    if is_connection_error(exc):
        return None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and not isinstance(current, io.UnsupportedOperation):
            return current
        current = current.__cause__ or current.__context__
    return None


def _remaining_size(fh: Any) -> int | None:
    try:
        if not fh.seekable():
            return None
        here = fh.tell()
        end = fh.seek(0, os.SEEK_END)
        fh.seek(here)
        return end - here
    except (AttributeError, OSError, ValueError):
        return None


def _describe(blob: Blob, key: str) -> dict[str, Any]:
    updated: datetime | None = blob.updated
    return {
        "key": key,
        "name": blob.name,
        "size": blob.size,
        "last_modified": updated,
        "crc32c": blob.crc32c,
        "md5_hash": blob.md5_hash,
        "generation": blob.generation,
        "content_type": blob.content_type,
    }
