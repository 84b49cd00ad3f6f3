"""``S3Bucket``: an S3 bucket (or a folder of one) behind Headwater's object-storage interface."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, ClassVar

from headwater.blocks.buckets import BucketStorage, DownloadJob, Receiver, Sender, UploadJob
from headwater.blocks.core import to_thread
from headwater.blocks.object_storage import ProgressCallback, contained_path, join_key
from headwater.blocks.transfers import replace_atomically
from headwater.errors import HeadwaterError, StorageError, TransferError
from pydantic import Field

from headwater_aws._checksums import etag_matches
from headwater_aws._fast_path import FastPathS3
from headwater_aws._translate import Where, error_code, is_connection_error, translate
from headwater_aws.credentials import AwsCredentials, MinIOCredentials

__all__ = ["S3Bucket"]

MiB = 1024 * 1024
_IO_CHUNKSIZE = MiB  # see S3Bucket._transfer_config
_IO_QUEUE = 25
_PARTS_PER_FILE_IN_FOLDERS = 4
FAST_PATH_LIMIT = 1024 * 1024
"""Files up to this size in folder transfers take the fast request path (see ``_fast_path``)."""


class S3Bucket(BucketStorage):
    """An S3 bucket (or a folder of one) with the object-storage interface.

    Every path given to a method is relative to ``bucket_folder``, which is applied exactly
    once; returned keys are full keys in the bucket. Folder transfers move ``max_concurrency``
    files at a time on one shared client; files over ``multipart_threshold`` go through boto3's
    managed multipart transfer (an upload that fails is aborted, so no partial object is left).

    Example:
        >>> raw = S3Bucket(bucket_name="acme-raw", bucket_folder="landing",
        ...                credentials=AwsCredentials.load("prod"))                # doctest: +SKIP
        >>> raw.upload_from_folder("exports/", "2024-06-01", skip_unchanged=True)  # doctest: +SKIP
        'landing/2024-06-01'
    """

    _block_description = "An S3 bucket (or a folder of one) with the object-storage interface."
    scheme: ClassVar[str] = "s3"

    bucket_name: str = Field(description="Name of the bucket.")
    credentials: AwsCredentials | MinIOCredentials = Field(
        default_factory=AwsCredentials, description="Credentials (and endpoint) used to reach the bucket."
    )
    bucket_folder: str = Field(
        default="", description="Folder inside the bucket that every path is relative to (default: the bucket root)."
    )
    max_concurrency: int = Field(default=16, ge=1, le=128, description="How many files folder transfers move at once.")
    multipart_threshold: int = Field(
        default=8 * MiB, ge=5 * MiB, description="Files of at least this many bytes are uploaded/downloaded in parts."
    )
    multipart_chunksize: int = Field(
        default=8 * MiB, ge=5 * MiB, description="Size in bytes of each part of a multipart transfer."
    )
    lean_requests: bool = Field(
        default=True,
        description=(
            "Send the small files of big folder transfers as lean signed requests on the client's HTTP session "
            "(falling back to boto3 on anything unexpected); False always uses boto3's full call path."
        ),
    )

    # -- plumbing -----------------------------------------------------------------------------

    def _client(self) -> Any:
        return self.credentials.get_client("s3", max_pool_connections=max(10, 2 * self.max_concurrency))

    def _transfer_config(self, threads: int | None = None) -> Any:
        from boto3.s3.transfer import TransferConfig

        # Downloads hand the body from the network threads to the writer thread in io_chunksize
        # pieces: 1 MiB pieces instead of boto3's 256 KiB take ~20 % less CPU on a 50 MB download
        # (bench/s3.py); 25 queued pieces keep boto3's default bound of 25 MiB held in memory.
        return TransferConfig(
            multipart_threshold=self.multipart_threshold,
            multipart_chunksize=self.multipart_chunksize,
            max_concurrency=threads or 10,
            io_chunksize=_IO_CHUNKSIZE,
            max_io_queue=_IO_QUEUE,
            use_threads=True,
        )

    def _where(self, key: str | None = None) -> Where:
        return Where(self.credentials.describe_endpoint(), self.bucket_name, key,
                     getattr(self.credentials, "aws_access_key_id", None)
                     or getattr(self.credentials, "minio_root_user", None))

    def _bucket_exists(self) -> bool | None:
        try:
            self._client().head_bucket(Bucket=self.bucket_name)
            return True
        except Exception as exc:
            return False if error_code(exc) in {"404", "NoSuchBucket", "NotFound"} else None

    def _is_not_found(self, exc: BaseException) -> bool:
        return error_code(exc) in {"404", "NoSuchKey", "NotFound"}

    def _translate(self, exc: BaseException, action: str, where: Where, bucket_exists: bool | None) -> HeadwaterError:
        return translate(exc, action, where, bucket_exists=bucket_exists)

    # -- bucket -------------------------------------------------------------------------------

    def check(self) -> None:
        """Check that the endpoint answers, accepts the credentials and has the bucket.

        Raises:
            ObjectNotFoundError: the bucket does not exist.
            ConnectionFailedError: the endpoint cannot be reached or refuses the credentials.
        """
        try:
            self._client().head_bucket(Bucket=self.bucket_name)
        except Exception as exc:
            raise self._fail(exc, "reach") from None

    def create_bucket(self, exist_ok: bool = False) -> str:
        """Create the bucket (in the credentials' region); returns its name.

        Raises:
            StorageError: it exists (and ``exist_ok`` is False) or the name is not allowed.
        """
        client = self._client()
        kwargs: dict[str, Any] = {"Bucket": self.bucket_name}
        region = client.meta.region_name
        if region and region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            client.create_bucket(**kwargs)
        except Exception as exc:
            if error_code(exc) in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                if exist_ok:
                    return self.bucket_name
                raise StorageError(f"cannot create {self._where()}: the bucket already exists") from None
            raise self._fail(exc, "create") from None
        return self.bucket_name

    def abort_incomplete_uploads(self, folder: str = "", older_than_seconds: float = 0) -> int:
        """Abort the bucket's incomplete multipart uploads under ``folder`` (their stored parts
        are deleted); returns how many were aborted.

        An upload interrupted while the server was unreachable cannot be aborted at the time;
        this cleans such leftovers up (as would an ``AbortIncompleteMultipartUpload`` lifecycle rule).

        Args:
            folder: Folder relative to ``bucket_folder`` (default: all of it).
            older_than_seconds: Leave uploads started less than this many seconds ago alone
                (they may still be running).
        """
        import time

        client = self._client()
        cutoff = time.time() - older_than_seconds
        aborted = 0
        try:
            pages = client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket_name, Prefix=self._prefix(folder)
            )
            for upload in (u for page in pages for u in page.get("Uploads", [])):
                if upload["Initiated"].timestamp() <= cutoff:
                    client.abort_multipart_upload(
                        Bucket=self.bucket_name, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted += 1
        except Exception as exc:
            raise self._fail(exc, "abort incomplete uploads in") from None
        return aborted

    # -- listing ------------------------------------------------------------------------------

    def list_objects(
        self, folder: str = "", delimiter: str = "", page_size: int | None = None,
        max_items: int | None = None, jmespath_query: str | None = None,
    ) -> list[dict[str, Any]]:
        """The objects under ``folder`` (recursively unless ``delimiter`` is given).

        Args:
            folder: Folder relative to ``bucket_folder`` (default: all of it).
            delimiter: E.g. ``"/"`` to list only the folder's direct children.
            page_size: Objects per request.
            max_items: Stop after this many objects.
            jmespath_query: A JMESPath query applied to each page (as in prefect-aws); the
                matching items are returned as they are.

        Returns:
            One dict per object: boto3's fields (``Key``, ``Size``, ``LastModified``, ``ETag``,
            ...) plus ``key`` (relative to ``bucket_folder``, usable with :meth:`read_path`),
            ``name`` (the full key), ``size``, ``last_modified`` and ``etag``.
        """
        client = self._client()
        params: dict[str, Any] = {"Bucket": self.bucket_name, "Prefix": self._prefix(folder)}
        if delimiter:
            params["Delimiter"] = delimiter
        paging = {k: v for k, v in (("PageSize", page_size), ("MaxItems", max_items)) if v}
        try:
            pages = client.get_paginator("list_objects_v2").paginate(**params, PaginationConfig=paging)
            if jmespath_query:
                return list(pages.search(jmespath_query))
            items = [obj for page in pages for obj in page.get("Contents", [])]
        except Exception as exc:
            raise self._fail(exc, "list") from None
        return [self._describe(obj) for obj in items if not obj["Key"].endswith("/")]

    def _describe(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {
            **obj, "key": self._relative(obj["Key"]), "name": obj["Key"], "size": obj.get("Size"),
            "last_modified": obj.get("LastModified"), "etag": (obj.get("ETag") or "").strip('"'),
        }

    # -- single objects -----------------------------------------------------------------------

    def read_path(self, path: str) -> bytes:
        """The bytes of the object at ``path``.

        Raises:
            ObjectNotFoundError: no such object (or bucket).
        """
        key = self._key(path)
        try:
            return self._client().get_object(Bucket=self.bucket_name, Key=key)["Body"].read()
        except Exception as exc:
            raise self._fail(exc, "read", key) from None

    def write_path(self, path: str, content: bytes) -> str:
        """Write ``content`` to ``path``; returns the full key written."""
        key = self._key(path)
        try:
            self._client().put_object(Bucket=self.bucket_name, Key=key, Body=content)
        except Exception as exc:
            raise self._fail(exc, "write", key) from None
        return key

    def upload_from_file_object(
        self, from_file_object: BinaryIO, to_path: str, progress: ProgressCallback | None = None, **upload_kwargs: Any
    ) -> str:
        """Upload the rest of a binary file object to ``to_path``; returns the full key."""
        key = self._key(to_path)
        extra, progress, config = _transfer_args(upload_kwargs, progress)
        try:
            self._client().upload_fileobj(from_file_object, self.bucket_name, key, ExtraArgs=extra or None,
                                          Callback=progress, Config=config or self._transfer_config())
        except Exception as exc:
            raise self._fail(exc, "upload to", key) from None
        return key

    def download_object_to_file_object(
        self, from_path: str, to_file_object: BinaryIO, progress: ProgressCallback | None = None, **download_kwargs: Any
    ) -> BinaryIO:
        """Download the object at ``from_path`` into a binary file object; returns it."""
        key = self._key(from_path)
        extra, progress, config = _transfer_args(download_kwargs, progress)
        try:
            self._client().download_fileobj(self.bucket_name, key, to_file_object, ExtraArgs=extra or None,
                                            Callback=progress, Config=config or self._transfer_config())
        except Exception as exc:
            raise self._fail(exc, "download", key) from None
        return to_file_object

    def copy_object(
        self, from_path: str, to_path: str, to_bucket: S3Bucket | str | None = None, **copy_kwargs: Any
    ) -> str:
        """Copy an object on the server side (large objects in parts); returns the target key.

        Args:
            from_path: Source, relative to ``bucket_folder``.
            to_path: Target: relative to ``bucket_folder`` (same bucket), to the other
                ``S3Bucket``'s ``bucket_folder``, or a full key when ``to_bucket`` is a name.
            to_bucket: Another ``S3Bucket`` or bucket name (default: this bucket).
            **copy_kwargs: S3 arguments such as ``MetadataDirective=...`` or ``ExtraArgs={...}``.
        """
        source = self._key(from_path)
        bucket, target = self._target(to_path, to_bucket)
        try:
            self._client().copy({"Bucket": self.bucket_name, "Key": source}, bucket, target,
                                ExtraArgs=_extra_args(copy_kwargs) or None, Config=self._transfer_config())
        except Exception as exc:
            raise self._fail(exc, f"copy to s3://{bucket}/{target} from", source) from None
        return target

    def move_object(self, from_path: str, to_path: str, to_bucket: S3Bucket | str | None = None) -> str:
        """Move an object (server-side copy, then delete the source); returns the target key.

        Raises:
            StorageError: the copy succeeded but the source could not be deleted (both exist).
        """
        target = self.copy_object(from_path, to_path, to_bucket)
        source = self._key(from_path)
        try:
            self._client().delete_object(Bucket=self.bucket_name, Key=source)
        except Exception as exc:
            reason = translate(exc, "delete", self._where(source))
            raise StorageError(
                f"copied {self._where(source)} to {target!r} but could not delete the source: {reason}"
            ) from None
        return target

    def _target(self, to_path: str, to_bucket: S3Bucket | str | None) -> tuple[str, str]:
        if isinstance(to_bucket, S3Bucket):
            return to_bucket.bucket_name, to_bucket._key(to_path)
        if isinstance(to_bucket, str):
            return to_bucket, join_key(contained_path(to_path))
        return self.bucket_name, self._key(to_path)

    def stream_from(self, bucket: S3Bucket, from_path: str, to_path: str | None = None, **upload_kwargs: Any) -> str:
        """Stream an object of another ``S3Bucket`` (other credentials allowed) into this one
        without touching the disk; returns the full key written."""
        source = bucket._key(from_path)
        key = self._key(to_path or PurePosixPath(from_path).name)
        try:
            body = bucket._client().get_object(Bucket=bucket.bucket_name, Key=source)["Body"]
        except Exception as exc:
            raise bucket._fail(exc, "stream", source) from None
        extra, progress, config = _transfer_args(upload_kwargs, None)
        try:
            self._client().upload_fileobj(body, self.bucket_name, key, ExtraArgs=extra or None, Callback=progress,
                                          Config=config or self._transfer_config())
        except Exception as exc:
            raise self._fail(exc, f"stream s3://{bucket.bucket_name}/{source} to", key) from None
        finally:
            body.close()
        return key

    # -- what folder transfers need (BucketStorage runs them) --------------------------------------

    def _list_raw(self, prefix: str) -> list[dict[str, Any]]:
        try:
            pages = self._client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket_name, Prefix=prefix)
            return [obj for page in pages for obj in page.get("Contents", []) if not obj["Key"].endswith("/")]
        except Exception as exc:
            raise self._fail(exc, "list") from None

    def _list_sizes(self, prefix: str) -> list[tuple[str, int]]:
        return [(obj["Key"], int(obj.get("Size") or 0)) for obj in self._list_raw(prefix)]

    def _remote_checksums(self, prefix: str) -> dict[str, dict[str, Any]]:
        return {obj["Key"]: obj for obj in self._list_raw(prefix)}

    def _unchanged(self, path: Path, size: int, remote: dict[str, Any]) -> bool:
        if int(remote.get("Size", -1)) != size:
            return False

        def part_sizes() -> Iterator[int]:
            yield self.multipart_chunksize
            yield 8 * MiB  # boto3's default, for objects uploaded by other tools
            try:  # the object's first part tells the part size its uploader used
                head = self._client().head_object(Bucket=self.bucket_name, Key=remote["Key"], PartNumber=1)
                yield int(head["ContentLength"])
            except Exception:
                return

        return etag_matches(path, remote.get("ETag") or "", part_sizes())

    def _transfer_options(
        self, kwargs: dict[str, Any], progress: ProgressCallback | None
    ) -> tuple[Any, ProgressCallback | None]:
        extra, progress, config = _transfer_args(kwargs, progress)
        return (extra, config or self._transfer_config(threads=_PARTS_PER_FILE_IN_FOLDERS)), progress

    def _upload_one(self, source: Path, key: str, size: int, progress: ProgressCallback | None,
                    upload_kwargs: dict[str, Any]) -> None:
        extra, progress, config = _transfer_args(upload_kwargs, progress)
        self._upload_file(self._client(), source, key, size, progress, extra, config or self._transfer_config())

    def _download_one(self, key: str, target: Path, progress: ProgressCallback | None,
                      download_kwargs: dict[str, Any]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        extra, progress, config = _transfer_args(download_kwargs, progress)
        try:  # boto3 writes a temporary file and renames it once complete
            self._client().download_file(self.bucket_name, key, str(target), ExtraArgs=extra or None,
                                         Callback=progress, Config=config or self._transfer_config())
        except Exception as exc:
            raise self._fail(exc, "download", key) from None

    def _fast_path(self, client: Any, extra: dict[str, Any]) -> FastPathS3 | None:
        """The fast path, for folder transfers with no extra S3 arguments."""
        if extra or not self.lean_requests:
            return None
        fast = FastPathS3(client, self.bucket_name)
        return fast if fast.usable else None

    def _upload_sender(self, jobs: Sequence[UploadJob], options: Any) -> Sender:
        extra, config = options
        client = self._client()
        fast = self._fast_path(client, extra)
        threshold = getattr(config, "multipart_threshold", self.multipart_threshold)
        large = {key for _path, key, size in jobs if size >= threshold}
        if large:  # a retry of an interrupted transfer: its earlier multipart uploads go first
            try:
                self._abort_uploads_of(client, large, before=time.time())
            except Exception:  # best effort: e.g. no permission to list multipart uploads
                pass

        def send(path: Path, key: str, size: int, report: ProgressCallback | None) -> None:
            self._upload_file(client, path, key, size, report, extra, config, fast)

        return send

    def _download_receiver(self, jobs: Sequence[DownloadJob], options: Any) -> Receiver:
        extra, config = options
        client = self._client()
        fast = self._fast_path(client, extra)
        threshold = getattr(config, "multipart_threshold", self.multipart_threshold)

        def fetch(key: str, dest: Path, size: int, report: ProgressCallback | None) -> None:
            data = fast.get(key) if fast is not None and size <= FAST_PATH_LIMIT else None
            try:
                if data is None and size < threshold:
                    data = client.get_object(Bucket=self.bucket_name, Key=key, **extra)["Body"].read()
                if data is None:
                    client.download_file(self.bucket_name, key, str(dest), ExtraArgs=extra or None, Callback=report,
                                         Config=config)
                    return
            except Exception as exc:
                raise self._fail(exc, "download", key) from None
            replace_atomically(dest, lambda fh: fh.write(data), make_parents=False)
            if report is not None:
                report(size)

        return fetch

    def _abandon_uploads(self, keys: set[str], started: float) -> None:
        self._abort_uploads_of(self._client(), keys, after=started - 5)

    def _abort_uploads_of(self, client: Any, keys: set[str], after: float = 0.0, before: float | None = None) -> int:
        """Abort the incomplete multipart uploads of ``keys`` initiated between ``after`` and ``before``."""
        prefix = os.path.commonprefix(sorted(keys)) if keys else ""
        aborted = 0
        pages = client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket_name, Prefix=prefix)
        for upload in (u for page in pages for u in page.get("Uploads", [])):
            initiated = upload["Initiated"].timestamp()
            if upload["Key"] in keys and initiated >= after and (before is None or initiated < before):
                client.abort_multipart_upload(Bucket=self.bucket_name, Key=upload["Key"], UploadId=upload["UploadId"])
                aborted += 1
        return aborted

    def _upload_file(
        self, client: Any, source: Path, key: str, size: int, progress: ProgressCallback | None,
        extra: dict[str, Any], config: Any, fast: FastPathS3 | None = None,
    ) -> None:
        """Upload one local file: a single PUT below the multipart threshold, else a managed
        multipart upload that is aborted on failure."""
        if fast is not None and size <= FAST_PATH_LIMIT and fast.put(key, source.read_bytes()):
            if progress is not None:
                progress(size)
            return
        if size < getattr(config, "multipart_threshold", self.multipart_threshold):
            try:
                with open(source, "rb") as body:
                    client.put_object(Bucket=self.bucket_name, Key=key, Body=body, **extra)
            except Exception as exc:
                raise self._fail(exc, "upload to", key) from None
            if progress is not None:
                progress(size)
            return
        sent = [0]
        lock = threading.Lock()

        def count(nbytes: int) -> None:
            with lock:
                sent[0] += nbytes
            if progress is not None:
                progress(nbytes)

        started = time.time()
        try:
            client.upload_file(
                str(source), self.bucket_name, key, ExtraArgs=extra or None, Callback=count, Config=config
            )
        except Exception as exc:
            reason = translate(exc, "upload to", self._where(key))
            leftover = self._abort_leftovers(client, key, started)
            raise TransferError(
                f"multipart upload of {str(source)!r} to {self._where(key)} failed after {sent[0]} of {size} bytes "
                f"were sent; {leftover}. Cause: {reason}"
            ) from None

    def _abort_leftovers(self, client: Any, key: str, started: float) -> str:
        """Make sure the failed upload's parts are gone; say what the destination holds now."""
        try:
            self._abort_uploads_of(client, {key}, after=started - 5)
        except Exception as exc:
            if is_connection_error(exc):
                return ("no object was written at that key, but the endpoint is unreachable, so the incomplete "
                        "upload's parts may remain stored: remove them with S3Bucket.abort_incomplete_uploads() "
                        "once it is back (or an AbortIncompleteMultipartUpload lifecycle rule)")
            return f"no object was written at that key (checking for leftover parts failed: {type(exc).__name__})"
        return "the incomplete upload was aborted and no object was written at that key"

    # -- async twins of the S3-specific methods ---------------------------------------------------

    async def alist_objects(  # type: ignore[override]
        self, folder: str = "", delimiter: str = "", page_size: int | None = None,
        max_items: int | None = None, jmespath_query: str | None = None,
    ) -> list[dict[str, Any]]:
        return await to_thread(self.list_objects, folder, delimiter, page_size, max_items, jmespath_query)

    async def acopy_object(
        self, from_path: str, to_path: str, to_bucket: S3Bucket | str | None = None, **kw: Any
    ) -> str:
        return await to_thread(self.copy_object, from_path, to_path, to_bucket, **kw)

    async def amove_object(self, from_path: str, to_path: str, to_bucket: S3Bucket | str | None = None) -> str:
        return await to_thread(self.move_object, from_path, to_path, to_bucket)

    async def astream_from(self, bucket: S3Bucket, from_path: str, to_path: str | None = None, **kw: Any) -> str:
        return await to_thread(self.stream_from, bucket, from_path, to_path, **kw)

    async def acreate_bucket(self, exist_ok: bool = False) -> str:
        return await to_thread(self.create_bucket, exist_ok)

    async def aabort_incomplete_uploads(self, folder: str = "", older_than_seconds: float = 0) -> int:
        return await to_thread(self.abort_incomplete_uploads, folder, older_than_seconds)

    async def acheck(self) -> None:
        await to_thread(self.check)


