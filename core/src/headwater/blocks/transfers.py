"""Transfer plumbing shared by the object-storage blocks: a bounded worker pool that reports
honestly what was and was not transferred, thread-safe progress, and atomic local writes."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, TypeVar

from headwater.errors import HeadwaterError, TransferError

__all__ = ["ProgressReader", "ProgressWriter", "replace_atomically", "run_bounded", "serialised"]

T = TypeVar("T")
_SHOWN = 5
_END: Any = object()

ProgressCallback = Callable[[int], None]


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
    items: Sequence[T], work: Callable[[T], Any], max_workers: int, name: Callable[[T], str], what: str,
    on_interrupt: Callable[[], Any] | None = None,
) -> int:
    """Run ``work(item)`` for every item on at most ``max_workers`` threads; return how many ran.

    Each thread takes the next item from a shared iterator, so nothing is queued ahead (a huge
    folder costs no future per file). After the first failure nothing new starts; once the
    running items finish, a :class:`TransferError` says how many items were transferred, which
    failed (and why) and which were not attempted (also as the error's ``transferred``,
    ``failed`` and ``not_transferred`` lists).

    Args:
        items: What to transfer.
        work: Transfers one item (called from worker threads).
        max_workers: Threads at most.
        name: How an item is named in the error.
        what: The transfer, for the error (``"upload of 'src' to s3://b/x"``).
        on_interrupt: Called at once if the calling thread is interrupted (Ctrl-C) while items
            are running, before waiting for them: a chance to cancel what they started.
    """
    if max_workers <= 1 or len(items) <= 1:
        return _run_serial(items, work, name, what)
    iterator = iter(items)
    lock = threading.Lock()
    done: list[T] = []
    failed: list[tuple[T, BaseException]] = []
    stopped = [False]

    def drain() -> None:
        while True:
            with lock:
                if stopped[0] or failed:
                    return
                item = next(iterator, _END)
            if item is _END:
                return
            try:
                work(item)
            except BaseException as exc:
                with lock:
                    failed.append((item, exc))
                return
            done.append(item)

    workers = min(max_workers, len(items))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="headwater-transfer")
    try:
        for future in [pool.submit(drain) for _ in range(workers)]:
            future.result()
    except BaseException:
        stopped[0] = True
        if on_interrupt is not None:
            _best_effort(on_interrupt)
        raise
    finally:
        pool.shutdown(wait=True)
    if failed:
        raise _transfer_error(items, done, failed, name, what)
    return len(done)


def _best_effort(cleanup: Callable[[], Any]) -> None:
    try:
        cleanup()
    except Exception:  # the interrupt is what the caller must see
        pass


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
    _first, exc = failed[0]
    reason = str(exc) if isinstance(exc, HeadwaterError) else f"{type(exc).__name__}: {exc}"
    failed_names = [name(i) for i, _ in failed]
    parts = [f"{what} stopped: {len(done)} of {len(items)} file(s) transferred",
             f"failed: {_listing(failed_names)} ({reason})"]
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


def replace_atomically(target: Path, write: Callable[[IO[bytes]], Any], make_parents: bool = True) -> None:
    """Call ``write(fh)`` on a temporary file next to ``target``, then rename it into place.

    An interruption leaves ``target`` as it was and removes the temporary file.
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
