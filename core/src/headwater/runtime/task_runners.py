"""Task runners: where submitted task calls execute.

Writing a runner (for example for Dask)::

    class DaskTaskRunner(TaskRunner):
        def __init__(self, address=None):
            super().__init__()
            self.address = address

        def duplicate(self):
            return DaskTaskRunner(self.address)

        def start(self):
            self._client = distributed.Client(self.address)

        def shutdown(self):
            self._client.close()

        def submit(self, call):
            return self.submit_remote(call, lambda payload: self._client.submit(run_payload, payload, pure=False))

``submit_remote`` waits (without blocking) for the call's upstream futures, resolves them
(``call.resolve_inputs()``: a failed upstream or a cache hit finishes the call here), ships
``call.to_payload()`` (cloudpickle bytes) through ``send``, and wraps the returned future:
its result, the bytes produced by :func:`headwater.runtime.calls.run_payload` in the worker,
carries the final state (result or exception), the run's state transitions and its log lines,
which are replayed into this process's run history when the future completes.
"""

from __future__ import annotations

import concurrent.futures
import copy
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from headwater.runtime.calls import TaskCall, run_payload
from headwater.runtime.futures import HeadwaterFuture

if TYPE_CHECKING:
    from headwater.runtime._threadpool import ThreadPool

__all__ = ["ProcessPoolTaskRunner", "TaskRunner", "ThreadPoolTaskRunner", "resolve_task_runner"]


class TaskRunner:
    """Base class of task runners.

    Lifecycle: a flow run takes ``runner.duplicate()`` (a fresh, unstarted runner with the same
    options) and uses it as a context manager: ``__enter__`` calls :meth:`start`, ``__exit__``
    calls :meth:`shutdown` after the flow has waited for every future.

    Subclasses implement :meth:`submit` (and usually :meth:`start` / :meth:`shutdown` /
    :meth:`duplicate`). In-process runners execute ``call.run()`` (a
    :class:`~headwater.runtime.calls.TaskCall`; it resolves its inputs, retries, caches, records
    history and returns the final State) and wrap the returned future in a
    :class:`~headwater.runtime.futures.HeadwaterFuture`. Out-of-process runners use
    :meth:`submit_remote`.
    """

    def __init__(self) -> None:
        self._started = False

    def duplicate(self) -> TaskRunner:
        """A new, unstarted runner with the same options (one per flow run)."""
        clone = copy.copy(self)
        clone._started = False
        return clone

    def start(self) -> None:
        """Acquire resources (executors, clients, clusters)."""

    def shutdown(self) -> None:
        """Release resources; called after every submitted call has finished."""

    def __enter__(self) -> TaskRunner:
        if not self._started:
            self.start()
            self._started = True
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._started:
            self._started = False
            self.shutdown()

    def cancel_pending(self, message: str) -> int:
        """Cancel the submitted calls that have not started (the flow run was interrupted):
        record each one's task run as ``Cancelled(message)`` and finish its future with that
        state; returns how many. The base runner cannot tell them apart and cancels none."""
        return 0

    def abandon(self) -> None:
        """Stop without waiting for the running calls (the flow run was interrupted twice);
        :meth:`shutdown` then returns at once. The base runner does nothing."""

    def submit(self, call: TaskCall) -> HeadwaterFuture:
        """Start running ``call``; return its future without waiting.

        Args:
            call: The task call. Its ``task_run`` (``.id``, ``.name``) is already created.

        Returns:
            A HeadwaterFuture whose state becomes the call's final state.
        """
        raise NotImplementedError

    def map(self, calls: Sequence[TaskCall]) -> list[HeadwaterFuture]:
        """Submit many calls (override to batch them); returns their futures in order."""
        return [self.submit(c) for c in calls]

    def submit_remote(self, call: TaskCall, send: Callable[[bytes], Any]) -> HeadwaterFuture:
        """Run ``call`` elsewhere: ``send(payload)`` must start ``run_payload(payload)`` in a worker
        and return a future-like object (``result(timeout)``, ``done()``, ``add_done_callback``)
        whose result is ``run_payload``'s bytes. ``send`` is called once the call's upstream
        futures are done (from the thread that completed the last of them)."""
        pending = [f for f in call.upstream_futures() if not f.done()]
        on_crash = _crash_handler(call)
        if not pending:
            try:
                wrapped = _ship(call, send)
            except Exception as exc:
                wrapped = concurrent.futures.Future()
                wrapped.set_exception(exc)
            return HeadwaterFuture(call.task_run, wrapped, call.absorb, on_crash)
        proxy: concurrent.futures.Future[Any] = concurrent.futures.Future()
        lock = threading.Lock()
        remaining = [len(pending)]

        def _relay(inner: Any) -> None:
            try:
                proxy.set_result(inner.result())
            except BaseException as exc:
                proxy.set_exception(exc)

        def _upstream_done(_f: Any) -> None:
            with lock:
                remaining[0] -= 1
                if remaining[0]:
                    return
            try:
                inner = _ship(call, send)
            except BaseException as exc:
                proxy.set_exception(exc)
                return
            inner.add_done_callback(_relay)

        for f in pending:
            f.add_done_callback(_upstream_done)
        return HeadwaterFuture(call.task_run, proxy, call.absorb, on_crash)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _crash_handler(call: TaskCall) -> Callable[[BaseException], Any]:
    """``call.crashed``, except for a call the runner cancelled: its Cancelled state stands."""

    def on_crash(exc: BaseException) -> Any:
        state = getattr(call.task_run, "state", None)
        if isinstance(exc, concurrent.futures.CancelledError) and state is not None and state.is_cancelled():
            return state
        return call.crashed(exc)

    return on_crash


