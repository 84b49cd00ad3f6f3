"""What every bucket block (S3Bucket, GcsBucket) shares: keys under ``bucket_folder``, the path
and bucket-name rules, error translation's skeleton and the concurrent folder transfers.

A bucket block subclasses :class:`BucketStorage` and supplies only what is specific to its
service: how one file goes up (:meth:`BucketStorage._upload_sender`), how one object comes
down (:meth:`BucketStorage._download_receiver`), how to list sizes and checksums, and how its
client's errors read (:meth:`BucketStorage._translate`).
"""

from __future__ import annotations

import os
import re
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from pydantic import field_validator

from headwater.blocks.object_storage import (
    BasepathAlias,
    ObjectStorage,
    ProgressCallback,
    contained_path,
    iter_local_files,
    join_key,
)
from headwater.blocks.transfers import run_bounded, serialised
from headwater.errors import HeadwaterError, ObjectNotFoundError, StorageError

__all__ = [
    "BucketStorage",
    "FolderUpload",
    "Where",
    "check_bucket_name",
    "is_caused_by",
]

UploadJob = tuple[Path, str, int]
"""A local file, the full key it goes to, its size."""
DownloadJob = tuple[str, Path, int, str]
"""A full key, the local file it goes to, its size, its path relative to the folder."""
Sender = Callable[[Path, str, int, "ProgressCallback | None"], None]
Receiver = Callable[[str, Path, int, "ProgressCallback | None"], None]


_BUCKET_RULES = {
    "s3": (re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"),
           "3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"),
    "gs": (re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]"),
           "3 to 63 lowercase letters, digits, dots, hyphens and underscores (up to 222 with dots), "
           "starting and ending with a letter or digit"),
}


def check_bucket_name(name: str, scheme: str) -> str:
    """``name`` if it is a valid bucket name for ``scheme`` (``"s3"`` or ``"gs"``), else ValueError.

    Raises:
        ValueError: the name breaks the service's naming rules (pydantic reports it as a
            field error, which ``Block`` turns into a ``BlockValidationError``).
    """
    pattern, rule = _BUCKET_RULES[scheme]
    dotted_parts_ok = all(0 < len(part) <= 63 for part in name.split("."))
    looks_like_ip = re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name) is not None
    if not pattern.fullmatch(name) or ".." in name or not dotted_parts_ok or looks_like_ip:
        raise ValueError(f"{name!r} is not a valid bucket name: use {rule}")
    return name


def is_caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    """Whether ``exc`` or anything in its chain of causes is one of ``kinds``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, kinds):
            return True
        current = current.__cause__ or current.__context__
    return False


@dataclass(frozen=True)
class Where:
    """What an operation was touching, for error messages: ``s3://bucket/key (endpoint ...)``."""

    endpoint: str
    bucket: str | None = None
    key: str | None = None
    access_key_id: str | None = None
    service: str = "S3"
    """What to name when there is no bucket (``S3``, ``AWS STS``, ``GCS``)."""
    scheme: str = "s3"

    @property
    def blob(self) -> str | None:
        """``key``, under Google's name for it."""
        return self.key

    def __str__(self) -> str:
        if self.bucket and self.key:
            target = f"{self.scheme}://{self.bucket}/{self.key}"
        elif self.bucket:
            target = f"{self.scheme}://{self.bucket}"
        else:
            target = self.service
        return f"{target} (endpoint {self.endpoint})"


@dataclass(frozen=True)
class FolderUpload:
    """What a folder upload did: its destination folder's full key, files sent, files skipped."""

    destination: str
    uploaded: int
    skipped: int

    @property
    def files(self) -> int:
        """Files handled (uploaded or skipped as unchanged)."""
        return self.uploaded + self.skipped