def _transfer_args(
    kwargs: dict[str, Any], progress: ProgressCallback | None,
) -> tuple[dict[str, Any], ProgressCallback | None, Any]:
    """Split boto3 transfer keywords as prefect-aws passes them through (``Callback=``,
    ``Config=TransferConfig(...)``) from S3 arguments; ``Callback`` is called alongside
    ``progress``. Returns (S3 arguments, progress callback, TransferConfig or None)."""
    callback = kwargs.pop("Callback", None)
    config = kwargs.pop("Config", None)
    extra = _extra_args(kwargs)
    if callback is None or progress is None:
        return extra, progress or callback, config
    first, second = progress, callback

    def both(nbytes: int) -> None:
        first(nbytes)
        second(nbytes)

    return extra, both, config


def _extra_args(kwargs: dict[str, Any]) -> dict[str, Any]:
    """S3 arguments from prefect-aws style ``ExtraArgs={...}`` and/or ``ContentType=...`` keywords."""
    extra = dict(kwargs.pop("ExtraArgs", None) or {})
    for name in list(kwargs):
        if name[:1].isupper():
            extra[name] = kwargs.pop(name)
    if kwargs:
        raise TypeError(f"unexpected argument(s) {', '.join(sorted(kwargs))}: pass S3 arguments as ExtraArgs={{...}}")
    return extra
