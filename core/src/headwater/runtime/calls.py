"""One task call, run to a final state: inputs, cache, attempts with retries and timeouts, hooks.

A :class:`TaskCall` is what a task runner receives. In-process runners call
:meth:`TaskCall.run` (or :meth:`run_async`). Runners that execute elsewhere ship
:meth:`TaskCall.to_payload` (cloudpickle bytes) to the worker, which calls
:func:`run_payload`; the bytes it returns go back through :meth:`TaskCall.absorb`, which
replays the run's states and logs into this process's history and returns the final state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from headwater.dispatch import call_sync
from headwater.runtime import _record
from headwater.runtime._errors import ResultPersistenceError, RunError, TaskRunTimeoutError, TaskTimeoutError
from headwater.runtime._timeouts import TimeoutInterrupt, call_with_timeout
from headwater.runtime.context import (
    FlowRun,
    TaskRun,
    _flow_run_var,
    _tags_var,
    _task_run_var,
    new_id,
    with_current_tags,
)
from headwater.runtime.futures import HeadwaterFuture, HeadwaterFutureList, allow_failure
from headwater.runtime.retries import retry_delay
from headwater.runtime.states import Cached, Cancelled, Completed, Crashed, Failed, Retrying, Running, State, TimedOut

__all__ = ["TaskCall", "UpstreamTaskError", "run_payload"]

_CONTAINERS = (list, tuple, set, frozenset, dict, HeadwaterFutureList)


class UpstreamTaskError(RunError):
    """A task's input came from a task run that did not complete."""


def _has_future(value: Any) -> bool:
    t = type(value)
    if t is HeadwaterFuture or t is allow_failure or isinstance(value, State):
        return True
    if t in _CONTAINERS:
        items = value.values() if t is dict else value
        return any(_has_future(v) for v in items)
    return False


def _resolve(value: Any, upstream: list[str]) -> Any:
    if type(value) is allow_failure:  # the upstream's result, or its exception if it failed
        inner = value.value
        if type(inner) is HeadwaterFuture:
            upstream.append(inner.task_run_id)
            return inner._final(None)._value(False)
        if isinstance(inner, State):
            return inner._value(False)
        return _resolve(inner, upstream)
    if type(value) is HeadwaterFuture:
        state = value._final(None)
        upstream.append(value.task_run_id)
        if not state.is_completed():
            raise UpstreamTaskError(
                f"upstream task run {getattr(value.task_run, 'name', value.task_run_id)!r} did not complete: "
                f"it is {state!r}"
            )
        return state._value()
    if isinstance(value, State):
        if not value.is_completed():
            raise UpstreamTaskError(f"an upstream state is {value!r}, not Completed")
        return value._value()
    t = type(value)
    if t in _CONTAINERS and _has_future(value):
        if t is dict:
            return {k: _resolve(v, upstream) for k, v in value.items()}
        return (list if t is HeadwaterFutureList else t)(_resolve(v, upstream) for v in value)
    return value


