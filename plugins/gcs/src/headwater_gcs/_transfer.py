"""Concurrent folder transfers on a bounded pool, progress plumbing, and change detection."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Sized
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, TypeVar

from headwater.blocks.object_storage import ProgressCallback
from headwater.errors import HeadwaterError, TransferError

__all__ = ["ProgressReader", "ProgressWriter", "local_matches", "replace_atomically", "run_bounded", "safe_progress"]

T = TypeVar("T")


def safe_progress(callback: ProgressCallback | None) -> ProgressCallback | None:
    """Serialise calls to ``callback`` (it is called from worker threads)."""
    if callback is None:
        return None
    lock = threading.Lock()

    def report(nbytes: int) -> None:
        with lock:
            callback(nbytes)

    return report


def run_bounded(
    items: Iterable[T],
    work: Callable[[T], Any],
    max_workers: int,
    describe: Callable[[T], str],
    what: str,
) -> int:
    """Run ``work(item)`` for every item on at most ``max_workers`` threads; return the count.

    Each thread takes the next item from the shared iterator, so nothing is queued ahead
    (huge folders cost no future per file) and the calling thread only waits. On the first
    failure, or if the caller is interrupted, no new item is started; once the running ones
    finish a :class:`TransferError` says how many were done and which failed.
    """
    iterator = iter(items)
    lock = threading.Lock()
    failures: list[tuple[str, BaseException]] = []
    stopped = False

    def drain() -> int:
        count = 0
        while True:
            with lock:
                if stopped or failures:
                    return count
                try:
                    item = next(iterator)
                except StopIteration:
                    return count
            try:
                work(item)
            except BaseException as exc:
                with lock:
                    failures.append((describe(item), exc))
                return count
            count += 1

    workers = max(1, min(max_workers, len(items))) if isinstance(items, Sized) else max(1, max_workers)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="headwater-gcs")
    try:
        futures = [pool.submit(drain) for _ in range(workers)]
        done = sum(future.result() for future in futures)
    except BaseException:
        with lock:
            stopped = True
        raise
    finally:
        pool.shutdown(wait=True)
    if failures:
        first_name, first_exc = failures[0]
        reason = str(first_exc) if isinstance(first_exc, HeadwaterError) else f"{type(first_exc).__name__}: {first_exc}"
        more = f" and {len(failures) - 1} more" if len(failures) > 1 else ""
        error = TransferError(f"{what} stopped after {done} file(s): {first_name} failed{more}: {reason}")
        raise error from None
    return done


class ProgressReader:
    """A read-only file wrapper that reports each read's size to a progress callback."""

    def __init__(self, raw: IO[bytes], progress: ProgressCallback) -> None:
        self._raw = raw
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if data:
            self._progress(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class ProgressWriter:
    """A write-only file wrapper that reports each write's size to a progress callback."""

    def __init__(self, raw: IO[bytes], progress: ProgressCallback) -> None:
        self._raw = raw
        self._progress = progress

    def write(self, data: bytes) -> int:
        written = self._raw.write(data)
        self._progress(len(data))
        return written if written is not None else len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def local_matches(path: Path, size: int, remote: dict[str, Any]) -> bool:
    """Whether the local file has the remote object's size and checksum (CRC32C, else MD5)."""
    if int(remote.get("size", -1)) != size:
        return False
    if remote.get("crc32c"):
        import google_crc32c

        checksum = google_crc32c.Checksum()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                checksum.update(chunk)
        return base64.b64encode(checksum.digest()).decode() == remote["crc32c"]
    if remote.get("md5Hash"):
        digest = hashlib.md5()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                digest.update(chunk)
        return base64.b64encode(digest.digest()).decode() == remote["md5Hash"]
    return False


def replace_atomically(target: Path, write: Callable[[IO[bytes]], Any], make_parents: bool = True) -> None:
    """Call ``write(fh)`` on a temporary file next to ``target``, then rename it into place.

    An interruption leaves ``target`` as it was (the temporary file is removed).
    """
    if make_parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.hw-partial")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
