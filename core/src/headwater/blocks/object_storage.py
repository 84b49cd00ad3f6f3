"""The object-storage interface shared by LocalFileSystem, S3Bucket and GcsBucket.

A flow written against :class:`ObjectStorage` runs unchanged whether ``Block.load("raw")``
returns a local folder, an S3 bucket or a GCS bucket. Paths are relative to the block's
base (``basepath``, ``bucket_folder``), applied exactly once, always with ``/`` separators.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from headwater.blocks.core import Block, to_thread
from headwater.errors import StorageError

__all__ = [
    "BasepathAlias",
    "ObjectStorage",
    "ProgressCallback",
    "contained_path",
    "iter_local_files",
    "join_key",
    "read_ignore_file",
]

ProgressCallback = Callable[[int], None]
"""Called with the number of bytes just transferred (may be called from worker threads)."""


def join_key(*parts: str | None) -> str:
    """Join object-key parts with single ``/``; empty parts vanish; no leading slash."""
    cleaned = [str(p).replace("\\", "/").strip("/") for p in parts if p not in (None, "")]
    return "/".join(p for p in cleaned if p)


def contained_path(path: str | os.PathLike[str] | None) -> str:
    """``path`` as a key relative to a block's base, refused if it leads outside it.

    Every storage block applies this rule (LocalFileSystem to ``basepath``, the bucket blocks
    to ``bucket_folder``): ``.`` parts vanish and ``..`` goes up one part; going above the
    base raises.

    Raises:
        StorageError: ``path`` climbs above the base (``../x``, ``a/../../x``).
    """
    if path is None:
        return ""
    text = str(path).replace("\\", "/")
    parts: list[str] = []
    for part in text.split("/"):
        if part == "..":
            if not parts:
                raise StorageError(f"path {str(path)!r} is outside the block's base folder; use a path below it")
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts)


def read_ignore_file(ignore_file: str | os.PathLike[str] | None) -> list[str]:
    """Patterns from a ``.gitignore``-style file (comments and blank lines skipped)."""
    if ignore_file is None:
        return []
    lines = Path(ignore_file).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def iter_local_files(
    folder: str | os.PathLike[str], ignore_file: str | os.PathLike[str] | None = None
) -> Iterator[tuple[Path, str]]:
    """Yield ``(path, relative_posix_key)`` for every file under ``folder``, in sorted order,
    skipping what ``ignore_file`` (gitignore-style patterns) excludes."""
    root = Path(folder)
    patterns = read_ignore_file(ignore_file)
    spec = None
    if patterns:
        import pathspec

        spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            rel = path.relative_to(root).as_posix()
            if spec is not None and spec.match_file(rel):
                continue
            yield path, rel


class BasepathAlias:
    """``basepath`` as another name of ``bucket_folder``, as Prefect's bucket blocks have it
    (mix into a storage block whose folder field is ``bucket_folder``)."""

    bucket_folder: str

    def __init__(self, **data: Any) -> None:
        # S3Bucket(basepath="runs") as in prefect-aws: the constructor takes the alias too.
        if "basepath" in data:
            basepath = data.pop("basepath")
            if data.get("bucket_folder") not in (None, "", basepath):
                from headwater.errors import ConfigError

                raise ConfigError(f"basepath={basepath!r} and bucket_folder={data['bucket_folder']!r} name the same "
                                  "folder: pass only one of them")
            data["bucket_folder"] = basepath if basepath is not None else ""
        super().__init__(**data)

    @property
    def basepath(self) -> str:
        """``bucket_folder``, under the name Prefect's storage blocks give it."""
        return self.bucket_folder

    @basepath.setter
    def basepath(self, value: str) -> None:
        self.bucket_folder = value