class TaskCall:
    """A task with its arguments, bound to a task run; what task runners execute.

    Attributes:
        task: The :class:`headwater.runtime.Task`.
        task_run: The :class:`headwater.runtime.context.TaskRun` (``.id``, ``.name``, ``.state``).
        flow_run: The enclosing flow run, or None.
        args: Positional arguments (may hold futures until resolved).
        kwargs: Keyword arguments (may hold futures until resolved).
        wait_for: Futures that must finish before the call starts.
    """

    __slots__ = ("task", "task_run", "flow_run", "args", "kwargs", "wait_for", "_unresolved")

    def __init__(self, task: Any, args: tuple[Any, ...], kwargs: dict[str, Any], flow_run: FlowRun | None,
                 wait_for: Any = None, name: str | None = None) -> None:
        self.task = task
        self.flow_run = flow_run
        self.args = args
        self.kwargs = kwargs
        self.wait_for = tuple(wait_for) if wait_for else ()
        self._unresolved = bool(self.wait_for) or any(_has_future(a) for a in args) or (
            bool(kwargs) and any(_has_future(v) for v in kwargs.values()))
        if self._unresolved:  # map()'s future list travels as a plain list (runners look for list)
            args = self.args = tuple(list(a) if type(a) is HeadwaterFutureList else a for a in args)
            kwargs = self.kwargs = {k: list(v) if type(v) is HeadwaterFutureList else v for k, v in kwargs.items()}
        sink = flow_run.sink if flow_run is not None else _record.default_sink()
        tr = TaskRun(new_id(), name or task.name, task.name, task.task_key,
                     flow_run.id if flow_run is not None else None, None,
                     with_current_tags(task.tags) if _tags_var.get() else task.tags, sink)
        tr._call = (task, args, kwargs)
        if task.task_run_name is not None and not self._unresolved:  # else once the futures are resolved
            tr.name = _render_task_run_name(task, tr)
        tr.log_prints = task.log_prints if task.log_prints is not None else bool(flow_run and flow_run.log_prints)
        tr.transitions.append(("Pending", time.time()))
        self.task_run = tr

    # -- for task runners -----------------------------------------------------------------

    def upstream_futures(self) -> list[HeadwaterFuture]:
        """Futures this call waits for (arguments and ``wait_for``)."""
        found: list[HeadwaterFuture] = []

        def scan(v: Any) -> None:
            if type(v) is HeadwaterFuture:
                found.append(v)
            elif type(v) is allow_failure:
                scan(v.value)
            elif type(v) in _CONTAINERS:
                for item in (v.values() if type(v) is dict else v):
                    scan(item)

        for w in self.wait_for:
            scan(w)
        for a in self.args:
            scan(a)
        for v in self.kwargs.values():
            scan(v)
        return found

    def _prepare(self) -> State | None:
        """Resolve inputs and look up the cache; returns a final state when the task must not run."""
        tr = self.task_run
        if self._unresolved:
            upstream: list[str] = []
            try:
                for f in self.wait_for:
                    _resolve(f, upstream)
                self.args = tuple(_resolve(a, upstream) for a in self.args)
                self.kwargs = {k: _resolve(v, upstream) for k, v in self.kwargs.items()}
            except UpstreamTaskError as exc:
                return Failed(str(exc), exc)
            finally:
                tr.upstream = tuple(dict.fromkeys(upstream))
                for up in tr.upstream:
                    _record.edge(tr.sink, up, tr.id, tr.flow_run_id)
            self._unresolved = False
            tr._parameters, tr._call = None, (self.task, self.args, self.kwargs)
            if self.task.task_run_name is not None:
                tr.name = _render_task_run_name(self.task, tr)
        task = self.task
        if task._caching:
            key = task._cache_key(tr, self.args, self.kwargs, self.flow_run)
            tr.cache_key = key
            if key is not None and not task.refresh_cache:
                from headwater.runtime.results import read_result

                found, value = read_result(task._storage(self.flow_run), key)
                if found:
                    tr.run_count = max(tr.run_count, 1)
                    tr.started = time.time()
                    return Cached(value)
        return None

    def _start_attempt(self) -> None:
        tr = self.task_run
        tr.run_count += 1
        if tr.started is None:
            tr.started = time.time()
        state = Running()
        _record.set_task_state(tr, state)
        if self.task.on_running:
            self._hooks(self.task.on_running, state)

    def _succeeded(self, result: Any) -> State:
        if isinstance(result, State):  # as in Prefect: a task that returns a state ends in it
            return result
        task = self.task
        if task._caching or task._persist(self.flow_run):
            tr = self.task_run
            key = tr.cache_key or tr.id
            expires = None
            if tr.cache_key is not None and task.cache_expiration is not None:
                exp = task.cache_expiration
                expires = time.time() + (exp.total_seconds() if hasattr(exp, "total_seconds") else float(exp))
            from headwater.runtime.results import write_result

            try:
                write_result(task._storage(self.flow_run), key, result, task.result_serializer or "pickle",
                             f"task {task.name!r}", expires)
            except ResultPersistenceError as exc:
                return Failed(str(exc), exc)
            tr.cache_key = key
        return Completed(result)

    def _failed_attempt(self, exc: BaseException) -> tuple[State, float | None]:
        task, tr = self.task, self.task_run
        ends_in = getattr(exc, "_headwater_state_", None)  # Prefect 0.15's SKIP/FAIL: that state, no retry
        if ends_in is not None and isinstance(exc, Exception):
            return ends_in(), None
        if isinstance(exc, TimeoutInterrupt):  # an enclosing run's time limit: stop, do not retry
            return TimedOut(f"stopped: {exc}", exc), None
        if isinstance(exc, TaskTimeoutError):
            state = TimedOut(str(exc), exc)
        elif not isinstance(exc, Exception):
            return Crashed(f"task run interrupted by {type(exc).__name__}", exc), None
        else:
            state = Failed(_record.error_text(exc), exc)
        if tr.run_count <= task.retries:
            allowed = True
            if task.retry_condition_fn is not None:
                try:
                    allowed = bool(task.retry_condition_fn(task, tr, state))
                except Exception as cond_exc:
                    allowed = False
                    _record.log(tr, logging.ERROR, f"retry_condition_fn raised {cond_exc!r}: not retrying")
            if allowed:
                delay = retry_delay(task.retry_delay_seconds, task.retries, tr.run_count, task.retry_jitter_factor)
                _record.log(tr, logging.WARNING, f"Task run failed with exception: {exc!r} - Retry "
                            f"{tr.run_count}/{task.retries} will start in {delay:g} second(s)")
                _record.set_task_state(tr, Retrying(state.message))
                return state, delay
        if tr.run_count > 1 or task.retries:
            _record.log_failure(tr, f"Task run failed with exception: {exc!r} - Retries are exhausted", exc,
                                state.message)
        else:
            _record.log_failure(tr, f"Task run failed with exception: {exc!r}", exc, state.message)
        return state, None

    def _finish(self, state: State) -> State:
        tr = self.task_run
        tr.ended = time.time()
        _record.set_task_state(tr, state)
        if state.type == "COMPLETED":
            if state.name != "Completed":
                _record.log(tr, logging.INFO, f"Finished in state {state!r}")
            elif _record.console_level() <= logging.INFO:  # console only: the row holds the fact
                _record.log(tr, logging.INFO, "Finished in state Completed()", 2)
        else:
            _record.log(tr, logging.ERROR, f"Finished in state {state!r}")
        task = self.task
        if state.type == "COMPLETED":
            if task.on_completion:
                self._hooks(task.on_completion, state)
        elif state.type == "FAILED":
            if task.on_failure:
                self._hooks(task.on_failure, state)
        return state

    def _hooks(self, hooks: Any, state: State) -> None:
        for hook in hooks:
            try:
                call_sync(hook, self.task, self.task_run, state)  # a sync hook gets values, even in an async run
            except Exception as exc:
                _record.log(self.task_run, logging.ERROR,
                            f"hook {getattr(hook, '__name__', hook)!r} failed: {_record.error_text(exc)}")

    # -- running --------------------------------------------------------------------------

    def _drive(self, attempt: Callable[[], Any]) -> State:
        """The attempt driver: ``attempt()`` until it succeeds or no retry remains, sleeping
        each retry's delay; returns the final state (not yet recorded)."""
        while True:
            self._start_attempt()
            try:
                result = attempt()
            except BaseException as exc:
                state = self._after_failure(exc)
                if state is None:
                    continue
                return state
            return self._succeeded(result)

    async def _drive_async(self, attempt: Callable[[], Awaitable[Any]]) -> State:
        """:meth:`_drive` on the running event loop (``attempt()`` is awaited, delays too)."""
        import asyncio

        while True:
            self._start_attempt()
            try:
                result = await attempt()
            except BaseException as exc:
                state, delay = self._failed_attempt(exc)
                if delay is None:
                    return state
                if delay:
                    await asyncio.sleep(delay)
                continue
            return self._succeeded(result)

    def _after_failure(self, exc: BaseException) -> State | None:
        """The final state after a failed attempt, or None when a retry follows (its delay slept)."""
        state, delay = self._failed_attempt(exc)
        if delay is None:
            return state
        if delay:
            time.sleep(delay)
        return None

    def _sync_attempt(self) -> Callable[[], Any]:
        task, tr, timeout = self.task, self.task_run, self.task.timeout_seconds
        fn = _collecting(task.fn) if task.is_generator else task.fn  # submitted or mapped: the result is the list
        if timeout:
            return lambda: call_with_timeout(fn, self.args, self.kwargs, timeout, f"task {tr.name!r}",
                                             TaskRunTimeoutError)
        return lambda: fn(*self.args, **self.kwargs)

    async def _async_attempt(self) -> Any:
        task = self.task
        if not task.is_async:
            return task.fn(*self.args, **self.kwargs)
        coro = task.fn(*self.args, **self.kwargs)
        if not task.timeout_seconds:
            return await coro
        import asyncio

        try:
            return await asyncio.wait_for(coro, task.timeout_seconds)
        except asyncio.TimeoutError:
            raise TaskRunTimeoutError(
                f"task {self.task_run.name!r} exceeded its timeout of {task.timeout_seconds:g} seconds"
            ) from None

    def run(self) -> State:
        """Run the call in this thread to a final state (sync or async task)."""
        if self.task.is_async:
            import asyncio

            return asyncio.run(self.run_async())
        if self.task_run.log_prints:
            _record.install_print_capture()
        with _run_context(self.task_run, self.flow_run):
            state = self._prepare()
            if state is None:
                state = self._drive(self._sync_attempt())
            self._finish(state)
        return self._conclude_raise(state)

    async def run_async(self) -> State:
        """Run the call on the running event loop to a final state."""
        if self.task_run.log_prints:
            _record.install_print_capture()
        with _run_context(self.task_run, self.flow_run):
            state = self._prepare()
            if state is None:
                state = await self._drive_async(self._async_attempt)
            self._finish(state)
        return self._conclude_raise(state)

    @staticmethod
    def _conclude_raise(state: State) -> State:
        """A crash, or an enclosing run's time limit, propagates to the caller."""
        if state.exception is not None and (state.type == "CRASHED" or isinstance(state.exception, TimeoutInterrupt)):
            raise state.exception
        return state

    def run_generator(self) -> Iterator[Any]:
        """A generator task called directly: yield what the task yields, inside its task run.

        The task run is Running while the caller iterates, and ends Completed when the task's
        generator is exhausted (or the caller stops early). The task's code runs with its run
        current; the caller's code between two values does not. A failure restarts the task's
        generator from the start when retries remain (so values may be yielded again), else
        it is raised to the caller. ``timeout_seconds`` and caching do not apply.
        """
        tr, fr, task = self.task_run, self.flow_run, self.task
        if tr.log_prints:
            _record.install_print_capture()
        with _run_context(tr, fr):
            state = self._prepare()
        while state is None:  # the attempt loop of _drive, with the values yielded between
            self._start_attempt()
            try:
                with _run_context(tr, fr):
                    gen = task.fn(*self.args, **self.kwargs)
                while True:
                    with _run_context(tr, fr):
                        try:
                            value = next(gen)
                        except StopIteration:
                            break
                    try:
                        yield value
                    except GeneratorExit:  # the caller stopped iterating: a normal end
                        gen.close()
                        self._finish(Completed(None))
                        raise
            except GeneratorExit:
                raise
            except BaseException as exc:
                state = self._after_failure(exc)
            else:
                state = Completed(None)
        self._finish(state)
        tr.state = None
        if not state.is_completed():
            raise state.exception or RunError(f"task run {tr.name!r} ended in state {state!r}")

    def run_collected(self) -> State:
        """``return_state=True`` on a generator task: iterate it fully; the state's result is
        the list of values."""
        try:
            return Completed(list(self.run_generator()))
        except Exception as exc:
            return Failed(_record.error_text(exc), exc)

    # -- running in another process ---------------------------------------------------------

    def resolve_inputs(self) -> State | None:
        """For out-of-process runners, before :meth:`to_payload`: resolve futures among the
        inputs (they must be done) and look up the cache, here. Returns the final state, already
        recorded, when the call must not be shipped (an upstream run failed, or a cached result
        exists); None when it should run."""
        state = self._prepare()
        if state is not None:
            return self._finish(state)
        return None

    def to_payload(self) -> bytes:
        """This call as cloudpickle bytes for :func:`run_payload` in another process.

        Call :meth:`resolve_inputs` first: futures cannot travel to another process.
        """
        import cloudpickle

        if self._unresolved:
            raise RunError(f"task call {self.task_run.name!r} has unresolved futures: call resolve_inputs() first")
        fr = self.flow_run
        stub = None
        if fr is not None:
            stub = FlowRun(fr.id, fr.name, fr.flow_name, None, fr.parameters, fr.tags)
            stub.log_prints, stub.run_count = fr.log_prints, fr.run_count
            stub.result_storage, stub.persist_result = fr.result_storage, fr.persist_result
        tr = self.task_run
        sink, tr.sink = tr.sink, None
        try:
            return cloudpickle.dumps((self.task, self.args, self.kwargs, stub, tr))
        finally:
            tr.sink = sink

    def absorb(self, raw: Any) -> State:
        """Replay a worker's outcome (bytes from :func:`run_payload`) here; returns the final state."""
        if isinstance(raw, State):
            return raw
        import cloudpickle

        state, run_count, events, secrets = cloudpickle.loads(raw)
        if secrets:  # blocks loaded in the worker: redact their secrets here too
            from headwater.redaction import remember_all

            remember_all(secrets)
        tr = self.task_run
        hooks = _record._lifecycle if _record._lifecycle is not None else _record._hooks()
        for event in events:
            tr.sink(event)
        tr.run_count, tr.state = run_count, state
        if hooks[1] is not None:
            _record._call_hook(hooks[1], task_run=tr, state=state)
        return state

    def crashed(self, exc: BaseException) -> State:
        """Record that the runner failed to run this call at all (broken worker, unpicklable call)."""
        state = Crashed(f"the task runner could not run task {self.task_run.name!r}: {type(exc).__name__}: {exc}", exc)
        return self._finish(state)


