"""One flow run's connection to Dask: client, optional temporary cluster, result collection.

Finished Dask futures are collected by one thread that fetches their outcomes in batches
(one ``gather`` per batch rather than a round trip per task), then completes the
``concurrent.futures.Future`` that the flow's :class:`HeadwaterFuture` waits on.

When the flow run is interrupted (Ctrl-C), :meth:`DaskSession.cancel_pending` first tells every
worker that this session's calls must no longer start, then asks them what they are executing,
then cancels every other call in flight: a call either started before the workers knew (it runs
to its end) or never runs. Whoever takes a call out of ``_inflight`` first (the collector or the
cancel) settles it, so no call is recorded twice.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import re
import threading
import time
from collections.abc import Sequence
from typing import Any

from headwater_dask._cluster import connect, start_cluster
from headwater_dask._worker import RESOLVE_IN_FLOW
from headwater_dask.errors import WorkerDiedError

_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9_.]+")


class _Pending:
    """A call in flight: its Dask future, the proxy the flow waits on, the attempt number."""

    __slots__ = ("call", "proxy", "attempt", "chained")

    def __init__(self, call: Any, proxy: concurrent.futures.Future[Any], attempt: int,
                 chained: tuple[Any, ...] | None = None) -> None:
        self.call = call
        self.proxy = proxy
        self.attempt = attempt
        self.chained = chained  # the call's original inputs while it runs chained


class DaskSession:
    """A started runner's Dask resources; :meth:`close` releases them."""

    def __init__(self, client: Any, cluster: Any | None) -> None:
        import uuid

        from headwater_dask._worker import run_remote

        self.client = client
        self.cluster = cluster
        self.token = uuid.uuid4().hex  # names this session's calls on the workers (see cancel_pending)
        self._run = run_remote
        self._tasks: dict[int, tuple[Any, str, bytes]] = {}
        self._timers: dict[threading.Timer, _Pending] = {}
        self._inflight: dict[str, tuple[Any, _Pending]] = {}  # Dask key -> (its future, the call)
        self._cancelled: str | None = None  # why calls no longer start (the flow run was interrupted)
        self._latest: dict[str, Any] = {}  # task run id -> its latest Dask future (kept for chaining)
        self._done: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._collector = threading.Thread(target=self._collect, name="headwater-dask-collector", daemon=True)
        self._collector.start()

    @classmethod
    def open(cls, address: str | None, cluster_class: Any, cluster_kwargs: dict[str, Any],
             adapt_kwargs: dict[str, Any] | None, client_kwargs: dict[str, Any]) -> DaskSession:
        """Connect to ``address``, or start a temporary cluster and connect to it."""
        if address:
            return cls(connect(address, client_kwargs), None)
        cluster = start_cluster(cluster_class, cluster_kwargs, adapt_kwargs)
        try:
            return cls(connect(cluster, client_kwargs), cluster)
        except BaseException:
            cluster.close()
            raise

    # -- sending --------------------------------------------------------------------------

    def send(self, call: Any, payload: bytes) -> concurrent.futures.Future[Any]:
        """Start ``run_payload(payload)`` on a worker; the returned future gets its outcome bytes."""
        proxy: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._dispatch(_Pending(call, proxy, 1), (payload, None, None))
        return proxy

    def send_ready(self, call: Any) -> concurrent.futures.Future[Any]:
        """Resolve ``call``'s inputs here, then run it on a worker with its task shipped by
        reference; the future gets the outcome bytes (or a final State when it need not run)."""
        pending = _Pending(call, concurrent.futures.Future(), 1)
        args = self._arguments(pending)
        if args is not None:
            self._dispatch(pending, args)
        return pending.proxy

    def send_many(self, calls: Sequence[Any]) -> list[concurrent.futures.Future[Any]]:
        """:meth:`send_ready` for many calls, in one scheduler message."""
        pendings = [_Pending(c, concurrent.futures.Future(), 1) for c in calls]
        if self._cancelled is not None:
            for pending in pendings:
                self._cancel_here(pending)
            return [p.proxy for p in pendings]
        ok: list[_Pending] = []
        columns: list[list[Any]] = [[], [], []]
        for pending in pendings:
            args = self._arguments(pending)
            if args is None:
                continue
            ok.append(pending)
            for column, value in zip(columns, args, strict=True):
                column.append(value)
        if ok:
            try:
                futures = self.client.map(self._run, *columns, [self.token] * len(ok),
                                          key=[_key(p.call, 1) for p in ok], pure=False)
            except BaseException as exc:
                for pending in ok:
                    pending.proxy.set_exception(exc)
                return [p.proxy for p in pendings]
            for fut, pending in zip(futures, ok, strict=True):
                self._track(fut, pending)
        return [p.proxy for p in pendings]

    def send_chained(self, call: Any) -> concurrent.futures.Future[Any] | None:
        """Submit a call whose input futures all come from this session right away, depending
        on their Dask futures; None (nothing sent) when some input is not this session's."""
        from headwater_dask._chain import chain_call, record_lineage, restore
        from headwater_dask._worker import run_chained

        chained = chain_call(call, self._latest)
        if chained is None:
            return None
        chain, waits, saved = chained
        pending = _Pending(call, concurrent.futures.Future(), 1, saved)
        if self._cancelled is not None:
            restore(call, saved)
            self._cancel_here(pending)
            return pending.proxy
        try:
            payload, token, blob = self._pack(call)
        except BaseException as exc:
            pending.proxy.set_exception(exc)
            return pending.proxy
        finally:
            restore(call, saved)
        record_lineage(call, chain.upstream_ids)
        try:
            fut = self.client.submit(run_chained, payload, token, blob, chain.values, waits, self.token,
                                     key=_key(call, 1), pure=False)
        except BaseException as exc:
            pending.proxy.set_exception(exc)
            return pending.proxy
        self._track(fut, pending)
        return pending.proxy

    def _fall_back(self, pending: _Pending) -> None:
        """Run a chained call again with its inputs resolved in this process (in a new thread:
        resolving waits for upstream futures that this collector thread may complete)."""
        retry = _Pending(pending.call, pending.proxy, pending.attempt + 1)

        def go() -> None:
            args = self._arguments(retry)
            if args is not None:
                self._dispatch(retry, args)

        threading.Thread(target=go, name="headwater-dask-resolve", daemon=True).start()

    def _arguments(self, pending: _Pending) -> tuple[Any, ...] | None:
        """``run_remote`` arguments for the call, after resolving its inputs and looking up the
        cache here; None when the pending future is already settled (cached, upstream failed,
        or the call cannot be pickled)."""
        try:
            final = pending.call.resolve_inputs()
            if final is None:
                return self._pack(pending.call)
        except BaseException as exc:
            pending.proxy.set_exception(exc)
            return None
        pending.proxy.set_result(final)
        return None

    def _pack(self, call: Any) -> tuple[Any, ...]:
        """(payload with the task as a reference, token, pickled task) for a resolved call."""
        from headwater_dask._worker import TaskRef

        entry = self._tasks.get(id(call.task))
        if entry is None:
            import uuid

            import cloudpickle

            entry = (call.task, uuid.uuid4().hex, cloudpickle.dumps(call.task))
            self._tasks[id(call.task)] = entry
        task, token, blob = entry
        ref = TaskRef(token)
        tr = call.task_run
        lazy = getattr(tr, "_call", None)  # the run's lazily bound parameters (task, args, kwargs)
        call.task = ref
        if lazy is not None:
            tr._call = (ref, *lazy[1:])
        try:
            payload = call.to_payload()
        finally:
            call.task = task
            if lazy is not None:
                tr._call = lazy
        return (payload, token, blob)

    def _dispatch(self, pending: _Pending, args: tuple[Any, ...]) -> None:
        if self._cancelled is not None:
            self._cancel_here(pending)
            return
        try:
            fut = self.client.submit(self._run, *args, self.token, key=_key(pending.call, pending.attempt),
                                     pure=False)
        except BaseException as exc:
            pending.proxy.set_exception(exc)
            return
        self._track(fut, pending)

    def _track(self, fut: Any, pending: _Pending) -> None:
        self._latest[pending.call.task_run.id] = fut
        self._inflight[fut.key] = (fut, pending)
        fut.add_done_callback(lambda f: self._done.put((f, pending)))

    # -- interrupting ---------------------------------------------------------------------

    def cancel_pending(self, message: str) -> int:
        """The flow run was interrupted: no call of this session starts any more; those in flight
        that no worker is executing are cancelled and recorded ``Cancelled(message)``, the others
        run to their end. Returns how many were cancelled now (calls still waiting for upstream
        results in the flow's process are cancelled when those arrive)."""
        from headwater_dask._worker import mark_cancelled

        self._cancelled = message
        for timer, pending in list(self._timers.items()):  # a crashed call's next attempt
            timer.cancel()
            self._timers.pop(timer, None)
            self._cancel_here(pending)
        try:
            executing = {key for keys in self.client.run(mark_cancelled, self.token, message).values() for key in keys}
        except Exception:  # a worker cannot be asked: cancel nothing there (what runs stays recorded as it ends)
            return 0
        taken = [entry for key in list(self._inflight) if key not in executing
                 for entry in (self._inflight.pop(key, None),) if entry is not None]
        if taken:
            try:
                self.client.cancel([fut for fut, _ in taken], reason="the flow run was interrupted")
            except Exception:
                pass  # the workers will not start them anyway: they know this session is cancelled
        for _fut, pending in taken:
            self._cancel_here(pending)
        return len(taken)

    def abandon(self) -> None:
        """The flow run was interrupted again: stop every call still in flight (the flow records
        them Crashed and stops waiting)."""
        taken = [self._inflight.pop(key, None) for key in list(self._inflight)]
        futures = [entry[0] for entry in taken if entry is not None]
        if futures:
            try:
                self.client.cancel(futures, force=True, reason="the flow run was interrupted twice")
            except Exception:
                pass

    def _cancel_here(self, pending: _Pending) -> None:
        """Record a call that never started as Cancelled and settle its future with that state."""
        from headwater.runtime import _record
        from headwater.runtime.states import Cancelled

        if pending.proxy.done():
            return
        state = Cancelled(self._cancelled or "cancelled")
        tr = pending.call.task_run
        tr.ended = time.time()
        _record.set_task_state(tr, state)
        pending.proxy.set_result(state)

    # -- collecting -----------------------------------------------------------------------

    def _collect(self) -> None:
        get = self._done.get
        while True:
            item = get()
            if item is None:
                return
            batch = [item]
            stop = False
            while True:
                try:
                    more = self._done.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._settle(batch)
            if stop:
                return

    def _settle(self, batch: list[tuple[Any, _Pending]]) -> None:
        # a call that cancel_pending or abandon took out of _inflight is theirs to settle
        batch = [(f, p) for f, p in batch if self._inflight.pop(f.key, None) is not None]
        finished = [(f, p) for f, p in batch if f.status == "finished"]
        if finished:
            try:
                values = self.client.gather([f for f, _ in finished], errors="raise")
            except BaseException:
                values = None
            if values is not None:
                for (_f, pending), value in zip(finished, values, strict=True):
                    if pending.chained is not None and value == RESOLVE_IN_FLOW:
                        self._fall_back(pending)
                    else:
                        pending.proxy.set_result(value)
            else:
                for f, pending in finished:
                    self._settle_one(f, pending)
        for f, pending in batch:
            if f.status != "finished":
                self._settle_one(f, pending)

    def _settle_one(self, fut: Any, pending: _Pending) -> None:
        try:
            value = fut.result()
        except BaseException as exc:
            error = exc
        else:
            if pending.chained is not None and value == RESOLVE_IN_FLOW:
                self._fall_back(pending)
            else:
                pending.proxy.set_result(value)
            return
        if pending.chained is not None and not _worker_died(error, fut.key):
            self._fall_back(pending)  # an upstream's Dask task failed (its worker died, ...)
            return
        if _worker_died(error):
            died = WorkerDiedError(
                f"the Dask worker process running task {pending.call.task_run.name!r} died ({type(error).__name__}: "
                f"{error})"
            )
            delay = self._crash_retry_delay(pending.call, died)
            if delay is not None:
                self._retry(pending, delay)
                return
            error = died
        pending.proxy.set_exception(error)

    # -- crashed workers --------------------------------------------------------------------

    def _crash_retry_delay(self, call: Any, error: WorkerDiedError) -> float | None:
        """Record the crashed attempt; the delay before the next one, or None when out of retries."""
        from headwater.runtime import _record
        from headwater.runtime.retries import retry_delay
        from headwater.runtime.states import Crashed, Retrying

        task, tr = call.task, call.task_run
        tr.run_count += 1
        if tr.started is None:
            tr.started = time.time()
        if tr.run_count > task.retries:
            return None
        state = Crashed(str(error), error)
        if task.retry_condition_fn is not None:
            try:
                if not task.retry_condition_fn(task, tr, state):
                    return None
            except Exception as exc:
                _record.log(tr, logging.ERROR, f"retry_condition_fn raised {exc!r}: not retrying")
                return None
        delay = retry_delay(task.retry_delay_seconds, task.retries, tr.run_count, task.retry_jitter_factor)
        _record.log(tr, logging.WARNING, f"{error} - Retry {tr.run_count}/{task.retries} will start in "
                    f"{delay:g} second(s)")
        _record.set_task_state(tr, Retrying(str(error)))
        return delay

    def _retry(self, pending: _Pending, delay: float) -> None:
        retry = _Pending(pending.call, pending.proxy, pending.attempt + 1)

        def go() -> None:
            if self._timers.pop(timer, None) is None:
                return  # cancel_pending took it
            args = self._arguments(retry)
            if args is not None:
                self._dispatch(retry, args)

        timer = threading.Timer(delay, go)
        timer.daemon = True
        self._timers[timer] = retry
        timer.start()

    # -- closing --------------------------------------------------------------------------

    def close(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        self._timers.clear()
        self._done.put(None)
        self._collector.join(timeout=30)
        self._latest.clear()
        self._inflight.clear()
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


def _key(call: Any, attempt: int) -> str:
    tr = call.task_run
    return f"{_UNSAFE_KEY.sub('_', tr.task_name) or 'task'}-{tr.id}-{attempt}"


def _worker_died(exc: BaseException, key: Any = None) -> bool:
    """Whether ``exc`` says a worker died running the task ``key`` (any task when None)."""
    try:
        from distributed.scheduler import KilledWorker
    except ImportError:  # pragma: no cover
        return False
    if not isinstance(exc, KilledWorker):
        return False
    return key is None or getattr(exc, "task", key) == key