class ObjectStorage(Block):
    """Abstract base of blocks that store objects (files) under string paths.

    Implementations provide the sync methods; the async twins (``aread_path``, ...) run them
    in a worker thread unless an implementation overrides them.
    """

    _block_abstract = True

    @abstractmethod
    def read_path(self, path: str) -> bytes:
        """Return the bytes of the object at ``path``."""

    @abstractmethod
    def write_path(self, path: str, content: bytes) -> str:
        """Write ``content`` to ``path``; returns the full path/key written."""

    @abstractmethod
    def list_objects(self, folder: str = "") -> list[dict[str, Any]]:
        """List objects under ``folder``: dicts with at least ``key``, ``size``, ``last_modified``."""

    @abstractmethod
    def upload_from_path(self, from_path: str | os.PathLike[str], to_path: str | None = None, **kwargs: Any) -> str:
        """Upload a local file; ``to_path`` defaults to the file's name. Returns the key."""

    @abstractmethod
    def upload_from_file_object(self, from_file_object: BinaryIO, to_path: str, **kwargs: Any) -> str:
        """Upload from a binary file object. Returns the key."""

    @abstractmethod
    def upload_from_folder(
        self,
        from_folder: str | os.PathLike[str],
        to_folder: str | None = None,
        skip_unchanged: bool = False,
        **kwargs: Any,
    ) -> str | None:
        """Upload every file under ``from_folder``; returns the destination folder, or None if empty."""

    @abstractmethod
    def download_object_to_path(self, from_path: str, to_path: str | os.PathLike[str] | None = None,
                                **kwargs: Any) -> Path:
        """Download one object to a local file; returns the local path."""

    @abstractmethod
    def download_object_to_file_object(self, from_path: str, to_file_object: BinaryIO, **kwargs: Any) -> BinaryIO:
        """Download one object into a binary file object."""

    @abstractmethod
    def download_folder_to_path(
        self, from_folder: str, to_folder: str | os.PathLike[str] | None = None, **kwargs: Any
    ) -> Path:
        """Download every object under ``from_folder`` into a local folder; returns it."""

    def get_directory(self, from_path: str | None = None, local_path: str | os.PathLike[str] | None = None) -> Path:
        """Copy a folder of the storage to ``local_path`` (default: the current directory)."""
        return self.download_folder_to_path(from_path or "", local_path or ".")

    def put_directory(
        self,
        local_path: str | os.PathLike[str] | None = None,
        to_path: str | None = None,
        ignore_file: str | os.PathLike[str] | None = None,
    ) -> int:
        """Copy a local folder (default: the current directory) into the storage; returns the
        number of files copied. ``ignore_file`` holds gitignore-style patterns to skip."""
        count = 0
        for path, rel in iter_local_files(local_path or ".", ignore_file):
            self.upload_from_path(path, join_key(to_path, rel))
            count += 1
        return count

    # async twins ---------------------------------------------------------------------------

    async def aread_path(self, path: str) -> bytes:
        return await to_thread(self.read_path, path)

    async def awrite_path(self, path: str, content: bytes) -> str:
        return await to_thread(self.write_path, path, content)

    async def alist_objects(self, folder: str = "") -> list[dict[str, Any]]:
        return await to_thread(self.list_objects, folder)

    async def aupload_from_path(self, from_path: str | os.PathLike[str], to_path: str | None = None, **kw: Any) -> str:
        return await to_thread(self.upload_from_path, from_path, to_path, **kw)

    async def aupload_from_file_object(self, from_file_object: BinaryIO, to_path: str, **kw: Any) -> str:
        return await to_thread(self.upload_from_file_object, from_file_object, to_path, **kw)

    async def aupload_from_folder(self, from_folder: str | os.PathLike[str], to_folder: str | None = None,
                                  skip_unchanged: bool = False, **kw: Any) -> str | None:
        return await to_thread(self.upload_from_folder, from_folder, to_folder, skip_unchanged, **kw)

    async def adownload_object_to_path(self, from_path: str, to_path: str | os.PathLike[str] | None = None,
                                       **kw: Any) -> Path:
        return await to_thread(self.download_object_to_path, from_path, to_path, **kw)

    async def adownload_object_to_file_object(self, from_path: str, to_file_object: BinaryIO, **kw: Any) -> BinaryIO:
        return await to_thread(self.download_object_to_file_object, from_path, to_file_object, **kw)

    async def adownload_folder_to_path(self, from_folder: str, to_folder: str | os.PathLike[str] | None = None,
                                       **kw: Any) -> Path:
        return await to_thread(self.download_folder_to_path, from_folder, to_folder, **kw)

    async def aget_directory(self, from_path: str | None = None,
                             local_path: str | os.PathLike[str] | None = None) -> Path:
        return await to_thread(self.get_directory, from_path, local_path)

    async def aput_directory(self, local_path: str | os.PathLike[str] | None = None, to_path: str | None = None,
                             ignore_file: str | os.PathLike[str] | None = None) -> int:
        return await to_thread(self.put_directory, local_path, to_path, ignore_file)