def run_payload(payload: bytes, cancelled: str | None = None) -> bytes:
    """Worker-side entry point: run a :meth:`TaskCall.to_payload` call, return the outcome bytes.

    History events and logs are collected, not written, and travel back with the state, and
    so do the secret values this worker knows (blocks its tasks loaded), which the flow's
    process must redact in what it records and prints. With ``cancelled`` (a message), the
    call does not run: its task run ends ``Cancelled(cancelled)`` (its flow run was interrupted
    before the worker reached it).
    """
    import cloudpickle

    task, args, kwargs, stub, tr = cloudpickle.loads(payload)
    events: list[Any] = []
    tr.sink = events.append
    if stub is not None:
        stub.sink = events.append
    _record._lifecycle = [None, None]  # plugin hooks run in the flow's process, on absorb
    call = TaskCall.__new__(TaskCall)
    call.task, call.task_run, call.flow_run = task, tr, stub
    call.args, call.kwargs, call.wait_for, call._unresolved = args, kwargs, (), False
    if cancelled is not None:
        state = Cancelled(cancelled)
        tr.ended = time.time()
        _record.set_task_state(tr, state)
    else:
        try:
            state = call.run()
        except BaseException as exc:
            state = Crashed(f"{type(exc).__name__}: {exc}")
            _record.set_task_state(tr, state)
    tr._call = tr.state = None  # the events carry the run itself; its inputs and result stay here
    from headwater.redaction import known_secret_count, known_secrets

    secrets = known_secrets() if known_secret_count() else None
    try:
        return cloudpickle.dumps((state, tr.run_count, events, secrets))
    except Exception as exc:
        bad = Failed(
            f"the result of task {tr.name!r} cannot be sent back from the worker process "
            f"({type(exc).__name__}: {exc}): return a picklable value"
        )
        tr.ended = time.time()
        _record.set_task_state(tr, bad)
        return cloudpickle.dumps((bad, tr.run_count, events, secrets))


