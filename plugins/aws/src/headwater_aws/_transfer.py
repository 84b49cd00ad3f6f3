"""Transfer plumbing: a bounded worker pool with honest failure reports, progress, checksums."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import IO, Any, TypeVar

from headwater.blocks.object_storage import ProgressCallback
from headwater.errors import HeadwaterError, TransferError

__all__ = ["etag_matches", "multipart_etag", "replace_atomically", "run_bounded", "serialised"]

T = TypeVar("T")
_SHOWN = 5


def serialised(callback: ProgressCallback | None) -> ProgressCallback | None:
    """``callback`` behind a lock: transfers call it from several worker threads."""
    if callback is None:
        return None
    lock = threading.Lock()

    def report(nbytes: int) -> None:
        with lock:
            callback(nbytes)

    return report


def run_bounded(
    items: Sequence[T], work: Callable[[T], Any], max_workers: int, name: Callable[[T], str], what: str
) -> int:
    """Run ``work(item)`` for every item on at most ``max_workers`` threads; return how many ran.

    At most ``2 * max_workers`` items are queued at once. After the first failure nothing new
    starts; once the running items finish, a :class:`TransferError` says how many items were
    transferred, which failed (and why) and which were not attempted.
    """
    if max_workers <= 1 or len(items) <= 1:
        return _run_serial(items, work, name, what)
    done: list[T] = []
    failed: list[tuple[T, BaseException]] = []
    pending: dict[Future[Any], T] = {}
    iterator = iter(items)
    exhausted = False
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="headwater-s3") as pool:
        while True:
            while not exhausted and not failed and len(pending) < 2 * max_workers:
                item = next(iterator, _END)
                if item is _END:
                    exhausted = True
                    break
                pending[pool.submit(work, item)] = item  # type: ignore[arg-type]
            if not pending:
                break
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                item = pending.pop(future)
                exc = future.exception()
                if exc is None:
                    done.append(item)
                else:
                    failed.append((item, exc))
    if failed:
        raise _transfer_error(items, done, failed, name, what)
    return len(done)


_END: Any = object()


def _run_serial(items: Sequence[T], work: Callable[[T], Any], name: Callable[[T], str], what: str) -> int:
    done: list[T] = []
    for item in items:
        try:
            work(item)
        except Exception as exc:
            raise _transfer_error(items, done, [(item, exc)], name, what) from None
        done.append(item)
    return len(done)


def _transfer_error(
    items: Sequence[T], done: list[T], failed: list[tuple[T, BaseException]], name: Callable[[T], str], what: str
) -> TransferError:
    finished = {id(i) for i in done} | {id(i) for i, _ in failed}
    untouched = [name(i) for i in items if id(i) not in finished]
    first, exc = failed[0]
    reason = str(exc) if isinstance(exc, HeadwaterError) else f"{type(exc).__name__}: {exc}"
    parts = [f"{what} stopped: {len(done)} of {len(items)} file(s) transferred"]
    failed_names = [name(i) for i, _ in failed]
    parts.append(f"failed: {_listing(failed_names)} ({reason})")
    if untouched:
        parts.append(f"not transferred: {_listing(untouched)}")
    error = TransferError("; ".join(parts))
    error.transferred = [name(i) for i in done]  # type: ignore[attr-defined]
    error.failed = failed_names  # type: ignore[attr-defined]
    error.not_transferred = untouched  # type: ignore[attr-defined]
    return error


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return f"{shown} and {len(names) - _SHOWN} more" if len(names) > _SHOWN else shown


def replace_atomically(target: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Call ``write(fh)`` on a temporary file next to ``target``, then rename it into place.

    An interruption leaves ``target`` as it was and removes the temporary file.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.hw-partial")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _md5s(path: Path, part_size: int) -> list[bytes]:
    digests = []
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(part_size)
            if not chunk:
                break
            digests.append(hashlib.md5(chunk).digest())
    return digests or [hashlib.md5(b"").digest()]


def multipart_etag(path: Path, part_size: int) -> str:
    """The ETag S3 gives ``path`` uploaded in parts of ``part_size`` bytes: md5(part md5s)-N."""
    digests = _md5s(path, part_size)
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"


def etag_matches(path: Path, etag: str, part_sizes: Iterable[int]) -> bool:
    """Whether the local file has this ETag.

    A single-part ETag is the content's MD5. A multipart ETag (``"<md5>-<parts>"``) depends on
    the part size used by whoever uploaded it: each candidate in ``part_sizes`` with the right
    number of parts is tried. Anything else (e.g. SSE-KMS ETags) never matches, so the file is
    uploaded again rather than wrongly skipped.
    """
    etag = etag.strip('"')
    if "-" not in etag:
        digest = hashlib.md5()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                digest.update(chunk)
        return digest.hexdigest() == etag
    _, _, count = etag.rpartition("-")
    if not count.isdigit():
        return False
    size = path.stat().st_size
    tried: set[int] = set()
    for part_size in part_sizes:  # lazily: a later candidate may cost a request
        if part_size in tried or part_size <= 0:
            continue
        tried.add(part_size)
        if -(-size // part_size) == int(count) and multipart_etag(path, part_size) == etag:
            return True
    return False
