"""``@flow``: a function whose calls are recorded flow runs (with subflows, retries, timeouts, hooks)."""

from __future__ import annotations

import inspect
import logging
import os
import random
import time
from collections.abc import Callable, Iterable
from typing import Any

from headwater.dispatch import call_sync
from headwater.runtime import _record
from headwater.runtime._errors import (
    FlowRunCancelled,
    FlowRunTimeoutError,
    ParameterValidationError,
    ResultPersistenceError,
    RunError,
    TaskTimeoutError,
)
from headwater.runtime._timeouts import TimeoutInterrupt, call_with_timeout
from headwater.runtime.context import (
    FlowRun,
    _flow_run_var,
    _task_run_var,
    take_preset_flow_run_id,
    take_preset_flow_run_name,
    with_current_tags,
)
from headwater.runtime.params import bind_parameters, validate_parameters
from headwater.runtime.retries import retry_delay
from headwater.runtime.states import Cancelled, Completed, Crashed, Failed, Pending, Retrying, Running, State, TimedOut

__all__ = ["Flow", "flow"]

_OPTIONS = (
    "name", "version", "flow_run_name", "retries", "retry_delay_seconds", "timeout_seconds", "task_runner",
    "validate_parameters", "persist_result", "result_storage", "result_serializer", "log_prints", "description",
    "tags", "on_completion", "on_failure", "on_cancellation", "on_crashed", "on_running",
)
_ADJ = ("amber", "brisk", "calm", "daring", "eager", "fuzzy", "gentle", "hidden", "icy", "jolly", "keen", "lucky",
        "mellow", "nimble", "proud", "quiet", "rapid", "silver", "tidy", "vivid", "witty", "zesty")
_NOUN = ("otter", "heron", "falcon", "badger", "lynx", "marten", "osprey", "salmon", "trout", "beaver", "kestrel",
         "newt", "plover", "stoat", "wren", "ibis", "egret", "pike", "vole", "mink")


def _hooks(value: Any) -> tuple[Callable[..., Any], ...]:
    if not value:
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