def _render_task_run_name(task: Any, tr: TaskRun) -> str:
    """``task_run_name`` for ``tr``, with the run as the current task run (a callable name may
    read ``headwater.runtime.task_run``)."""
    token = _task_run_var.set(tr)
    try:
        return task._render_run_name(tr.parameters)
    finally:
        _task_run_var.reset(token)


class _run_context:  # noqa: N801 - used as a context manager
    """The task run (and its flow run) current inside a ``with`` block, restored after."""

    __slots__ = ("_fr", "_tokens", "_tr")

    def __init__(self, tr: TaskRun, fr: FlowRun | None) -> None:
        self._tr, self._fr, self._tokens = tr, fr, None

    def __enter__(self) -> None:
        f_token = _flow_run_var.set(self._fr) if self._fr is not None and _flow_run_var.get() is not self._fr else None
        self._tokens = (f_token, _task_run_var.set(self._tr))

    def __exit__(self, *exc: Any) -> None:
        f_token, t_token = self._tokens  # type: ignore[misc]
        _task_run_var.reset(t_token)
        if f_token is not None:
            _flow_run_var.reset(f_token)


def _collecting(fn: Any) -> Any:
    def collect(*args: Any, **kwargs: Any) -> list[Any]:
        return list(fn(*args, **kwargs))

    return collect
