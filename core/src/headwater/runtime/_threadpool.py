"""The thread pool behind :class:`ThreadPoolTaskRunner`.

``concurrent.futures.ThreadPoolExecutor`` gives every submitted call a ``Future`` holding
its own ``Condition`` (an ``RLock`` plus a waiter list) and wakes a worker through a
``queue.Queue``. For task runs that last microseconds that book-keeping is most of the cost.
Here a call's future is five slots; an ``Event`` is created only when someone waits on a call
that has not finished yet, and workers take calls from a ``SimpleQueue`` (implemented in C).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["CallFuture", "ThreadPool"]

_lock = threading.Lock()  # guards every CallFuture's hand-over; held for a few bytecodes only
_log = logging.getLogger("headwater.runtime")


class CallFuture:
    """The outcome of one call run on a :class:`ThreadPool` (``result``/``done``/callbacks)."""

    __slots__ = ("_value", "_error", "_done", "_event", "_callbacks")

    def __init__(self) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self._done = False
        self._event: threading.Event | None = None
        self._callbacks: list[Callable[[CallFuture], Any]] | None = None

    def _finish(self, value: Any, error: BaseException | None) -> None:
        with _lock:
            self._value, self._error, self._done = value, error, True
            event, callbacks = self._event, self._callbacks
            self._callbacks = None
        if event is not None:
            event.set()
        for fn in callbacks or ():
            try:
                fn(self)
            except Exception:
                _log.exception("a done-callback of a task run failed")

    def done(self) -> bool:
        return self._done

    def result(self, timeout: float | None = None) -> Any:
        """The call's return value (or its exception, raised), waiting up to ``timeout`` seconds."""
        if not self._done:
            with _lock:
                event = None
                if not self._done:
                    event = self._event
                    if event is None:
                        event = self._event = threading.Event()
            if event is not None and not event.wait(timeout):
                raise TimeoutError(f"the call did not finish within {timeout} seconds")
        if self._error is not None:
            raise self._error
        return self._value

    def add_done_callback(self, fn: Callable[[CallFuture], Any]) -> None:
        with _lock:
            if not self._done:
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(fn)
                return
        fn(self)


class ThreadPool:
    """Up to ``max_workers`` threads, started as calls arrive and no idle thread can take them."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "headwater-task") -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self.max_workers = max_workers
        self._prefix = thread_name_prefix
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, fn: Callable[[], Any]) -> CallFuture:
        """Run ``fn()`` on a pool thread; returns its :class:`CallFuture`."""
        if self._closed:
            raise RuntimeError("the task runner's thread pool is shut down")
        future = CallFuture()
        self._queue.put((fn, future))
        if not self._idle.acquire(blocking=False) and len(self._threads) < self.max_workers:
            thread = threading.Thread(target=self._work, name=f"{self._prefix}_{len(self._threads)}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return future

    def _work(self) -> None:
        get, idle = self._queue.get, self._idle
        while True:
            item = get()
            if item is None:
                return
            fn, future = item
            del item
            try:
                value = fn()
            except BaseException as exc:
                future._finish(None, exc)
            else:
                future._finish(value, None)
            fn = future = value = None  # drop references before waiting for the next call
            idle.release()

    def take_pending(self) -> list[tuple[Callable[[], Any], CallFuture]]:
        """Remove the calls that no thread has started yet and return them (``(fn, future)``)."""
        taken, sentinels = [], 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                sentinels += 1
            else:
                taken.append(item)
        for _ in range(sentinels):
            self._queue.put(None)
        return taken

    def shutdown(self, wait: bool = True) -> None:
        """Let the queued calls finish, then stop the threads (joining them when ``wait``)."""
        self._closed = True
        for _ in self._threads:
            self._queue.put(None)
        if wait:
            for thread in self._threads:
                thread.join()
