"""Folder transfers and single-file uploads of :class:`S3Bucket` (kept apart to keep modules small).

Small files go up with one ``put_object`` and come down with one ``get_object`` each, on a
bounded pool of threads sharing the bucket's client; files over the multipart threshold go
through boto3's transfer manager, which uploads parts concurrently and aborts a failed
multipart upload.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from headwater.blocks.object_storage import ProgressCallback, iter_local_files, join_key
from headwater.errors import ObjectNotFoundError, StorageError, TransferError

from headwater_aws._errors import is_connection_error, translate
from headwater_aws._lean import LeanS3
from headwater_aws._transfer import etag_matches, replace_atomically, run_bounded, serialised

if TYPE_CHECKING:
    from headwater_aws._bucket import S3Bucket

__all__ = ["download_folder", "upload_file", "upload_folder"]

_PARTS_PER_FILE_IN_FOLDERS = 4
LEAN_LIMIT = 1024 * 1024
"""Files up to this size in folder transfers take the lean request path (see ``_lean``)."""


def upload_file(
    bucket: S3Bucket, client: Any, source: Path, key: str, size: int, progress: ProgressCallback | None,
    extra: dict[str, Any], config: Any, lean: LeanS3 | None = None,
) -> None:
    """Upload one local file: a single PUT below the multipart threshold, else a managed
    multipart upload that is aborted on failure."""
    if lean is not None and size <= LEAN_LIMIT:
        if lean.put(key, source.read_bytes()):
            if progress is not None:
                progress(size)
            return
    if size < getattr(config, "multipart_threshold", bucket.multipart_threshold):
        try:
            with open(source, "rb") as body:
                client.put_object(Bucket=bucket.bucket_name, Key=key, Body=body, **extra)
        except Exception as exc:
            raise bucket._fail(exc, "upload to", key) from None
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
        client.upload_file(str(source), bucket.bucket_name, key, ExtraArgs=extra or None, Callback=count, Config=config)
    except Exception as exc:
        reason = translate(exc, "upload to", bucket._where(key))
        leftover = _abort_leftovers(bucket, client, key, started)
        raise TransferError(
            f"multipart upload of {str(source)!r} to {bucket._where(key)} failed after {sent[0]} of {size} bytes "
            f"were sent; {leftover}. Cause: {reason}"
        ) from None


def _abort_leftovers(bucket: S3Bucket, client: Any, key: str, started: float) -> str:
    """Make sure the failed upload's parts are gone; say what the destination holds now."""
    try:
        answer = client.list_multipart_uploads(Bucket=bucket.bucket_name, Prefix=key)
        mine = [u for u in answer.get("Uploads", []) if u["Key"] == key and u["Initiated"].timestamp() >= started - 5]
        for upload in mine:
            client.abort_multipart_upload(Bucket=bucket.bucket_name, Key=key, UploadId=upload["UploadId"])
    except Exception as exc:
        if is_connection_error(exc):
            return ("no object was written at that key, but the endpoint is unreachable, so the incomplete upload's "
                    "parts may remain stored: remove them with S3Bucket.abort_incomplete_uploads() once it is back "
                    "(or an AbortIncompleteMultipartUpload lifecycle rule)")
        return f"no object was written at that key (checking for leftover parts failed: {type(exc).__name__})"
    return "the incomplete upload was aborted and no object was written at that key"