def _cancel_calls(sent: Iterable[tuple[TaskCall, Any]], message: str) -> int:
    """Cancel the sent calls whose executor future has not started; record them Cancelled."""
    import time

    from headwater.runtime import _record
    from headwater.runtime.states import Cancelled

    n = 0
    for call, future in sent:
        tr = call.task_run
        before, tr.state = tr.state, Cancelled(message)  # what the future's callbacks see while it is cancelled
        if future.cancel():
            tr.ended = time.time()
            _record.set_task_state(tr, tr.state)
            n += 1
        else:
            tr.state = before
    return n


def _ship(call: TaskCall, send: Callable[[bytes], Any]) -> Any:
    final = call.resolve_inputs()
    if final is not None:
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()
        done.set_result(final)
        return done
    return send(call.to_payload())


class ThreadPoolTaskRunner(TaskRunner):
    """Runs task calls on a pool of threads in this process (the default).

    Args:
        max_workers: Number of threads (default: ``min(32, cpu_count + 4)``).
    """

    def __init__(self, max_workers: int | None = None) -> None:
        super().__init__()
        self.max_workers = max_workers
        self._executor: ThreadPool | None = None

    def duplicate(self) -> ThreadPoolTaskRunner:
        return ThreadPoolTaskRunner(self.max_workers)

    def start(self) -> None:
        from headwater.runtime._threadpool import ThreadPool

        self._executor = ThreadPool(self.max_workers or min(32, (os.cpu_count() or 1) + 4))

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def submit(self, call: TaskCall) -> HeadwaterFuture:
        if self._executor is None:
            self.__enter__()
        return HeadwaterFuture(call.task_run, self._executor.submit(call.run), None, call.crashed)  # type: ignore[union-attr]

    def abandon(self) -> None:
        """Stop without waiting for the running calls (the flow run was interrupted twice)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def cancel_pending(self, message: str) -> int:
        if self._executor is None:
            return 0
        import time

        from headwater.runtime import _record
        from headwater.runtime.states import Cancelled

        taken = self._executor.take_pending()
        for fn, future in taken:
            state = Cancelled(message)
            tr = getattr(getattr(fn, "__self__", None), "task_run", None)
            if tr is not None:
                tr.ended = time.time()
                _record.set_task_state(tr, state)
            future._finish(state, None)
        return len(taken)

    def map(self, calls: Sequence[TaskCall]) -> list[HeadwaterFuture]:
        if self._executor is None:
            self.__enter__()
        submit = self._executor.submit  # type: ignore[union-attr]
        return [HeadwaterFuture(c.task_run, submit(c.run), None, c.crashed) for c in calls]

    def __repr__(self) -> str:
        return f"ThreadPoolTaskRunner(max_workers={self.max_workers})"


class ProcessPoolTaskRunner(TaskRunner):
    """Runs task calls in worker processes (``spawn``), for CPU-bound Python work.

    Task functions and their arguments and results must be picklable (cloudpickle is used,
    so functions defined in ``__main__`` work). Logs and states travel back to this process.

    Args:
        max_workers: Number of worker processes (default: the number of CPUs).
    """

    def __init__(self, max_workers: int | None = None) -> None:
        super().__init__()
        self.max_workers = max_workers
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._sent: dict[int, tuple[TaskCall, Any]] = {}  # calls in the executor, until done

    def duplicate(self) -> ProcessPoolTaskRunner:
        return ProcessPoolTaskRunner(self.max_workers)

    def start(self) -> None:
        import multiprocessing

        self._sent = {}

        self._executor = concurrent.futures.ProcessPoolExecutor(
            self.max_workers or os.cpu_count() or 1, mp_context=multiprocessing.get_context("spawn")
        )

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def submit(self, call: TaskCall) -> HeadwaterFuture:
        if self._executor is None:
            self.__enter__()
        executor = self._executor
        sent = self._sent

        def send(payload: bytes) -> Any:
            future = executor.submit(run_payload, payload)  # type: ignore[union-attr]
            sent[id(future)] = (call, future)
            future.add_done_callback(lambda f: sent.pop(id(f), None))
            return future

        return self.submit_remote(call, send)

    def cancel_pending(self, message: str) -> int:
        return _cancel_calls(list(self._sent.values()), message)

    def abandon(self) -> None:
        if self._executor is not None:
            # the executor would still wait for its workers at exit: stop them (3.14 has terminate_workers)
            workers = list((getattr(self._executor, "_processes", None) or {}).values())
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            for worker in workers:
                worker.terminate()

    def __repr__(self) -> str:
        return f"ProcessPoolTaskRunner(max_workers={self.max_workers})"


def resolve_task_runner(spec: Any) -> TaskRunner:
    """A runner from a ``task_runner`` option: an instance, a class, or a registered name."""
    if spec is None:
        return ThreadPoolTaskRunner()
    if isinstance(spec, TaskRunner):
        return spec
    if isinstance(spec, type) and issubclass(spec, TaskRunner):
        return spec()
    if isinstance(spec, str):
        from headwater.plugins import task_runner_classes

        found = task_runner_classes().get(spec)
        if found is None:
            from headwater.runtime._errors import RunError

            names = ", ".join(sorted(task_runner_classes())) or "none"
            raise RunError(f"unknown task runner {spec!r}: registered runners are {names}")
        return found[1]()
    from headwater.runtime._errors import RunError

    raise RunError(f"task_runner={spec!r} is not a TaskRunner: use ThreadPoolTaskRunner(), ProcessPoolTaskRunner() or "
                   "a plugin's runner")