class Flow:
    """A function made into a flow by :func:`flow` (see there for the options)."""

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        version: str | None = None,
        flow_run_name: str | Callable[[], str] | None = None,
        retries: int | None = None,
        retry_delay_seconds: Any = None,
        timeout_seconds: float | None = None,
        task_runner: Any = None,
        validate_parameters: bool = True,
        persist_result: bool | None = None,
        result_storage: Any = None,
        result_serializer: str | None = None,
        log_prints: bool | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        on_completion: Any = None,
        on_failure: Any = None,
        on_cancellation: Any = None,
        on_crashed: Any = None,
        on_running: Any = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"@flow needs a function, got {fn!r}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "flow").replace("_", "-")
        self.version = version
        self.flow_run_name = flow_run_name
        self.retries = int(retries or 0)
        self.retry_delay_seconds = retry_delay_seconds
        self.timeout_seconds = timeout_seconds
        self.task_runner = task_runner
        self.validate_parameters = validate_parameters
        self.persist_result = persist_result
        self.result_storage = result_storage
        self.result_serializer = result_serializer
        self.log_prints = log_prints
        self.description = description or inspect.getdoc(fn)
        self.tags = tuple(tags or ())
        self.on_completion = _hooks(on_completion)
        self.on_failure = _hooks(on_failure)
        self.on_cancellation = _hooks(on_cancellation)
        self.on_crashed = _hooks(on_crashed)
        self.on_running = _hooks(on_running)
        self.is_async = inspect.iscoroutinefunction(fn)
        self._signature = inspect.signature(fn)
        self.parameters = self._signature.parameters
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__name__ = getattr(fn, "__name__", self.name)
        self.__wrapped__ = fn
        self.last_flow_run: FlowRun | None = None

    def with_options(self, **options: Any) -> Flow:
        """A copy of this flow with some options changed (same names as :func:`flow`)."""
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise TypeError(f"unknown flow option(s): {', '.join(sorted(unknown))}")
        current = {k: getattr(self, k) for k in _OPTIONS}
        current.update(options)
        return type(self)(self.fn, **current)

    def __repr__(self) -> str:
        return f"Flow(name={self.name!r})"

    # -- a run --------------------------------------------------------------------------------

    def _setup(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[FlowRun, Any, Exception | None]:
        parent = _flow_run_var.get()
        error: Exception | None = None
        bound = None
        try:
            bound = bind_parameters(self, args, kwargs)
            if self.validate_parameters:
                validate_parameters(self, bound)
            bound.apply_defaults()
            params = dict(bound.arguments)
            _remember_secret_parameters(params)
        except ParameterValidationError as exc:
            error, params = exc, {}
        sink = parent.sink if parent is not None else _record.default_sink()
        preset = take_preset_flow_run_id() if parent is None else None
        preset_name = take_preset_flow_run_name() if parent is None else None
        fr = FlowRun(preset or os.urandom(16).hex(), "", self.name, self, params, with_current_tags(self.tags), sink)
        fr.created = time.time()
        if error is None:
            token = _flow_run_var.set(fr)  # a callable name may read headwater.runtime.flow_run
            try:
                fr.name = preset_name if preset_name and self.flow_run_name is None else self._run_name(params)
            finally:
                _flow_run_var.reset(token)
        else:
            fr.name = preset_name or f"{random.choice(_ADJ)}-{random.choice(_NOUN)}"
        if parent is not None:
            fr.parent_flow_run_id = parent.id
            parent_task = _task_run_var.get()
            fr.parent_task_run_id = parent_task.id if parent_task is not None else None
        inherit = parent if parent is not None else None
        fr.log_prints = self.log_prints if self.log_prints is not None else bool(inherit and inherit.log_prints)
        fr.persist_result = self.persist_result if self.persist_result is not None else (
            inherit.persist_result if inherit else None
        )
        fr.result_storage = self.result_storage if self.result_storage is not None else (
            inherit.result_storage if inherit else None
        )
        from headwater.history.writer import get_writer

        get_writer().active_flow_runs[fr.id] = fr.created
        _record.set_flow_state(fr, Pending())
        return fr, bound, error

    def _run_name(self, params: dict[str, Any]) -> str:
        spec = self.flow_run_name
        if spec is None:
            return f"{random.choice(_ADJ)}-{random.choice(_NOUN)}"
        try:
            return str(spec()) if callable(spec) else str(spec).format(**params)
        except Exception as exc:
            raise RunError(f"flow_run_name {spec!r} of flow {self.name!r} cannot be rendered: {exc!r}") from None

    def _start_attempt(self, fr: FlowRun) -> None:
        fr.run_count += 1
        if fr.started is None:
            fr.started = time.time()
        if fr.run_count == 1:
            _record.log(fr, logging.INFO, f"Beginning flow run {fr.name!r} for flow {self.name!r}")
        state = Running()
        _record.set_flow_state(fr, state)
        self._call_hooks(self.on_running, fr, state)

    def _succeeded(self, fr: FlowRun, result: Any) -> State:
        if isinstance(result, State):
            return result
        returned = _state_of_returned_runs(result)
        if returned is not None:
            return returned
        if fr.persist_result:
            from headwater.runtime.results import resolve_storage, write_result

            try:
                write_result(resolve_storage(fr.result_storage), fr.id, result, self.result_serializer or "pickle",
                             f"flow {self.name!r}")
            except ResultPersistenceError as exc:
                return Failed(str(exc), exc)
        return Completed(result)

    def _failed_attempt(self, fr: FlowRun, exc: BaseException) -> tuple[State, float | None]:
        if isinstance(exc, FlowRunCancelled):
            return Cancelled(str(exc) or "the flow run was cancelled", exc), None
        if isinstance(exc, TimeoutInterrupt):  # an enclosing flow's time limit: stop, do not retry
            return TimedOut(f"stopped: {exc}", exc), None
        if isinstance(exc, TaskTimeoutError):
            state = TimedOut(str(exc), exc)
        elif isinstance(exc, KeyboardInterrupt):  # as Prefect: a crash, so on_crashed alerts fire
            return Crashed("Execution was aborted by an interrupt signal.", exc), None
        elif type(exc).__name__ == "CancelledError":
            return Crashed("Execution was cancelled by the runtime environment.", exc), None
        elif not isinstance(exc, Exception):
            return Crashed(f"flow run stopped by {type(exc).__name__}: {exc}", exc), None
        else:
            state = Failed(_record.error_text(exc), exc)
        _record.log_failure(fr, f"Encountered exception during execution: {exc!r}", exc, state.message)
        if fr.run_count <= self.retries:
            delay = retry_delay(self.retry_delay_seconds, self.retries, fr.run_count, None)
            _record.log(fr, logging.WARNING, f"Retry {fr.run_count}/{self.retries} will start in {delay:g} second(s)")
            _record.set_flow_state(fr, Retrying(state.message))
            return state, delay
        return state, None

    def _wait_futures(self, fr: FlowRun) -> None:
        for f in fr.futures:  # kept until all are done: an interrupted wait is resumed after cancelling
            f.wait()
        fr.futures = []

    def _interrupted(self, fr: FlowRun, exc: BaseException) -> None:
        """On Ctrl-C (or SystemExit), task runs that have not started are cancelled, not run, and
        the running ones are waited for; a second Ctrl-C stops waiting (they are then Crashed)."""
        if not isinstance(exc, (KeyboardInterrupt, SystemExit)):  # a time limit is handled as before
            return
        cancel = getattr(fr.task_runner, "cancel_pending", None)
        if cancel is not None:
            n = cancel(f"not started: the flow run was interrupted ({type(exc).__name__})")
            if n:
                _record.log(fr, logging.WARNING, f"Cancelled {n} task run(s) that had not started")
        running = sum(1 for f in fr.futures if not f.done())
        if not running:
            return
        _record.log(fr, logging.WARNING, f"Waiting for {running} running task run(s) to finish; "
                                         f"press Ctrl-C again to stop without waiting")
        try:
            self._wait_futures(fr)
        except KeyboardInterrupt:
            self._abandon(fr)

    def _abandon(self, fr: FlowRun) -> None:
        """Stop waiting for running task runs (their threads end with the process): they are Crashed."""
        left, fr.futures = [f for f in fr.futures if not f.done()], []
        now = time.time()
        for f in left:
            tr = f.task_run
            tr.ended = now
            _record.set_task_state(tr, Crashed("still running when the flow run was interrupted again; not waited for"))
        abandon = getattr(fr.task_runner, "abandon", None)
        if abandon is not None:
            abandon()
        _record.log(fr, logging.WARNING, f"Stopped without waiting for {len(left)} running task run(s)")

    def _finish(self, fr: FlowRun, state: State) -> State:
        from headwater.history.writer import get_writer

        ended = time.time()
        self.last_flow_run = fr
        _record.set_flow_state(fr, state, ended)
        level = logging.INFO if state.type == "COMPLETED" else logging.ERROR
        _record.log(fr, level, f"Finished in state {state!r}")
        hooks = {"COMPLETED": self.on_completion, "FAILED": self.on_failure, "CANCELLED": self.on_cancellation,
                 "CRASHED": self.on_crashed}.get(state.type, ())
        self._call_hooks(hooks, fr, state)
        writer = get_writer()
        writer.active_flow_runs.pop(fr.id, None)
        if fr.parent_flow_run_id is None:
            writer.drain()
        return state

    def _call_hooks(self, hooks: Any, fr: FlowRun, state: State) -> None:
        for hook in hooks:
            try:
                call_sync(hook, self, fr, state)  # a sync hook gets values, even in an async flow
            except Exception as exc:
                _record.log(fr, logging.ERROR,
                            f"hook {getattr(hook, '__name__', hook)!r} failed: {_record.error_text(exc)}")

    def _outcome(self, state: State, return_state: bool) -> Any:
        if return_state:
            if state.exception is not None and not isinstance(state.exception, Exception):
                raise state.exception
            return state
        return state._value()

    def __call__(self, *args: Any, return_state: bool = False, **kwargs: Any) -> Any:
        """Run the flow and return its result (raising its exception if it failed).

        With ``return_state=True`` returns the final :class:`State`. An async flow returns a
        coroutine.
        """
        if self.is_async:
            return self._call_async(args, kwargs, return_state)
        fr, bound, error = self._setup(args, kwargs)
        if error is not None:
            return self._outcome(self._finish(fr, Failed(str(error), error)), return_state)
        with _flow_context(fr) as ctx:
            with ctx.runner(self.task_runner):
                ctx.state = self._drive(fr, bound)
        return self._outcome(self._finish(fr, ctx.state), return_state)

    async def _call_async(self, args: tuple[Any, ...], kwargs: dict[str, Any], return_state: bool) -> Any:
        fr, bound, error = self._setup(args, kwargs)
        if error is not None:
            return self._outcome(self._finish(fr, Failed(str(error), error)), return_state)
        with _flow_context(fr) as ctx:
            with ctx.runner(self.task_runner):
                ctx.state = await self._drive_async(fr, bound)
        return self._outcome(self._finish(fr, ctx.state), return_state)

    def _drive(self, fr: FlowRun, bound: Any) -> State:
        """The attempt driver: run the function until an attempt succeeds or no retry remains."""
        while True:
            self._start_attempt(fr)
            try:
                if self.timeout_seconds:
                    result = call_with_timeout(self.fn, bound.args, bound.kwargs, self.timeout_seconds,
                                               f"flow run {fr.name!r}", FlowRunTimeoutError)
                else:
                    result = self.fn(*bound.args, **bound.kwargs)
                self._wait_futures(fr)
            except BaseException as exc:
                state, delay = self._after_attempt(fr, exc)
                if delay is None:
                    return state
                time.sleep(delay)
                continue
            return self._succeeded(fr, result)

    async def _drive_async(self, fr: FlowRun, bound: Any) -> State:
        """:meth:`_drive` on the running event loop."""
        import asyncio

        while True:
            self._start_attempt(fr)
            try:
                coro = self.fn(*bound.args, **bound.kwargs)
                if self.timeout_seconds:
                    try:
                        result = await asyncio.wait_for(coro, self.timeout_seconds)
                    except asyncio.TimeoutError:
                        raise FlowRunTimeoutError(
                            f"flow run {fr.name!r} exceeded its timeout of {self.timeout_seconds:g} seconds"
                        ) from None
                else:
                    result = await coro
                self._wait_futures(fr)
            except BaseException as exc:
                state, delay = self._after_attempt(fr, exc)
                if delay is None:
                    return state
                await asyncio.sleep(delay)
                continue
            return self._succeeded(fr, result)

    def _after_attempt(self, fr: FlowRun, exc: BaseException) -> tuple[State, float | None]:
        self._interrupted(fr, exc)
        self._wait_futures(fr)
        return self._failed_attempt(fr, exc)


class _flow_context:  # noqa: N801 - used as a context manager
    """A flow run current (and no task run) inside a ``with`` block, with its task runner.

    A failure of the runner itself (it cannot start or stop) becomes the run's Crashed state.
    """

    __slots__ = ("_fr", "_tokens", "state")

    def __init__(self, fr: FlowRun) -> None:
        self._fr, self._tokens = fr, None
        self.state: State = Crashed("the flow run did not start")

    def __enter__(self) -> _flow_context:
        fr = self._fr
        self._tokens = (_flow_run_var.set(fr), _task_run_var.set(None))
        if fr.log_prints:
            _record.install_print_capture()
        return self

    def runner(self, spec: Any) -> Any:
        from headwater.runtime.task_runners import resolve_task_runner

        runner = resolve_task_runner(spec).duplicate()
        self._fr.task_runner = runner
        return runner

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        f_token, t_token = self._tokens  # type: ignore[misc]
        _task_run_var.reset(t_token)
        _flow_run_var.reset(f_token)
        if exc is not None:  # the runner failed to start or stop
            self.state = Crashed(f"{type(exc).__name__}: {exc}", exc)
        return True


def flow(
    __fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    version: str | None = None,
    flow_run_name: str | Callable[[], str] | None = None,
    retries: int | None = None,
    retry_delay_seconds: Any = None,
    timeout_seconds: float | None = None,
    task_runner: Any = None,
    validate_parameters: bool = True,
    persist_result: bool | None = None,
    result_storage: Any = None,
    result_serializer: str | None = None,
    log_prints: bool | None = None,
    description: str | None = None,
    tags: Iterable[str] | None = None,
    on_completion: Any = None,
    on_failure: Any = None,
    on_cancellation: Any = None,
    on_crashed: Any = None,
    on_running: Any = None,
) -> Any:
    """Make a function (sync or async) a flow; use bare (``@flow``) or with options.

    Args:
        name: Flow name (default: the function's name with ``-`` for ``_``).
        version: A version string for the flow.
        flow_run_name: Run name: a template over the parameters or a callable (default: random).
        retries: How many times to rerun the whole flow after a failure.
        retry_delay_seconds: Delay before each retry (number, list, or callable).
        timeout_seconds: Fail the run as ``TimedOut`` after this many seconds.
        task_runner: Where ``.submit()``/``.map()`` run tasks: a TaskRunner instance, class, or a
            registered name (default ``ThreadPoolTaskRunner()``).
        validate_parameters: Validate and coerce parameters from the type hints (pydantic).
        persist_result: Persist the flow's result and, by default, its tasks' results.
        result_storage: Storage block (or ``"slug/name"``) for persisted results.
        result_serializer: ``"pickle"`` (default), ``"cloudpickle"`` or ``"json"``.
        log_prints: Send ``print()`` output inside the flow and its tasks to the run logger.
        description: Description (default: the docstring).
        tags: Tags recorded on the flow run.
        on_completion: Hook(s) ``fn(flow, flow_run, state)`` after a Completed run.
        on_failure: Hook(s) after a Failed or TimedOut run.
        on_cancellation: Hook(s) after a Cancelled run (Ctrl-C is a crash, as in Prefect: see on_crashed).
        on_crashed: Hook(s) after a Crashed run (process-level failure such as SystemExit).
        on_running: Hook(s) when each attempt starts.

    Example:
        >>> @flow(log_prints=True)
        ... def etl(day: str = "2024-01-01"): ...
    """
    options = dict(
        name=name, version=version, flow_run_name=flow_run_name, retries=retries,
        retry_delay_seconds=retry_delay_seconds, timeout_seconds=timeout_seconds, task_runner=task_runner,
        validate_parameters=validate_parameters, persist_result=persist_result, result_storage=result_storage,
        result_serializer=result_serializer, log_prints=log_prints, description=description, tags=tags,
        on_completion=on_completion, on_failure=on_failure, on_cancellation=on_cancellation,
        on_crashed=on_crashed, on_running=on_running,
    )
    if __fn is not None:
        return Flow(__fn, **options)
    return lambda fn: Flow(fn, **options)


def _remember_secret_parameters(params: dict[str, Any]) -> None:
    """Secret-typed parameters (``SecretStr`` and the like, also inside a list or dict) are
    masked in what the run logs and records, as block secrets are."""
    for value in params.values():
        items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else (value,)
        for item in items:
            if hasattr(item, "get_secret_value") and not isinstance(item, type):
                from headwater.redaction import remember

                remember(item)


def _state_of_returned_runs(result: Any) -> State | None:
    """The flow's state when it returned runs' futures or states (one future, or a list, tuple
    or set of only those), as Prefect decides it: the futures become their final states, which
    are the flow's result; Completed when all completed, else Cancelled when one was, else
    Failed. None when the flow returned anything else."""
    from headwater.runtime.futures import HeadwaterFuture, resolve_futures_to_states

    if isinstance(result, HeadwaterFuture):
        items: list[Any] = [result]
    elif isinstance(result, (list, tuple, set, frozenset)) and result and all(
            isinstance(item, (State, HeadwaterFuture)) for item in result):
        items = list(result)
    else:
        return None
    resolved = resolve_futures_to_states(result)
    states = [item._final(None) if isinstance(item, HeadwaterFuture) else item for item in items]
    bad = [state for state in states if not state.is_completed()]
    if not bad:
        return Completed(resolved, "All states completed.")
    exception = next((state.exception for state in bad if state.exception is not None), None)
    cancelled = [state for state in bad if state.is_cancelled()]
    if cancelled:
        return Cancelled(f"{len(cancelled)}/{len(states)} states cancelled.", exception)
    return Failed(f"{len(bad)}/{len(states)} states failed.", exception)