def upload_folder(
    bucket: S3Bucket, from_folder: str | os.PathLike[str], to_folder: str | None, skip_unchanged: bool,
    progress: ProgressCallback | None, ignore_file: str | os.PathLike[str] | None, extra: dict[str, Any],
    config: Any = None,
) -> int:
    """Upload every file under ``from_folder`` to ``to_folder``; returns the number of files
    (uploaded or skipped as unchanged)."""
    source = Path(from_folder)
    if not source.is_dir():
        raise ObjectNotFoundError(f"no local folder {str(source)!r} to upload")
    jobs = [(path, bucket._key(join_key(to_folder, rel)), path.stat().st_size)
            for path, rel in iter_local_files(source, ignore_file)]
    if not jobs:
        return 0
    client = bucket._client()
    remote: dict[str, dict[str, Any]] = {}
    if skip_unchanged:
        remote = {obj["Key"]: obj for obj in bucket.list_objects(to_folder or "")}
    config = config or bucket._transfer_config(threads=_PARTS_PER_FILE_IN_FOLDERS)
    report = serialised(progress)
    lean = _lean_for(bucket, client, jobs, extra)

    def send(job: tuple[Path, str, int]) -> None:
        path, key, size = job
        if skip_unchanged and _unchanged(bucket, client, path, size, remote.get(key)):
            if report is not None:
                report(size)
            return
        upload_file(bucket, client, path, key, size, report, extra, config, lean)

    target = bucket._where(bucket._prefix(to_folder) or None)
    run_bounded(jobs, send, bucket.max_concurrency, lambda job: job[0].relative_to(source).as_posix(),
                f"upload of {str(source)!r} to {target}")
    return len(jobs)


def _lean_for(bucket: S3Bucket, client: Any, jobs: list[Any], extra: dict[str, Any]) -> LeanS3 | None:
    """The lean path, for transfers of many files with no extra S3 arguments."""
    if extra or not jobs or not bucket.lean_requests:
        return None
    lean = LeanS3(client, bucket.bucket_name)
    return lean if lean.usable else None


def _unchanged(bucket: S3Bucket, client: Any, path: Path, size: int, remote: dict[str, Any] | None) -> bool:
    if remote is None or int(remote.get("Size", -1)) != size:
        return False

    def part_sizes() -> Iterator[int]:
        yield bucket.multipart_chunksize
        yield 8 * 1024 * 1024  # boto3's default, for objects uploaded by other tools
        try:  # the object's first part tells the part size its uploader used
            head = client.head_object(Bucket=bucket.bucket_name, Key=remote["Key"], PartNumber=1)
            yield int(head["ContentLength"])
        except Exception:
            return

    return etag_matches(path, remote.get("ETag") or "", part_sizes())


def download_folder(
    bucket: S3Bucket, from_folder: str, to_folder: str | os.PathLike[str] | None,
    progress: ProgressCallback | None, extra: dict[str, Any], config: Any = None,
) -> Path:
    """Download every object under ``from_folder`` into ``to_folder``; returns the local folder."""
    target = Path(to_folder) if to_folder is not None else Path(".")
    prefix = bucket._prefix(from_folder)
    jobs = []
    for obj in bucket.list_objects(from_folder):
        rel = PurePosixPath(obj["Key"][len(prefix):])
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise StorageError(
                f"refusing to download {bucket._where(obj['Key'])}: its key leads outside {str(target)!r}"
            )
        jobs.append((obj["Key"], target.joinpath(*rel.parts), int(obj.get("Size") or 0), rel.as_posix()))
    if not jobs:
        raise ObjectNotFoundError(f"no objects under {bucket._where(prefix or None)}")
    target.mkdir(parents=True, exist_ok=True)
    client = bucket._client()
    config = config or bucket._transfer_config(threads=_PARTS_PER_FILE_IN_FOLDERS)
    report = serialised(progress)
    lean = _lean_for(bucket, client, jobs, extra)

    def fetch(job: tuple[str, Path, int, str]) -> None:
        key, dest, size, _rel = job
        data = lean.get(key) if lean is not None and size <= LEAN_LIMIT else None
        if data is not None:
            replace_atomically(dest, lambda fh: fh.write(data))
            if report is not None:
                report(size)
            return
        try:
            if size < getattr(config, "multipart_threshold", bucket.multipart_threshold):
                body = client.get_object(Bucket=bucket.bucket_name, Key=key, **extra)["Body"]
                replace_atomically(dest, lambda fh: fh.write(body.read()))
                if report is not None:
                    report(size)
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                client.download_file(bucket.bucket_name, key, str(dest), ExtraArgs=extra or None, Callback=report,
                                     Config=config)
        except Exception as exc:
            raise bucket._fail(exc, "download", key) from None

    run_bounded(jobs, fetch, bucket.max_concurrency, lambda job: job[3],
                f"download of {bucket._where(prefix or None)} to {str(target)!r}")
    return target.absolute()