class BucketStorage(BasepathAlias, ObjectStorage):
    """Base of bucket blocks: every path is relative to ``bucket_folder``, applied exactly once."""

    _block_abstract = True
    scheme: ClassVar[str] = "s3"
    """URL scheme of the service's object URLs (``s3``, ``gs``)."""

    bucket_folder: str
    max_concurrency: int

    @field_validator("bucket_folder", check_fields=False)
    @classmethod
    def _normal_folder(cls, value: str) -> str:
        return join_key(value)

    @field_validator("bucket_name", "bucket", check_fields=False)
    @classmethod
    def _valid_bucket_name(cls, value: str) -> str:
        return check_bucket_name(value, cls.scheme)

    # -- what each service supplies -----------------------------------------------------------

    @abstractmethod
    def _where(self, key: str | None = None) -> Where:
        """Endpoint, bucket and key, for messages."""

    @abstractmethod
    def _translate(self, exc: BaseException, action: str, where: Where, bucket_exists: bool | None) -> HeadwaterError:
        """The service client's exception as one Headwater error."""

    @abstractmethod
    def _is_not_found(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a 404 (of the object or of the bucket: :meth:`_fail` tells which)."""

    @abstractmethod
    def _bucket_exists(self) -> bool | None:
        """Whether the bucket exists (None: cannot tell)."""

    @abstractmethod
    def _list_sizes(self, prefix: str) -> list[tuple[str, int]]:
        """(full key, size) of every object under ``prefix``."""

    @abstractmethod
    def _remote_checksums(self, prefix: str) -> dict[str, dict[str, Any]]:
        """Full key -> what :meth:`_unchanged` needs, for every object under ``prefix``."""

    @abstractmethod
    def _unchanged(self, path: Path, size: int, remote: dict[str, Any]) -> bool:
        """Whether the local file has the object's size and checksum."""

    @abstractmethod
    def _upload_one(self, source: Path, key: str, size: int, progress: ProgressCallback | None,
                    upload_kwargs: dict[str, Any]) -> None:
        """Upload one local file with the service's keyword arguments."""

    @abstractmethod
    def _download_one(self, key: str, target: Path, progress: ProgressCallback | None,
                      download_kwargs: dict[str, Any]) -> None:
        """Download one object to a local file that appears only once complete."""

    @abstractmethod
    def _upload_sender(self, jobs: Sequence[UploadJob], options: Any) -> Sender:
        """A function uploading one file of a folder transfer (called from worker threads)."""

    @abstractmethod
    def _download_receiver(self, jobs: Sequence[DownloadJob], options: Any) -> Receiver:
        """A function downloading one object of a folder transfer (called from worker threads)."""

    def _transfer_options(
        self, kwargs: dict[str, Any], progress: ProgressCallback | None
    ) -> tuple[Any, ProgressCallback | None]:
        """The service's options from a transfer's keyword arguments, and the progress callback."""
        return kwargs, progress

    def _abandon_uploads(self, keys: set[str], started: float) -> None:
        """Best effort, after an interrupt: remove what this transfer started (e.g. S3's
        incomplete multipart uploads of ``keys``, started at or after ``started``)."""

    def object_url(self, key: str = "") -> str:
        """``s3://bucket/key`` (``gs://...``) of a full key."""
        return f"{self.scheme}://{self._where().bucket}/{key}"

    # -- keys and errors ------------------------------------------------------------------------

    def _key(self, path: str | os.PathLike[str] | None) -> str:
        return join_key(self.bucket_folder, contained_path(path))

    def _prefix(self, folder: str | None) -> str:
        key = self._key(folder)
        return f"{key}/" if key else ""

    def _relative(self, key: str) -> str:
        base = self._prefix("")
        return key[len(base):] if base and key.startswith(base) else key

    def _fail(self, exc: BaseException, action: str, key: str | None = None) -> HeadwaterError:
        """``exc`` as one Headwater error; a 404 on a key tells a missing bucket from a missing object."""
        exists = self._bucket_exists() if key is not None and self._is_not_found(exc) else None
        return self._translate(exc, action, self._where(key), exists)

    # -- files and folders ------------------------------------------------------------------------

    def upload_from_path(
        self, from_path: str | os.PathLike[str], to_path: str | None = None,
        progress: ProgressCallback | None = None, **upload_kwargs: Any,
    ) -> str:
        """Upload a local file to ``to_path`` (default: the file's name); returns the full key.

        Args:
            from_path: The local file.
            to_path: Destination relative to ``bucket_folder``.
            progress: Called with the number of bytes just sent.
            **upload_kwargs: The service's arguments (S3: ``ContentType=...``, ``ExtraArgs={...}``;
                GCS: ``content_type=...`` and what ``Blob.upload_from_file`` takes).

        Raises:
            ObjectNotFoundError: the local file does not exist.
            TransferError: the upload failed part-way (no object was written).
        """
        source = Path(from_path)
        if not source.is_file():
            raise ObjectNotFoundError(f"no local file {str(source)!r} to upload")
        key = self._key(to_path or source.name)
        self._upload_one(source, key, source.stat().st_size, progress, upload_kwargs)
        return key

    def download_object_to_path(
        self, from_path: str, to_path: str | os.PathLike[str] | None = None,
        progress: ProgressCallback | None = None, **download_kwargs: Any,
    ) -> Path:
        """Download the object at ``from_path`` to a local file (default: its name, here); returns
        the file's absolute path.

        The file appears only once complete (and checked); an interrupted download leaves
        nothing behind.

        Raises:
            ObjectNotFoundError: no such object (or bucket).
        """
        target = Path(to_path) if to_path is not None else Path(PurePosixPath(from_path).name)
        if target.is_dir():
            target = target / PurePosixPath(from_path).name
        self._download_one(self._key(from_path), target, progress, download_kwargs)
        return target.absolute()

    def upload_from_folder(
        self, from_folder: str | os.PathLike[str], to_folder: str | None = None, skip_unchanged: bool = False,
        progress: ProgressCallback | None = None, ignore_file: str | os.PathLike[str] | None = None,
        **upload_kwargs: Any,
    ) -> str | None:
        """Upload every file under ``from_folder``, ``max_concurrency`` at a time.

        Args:
            from_folder: The local folder.
            to_folder: Destination folder relative to ``bucket_folder`` (default: its root).
            skip_unchanged: Skip files whose object already has the same size and checksum.
            progress: Called with the bytes of each file sent (or skipped).
            ignore_file: A ``.gitignore``-style file of patterns to leave out.
            **upload_kwargs: The service's arguments for every file.

        Returns:
            The destination folder's full key, or None if there was nothing to upload.

        Raises:
            TransferError: some files failed; the message lists what was and was not transferred.
        """
        done = self.upload_folder_counted(
            from_folder, to_folder, skip_unchanged, progress, ignore_file, **upload_kwargs
        )
        return done.destination if done.files else None

    def upload_folder_counted(
        self, from_folder: str | os.PathLike[str], to_folder: str | None = None, skip_unchanged: bool = False,
        progress: ProgressCallback | None = None, ignore_file: str | os.PathLike[str] | None = None,
        **upload_kwargs: Any,
    ) -> FolderUpload:
        """:meth:`upload_from_folder`, returning how many files were uploaded and how many skipped.

        An interrupted upload (Ctrl-C) removes, best effort, what it had started (S3's
        incomplete multipart uploads) before the interrupt propagates.
        """
        source = Path(from_folder)
        if not source.is_dir():
            raise ObjectNotFoundError(f"no local folder {str(source)!r} to upload")
        destination = self._key(to_folder)
        jobs = [(path, self._key(join_key(to_folder, rel)), _size(path))
                for path, rel in iter_local_files(source, ignore_file)]
        if not jobs:
            return FolderUpload(destination, 0, 0)
        options, progress = self._transfer_options(upload_kwargs, progress)
        remote = self._remote_checksums(self._prefix(to_folder)) if skip_unchanged else {}
        report = serialised(progress)
        send = self._upload_sender(jobs, options)
        skipped = [0]
        lock = threading.Lock()

        def one(job: UploadJob) -> None:
            path, key, size = job
            if size < 0:  # e.g. a dangling link: fails here, reported with the others
                path.stat()
            known = remote.get(key)
            if known is not None and self._unchanged(path, size, known):
                with lock:
                    skipped[0] += 1
                if report is not None:
                    report(size)
                return
            send(path, key, size, report)

        started = time.time()
        keys = {key for _path, key, _size in jobs}

        def abandon() -> None:
            self._abandon_uploads(keys, started)

        try:
            run_bounded(jobs, one, self.max_concurrency, lambda job: job[0].relative_to(source).as_posix(),
                        f"upload of {str(source)!r} to {self._where(self._prefix(to_folder) or None)}", abandon)
        except BaseException as exc:
            if not isinstance(exc, Exception):  # interrupted: what started since the first pass, too
                try:
                    abandon()
                except Exception:
                    pass
            raise
        return FolderUpload(destination, len(jobs) - skipped[0], skipped[0])

    def put_directory(
        self, local_path: str | os.PathLike[str] | None = None, to_path: str | None = None,
        ignore_file: str | os.PathLike[str] | None = None,
    ) -> int:
        """Copy a local folder (default: the working directory) into the bucket, concurrently;
        returns the number of files copied."""
        return self.upload_folder_counted(local_path or ".", to_path, ignore_file=ignore_file).files

    def download_folder_to_path(
        self, from_folder: str, to_folder: str | os.PathLike[str] | None = None,
        progress: ProgressCallback | None = None, **download_kwargs: Any,
    ) -> Path:
        """Download every object under ``from_folder`` into ``to_folder`` (default: here),
        ``max_concurrency`` at a time; returns the local folder as an absolute path (as Prefect does).

        Each file appears only once complete; an interrupted download leaves no partial file.

        Raises:
            ObjectNotFoundError: there is no object under ``from_folder``.
            StorageError: an object's key would lead outside ``to_folder``.
            TransferError: some objects failed; the message lists what was and was not transferred.
        """
        target = Path(to_folder) if to_folder is not None else Path(".")
        prefix = self._prefix(from_folder)
        jobs: list[DownloadJob] = []
        for key, size in self._list_sizes(prefix):
            rel = PurePosixPath(key[len(prefix):])
            if rel.is_absolute() or ".." in rel.parts or not rel.parts:
                raise StorageError(f"refusing to download {self._where(key)}: its key leads outside {str(target)!r}")
            jobs.append((key, target.joinpath(*rel.parts), size, rel.as_posix()))
        if not jobs:
            raise ObjectNotFoundError(f"no objects under {self._where(prefix or None)}")
        for folder in {dest.parent for _key, dest, _size, _rel in jobs}:
            folder.mkdir(parents=True, exist_ok=True)
        options, progress = self._transfer_options(download_kwargs, progress)
        report = serialised(progress)
        fetch = self._download_receiver(jobs, options)
        run_bounded(jobs, lambda job: fetch(job[0], job[1], job[2], report), self.max_concurrency,
                    lambda job: job[3], f"download of {self._where(prefix or None)} to {str(target)!r}")
        return target.absolute()


def _size(path: Path) -> int:
    """The file's size, or -1 if it cannot be read (the transfer then reports it as failed)."""
    try:
        return path.stat().st_size
    except OSError:
        return -1
