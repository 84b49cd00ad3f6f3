"""``@task``: calling, ``.submit()``, ``.map()``, ``.with_options()``."""

from __future__ import annotations

import inspect
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from headwater.runtime._errors import MappingLengthMismatch, MappingMissingIterable, RunError
from headwater.runtime.calls import TaskCall
from headwater.runtime.context import FlowRun, TaskRun, _flow_run_var, _graph_var
from headwater.runtime.futures import HeadwaterFuture, HeadwaterFutureList, unmapped

if TYPE_CHECKING:
    from headwater.runtime.caching import CachePolicy

__all__ = ["Task", "task"]

_OPTIONS = (
    "name", "description", "tags", "version", "task_run_name", "retries", "retry_delay_seconds",
    "retry_jitter_factor", "retry_condition_fn", "timeout_seconds", "cache_policy", "cache_key_fn",
    "cache_expiration", "refresh_cache", "persist_result", "result_storage", "result_serializer", "log_prints",
    "on_completion", "on_failure", "on_running",
)


_GRAPH_ONLY = frozenset(("upstream_tasks", "task_args", "mapped", "flow"))


def _hook_list(hooks: Any) -> tuple[Callable[..., Any], ...]:
    if not hooks:
        return ()
    return tuple(hooks) if isinstance(hooks, (list, tuple)) else (hooks,)


class Task:
    """A function made into a task by :func:`task` (see there for the options)."""

    # Prefect 0.15 options (see headwater.v1): used only when the task runs in a 0.15 flow graph.
    _v1_trigger: Any = None
    _v1_skip_on_upstream_skip: bool = True
    _v1_nout: int | None = None

    def __init__(
        self,
        fn: Callable[..., Any] | None = None,
        name: str | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        version: str | None = None,
        task_run_name: str | Callable[[], str] | None = None,
        retries: int | None = None,
        retry_delay_seconds: float | list[float] | Callable[[int], list[float]] | None = None,
        retry_jitter_factor: float | None = None,
        retry_condition_fn: Callable[[Task, TaskRun, Any], bool] | None = None,
        timeout_seconds: float | None = None,
        cache_policy: CachePolicy | None = None,
        cache_key_fn: Callable[[TaskRun, dict[str, Any]], str | None] | None = None,
        cache_expiration: Any = None,
        refresh_cache: bool | None = None,
        persist_result: bool | None = None,
        result_storage: Any = None,
        result_serializer: str | None = None,
        log_prints: bool | None = None,
        on_completion: Any = None,
        on_failure: Any = None,
        on_running: Any = None,
    ) -> None:
        if fn is None:
            raise TypeError("Task() needs a function: decorate it with @task. Prefect 0.15's class-based "
                            "tasks (a Task subclass with a run() method) are not supported: put run()'s body "
                            "in a function decorated with @task")
        if not callable(fn):
            raise TypeError(f"@task needs a function, got {fn!r}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "task")
        self.description = description or inspect.getdoc(fn)
        self.tags = tuple(tags or ())
        self.version = version
        self.task_run_name = task_run_name
        self.retries = int(retries or 0)
        self.retry_delay_seconds = retry_delay_seconds
        self.retry_jitter_factor = retry_jitter_factor
        self.retry_condition_fn = retry_condition_fn
        self.timeout_seconds = timeout_seconds
        self.cache_policy = cache_policy
        self.cache_key_fn = cache_key_fn
        self.cache_expiration = cache_expiration
        self.refresh_cache = bool(refresh_cache)
        self.persist_result = persist_result
        self.result_storage = result_storage
        self.result_serializer = result_serializer
        self.log_prints = log_prints
        self.on_completion = _hook_list(on_completion)
        self.on_failure = _hook_list(on_failure)
        self.on_running = _hook_list(on_running)
        self._inspect_function(fn)
        self._caching = self._caches()
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__name__ = self.name
        self.__wrapped__ = fn

    def _inspect_function(self, fn: Callable[..., Any]) -> None:
        """What the runs need to know of the function: its kind, its identity, its parameters."""
        self.is_async = inspect.iscoroutinefunction(fn)
        self.is_generator = inspect.isgeneratorfunction(fn)
        self.task_key = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', self.name)}"
        # What cache keys name the task by: the file and the qualified name, not the module,
        # which is "__main__" under `python etl.py` and "etl" under `headwater run etl.py:flow`.
        code = getattr(fn, "__code__", None)
        self.cache_identity = (f"{os.path.basename(code.co_filename)}:{fn.__qualname__}"
                               if code is not None and hasattr(fn, "__qualname__") else self.task_key)
        self._signature: inspect.Signature | None = None
        self._names: tuple[str, ...] | None = None
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return
        plain = all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in sig.parameters.values())
        self._names = tuple(sig.parameters) if plain else None
        self._signature = sig

    def _caches(self) -> bool:
        """Whether runs look up and store cached results (a cache key function or policy)."""
        caching = self.cache_key_fn is not None
        if self.cache_policy is not None and not caching:
            from headwater.runtime.caching import NO_CACHE

            caching = self.cache_policy != NO_CACHE
        if caching and self.persist_result is False:  # a cached result is a persisted one
            import warnings

            warnings.warn(f"task {self.name!r}: ignoring the cache policy because persist_result=False",
                          stacklevel=4)
            caching = False
        return caching

    # -- helpers used by TaskCall --------------------------------------------------------------

    def _fast_params(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        names = self._names
        if names is not None and len(args) <= len(names):
            params = dict(zip(names, args, strict=False))
            if kwargs:
                params.update(kwargs)
            return params
        return self.bind(args, kwargs)

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's arguments by parameter name, defaults included."""
        if self._signature is None:
            return {**{f"arg{i}": a for i, a in enumerate(args)}, **kwargs}
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise RunError(f"task {self.name!r} called with wrong arguments: {exc}") from None
        bound.apply_defaults()
        return dict(bound.arguments)

    def _render_run_name(self, params: dict[str, Any]) -> str:
        spec = self.task_run_name
        try:
            if callable(spec):
                return str(spec())
            return str(spec).format(**params)
        except Exception as exc:
            raise RunError(f"task_run_name {spec!r} of task {self.name!r} cannot be rendered: {exc!r}") from None

    def _cache_key(self, tr: TaskRun, args: tuple[Any, ...], kwargs: dict[str, Any], fr: FlowRun | None) -> str | None:
        params = self.bind(args, kwargs)
        if self.cache_key_fn is not None:
            from headwater.runtime.caching import CacheKeyContext

            try:
                key = self.cache_key_fn(CacheKeyContext(tr, self, params), params)
            except Exception as exc:
                from headwater.runtime import _record

                _record.log(tr, logging.ERROR, f"cache_key_fn raised {exc!r}: running without the cache")
                return None
            return None if key is None else str(key)
        assert self.cache_policy is not None
        return self.cache_policy.compute_key(self, params, fr.parameters if fr is not None else None)

    def _persist(self, fr: FlowRun | None) -> bool:
        if self.persist_result is not None:
            return self.persist_result
        return bool(fr is not None and fr.persist_result)

    def _storage(self, fr: FlowRun | None) -> Any:
        from headwater.runtime.results import resolve_storage

        storage = self.result_storage
        if storage is None and fr is not None:
            storage = fr.result_storage
        return resolve_storage(storage)

    # -- public API ----------------------------------------------------------------------------

    def __call__(self, *args: Any, return_state: bool = False, wait_for: Iterable[Any] | None = None,
                 **kwargs: Any) -> Any:
        """Run the task now (inside a flow or not) and return its result.

        Raises the task's exception once retries are exhausted. With ``return_state=True``
        returns the final :class:`State` instead. An async task returns a coroutine when an
        event loop is running, else it is run to completion.
        """
        graph = _graph_var.get()
        if graph is not None:  # inside Prefect 0.15's `with Flow(...)`: add to the graph, do not run
            return graph.add_call(self, args, kwargs, mapped=False)
        if kwargs and _GRAPH_ONLY.intersection(kwargs):
            self._refuse_graph_only(kwargs)
        call = TaskCall(self, args, kwargs, _flow_run_var.get(), wait_for)
        if self.is_generator:
            if return_state:  # the whole iteration, its values as the state's result
                return call.run_collected()
            return call.run_generator()
        if self.is_async:
            import asyncio

            try:
                asyncio.get_running_loop()
            except RuntimeError:
                state = asyncio.run(call.run_async())
            else:
                return self._await(call, return_state)
        else:
            state = call.run()
        call.task_run.state = None  # queued for history until written: do not keep the result alive
        if return_state:
            return state
        return state._value()

    def _refuse_graph_only(self, kwargs: dict[str, Any]) -> None:
        """Prefect 0.15's graph-only arguments outside a 0.15 flow (unless the function takes them)."""
        names = self._names or ()
        given = [k for k in sorted(_GRAPH_ONLY) if k in kwargs and k not in names]
        if given:
            from headwater.runtime._errors import GraphError

            raise GraphError(f"task {self.name!r} was called with {given[0]}= outside `with Flow(...):`: that "
                             "argument builds a 0.15 flow graph; call the task inside `with Flow(...)`, or in a "
                             "@flow use wait_for=[...] for ordering")

    async def _await(self, call: TaskCall, return_state: bool) -> Any:
        state = await call.run_async()
        call.task_run.state = None
        return state if return_state else state._value()

    def submit(self, *args: Any, return_state: bool = False, wait_for: Iterable[Any] | None = None,
               **kwargs: Any) -> Any:
        """Submit the task to the flow's task runner; returns a :class:`HeadwaterFuture`.

        Futures among the arguments are resolved before the task runs (and recorded as
        lineage). Outside a flow a process-wide thread pool runs it.
        """
        fr = _flow_run_var.get()
        call = TaskCall(self, args, kwargs, fr, wait_for)
        future = _runner_for(fr).submit(call)
        if fr is not None:
            fr.futures.append(future)
        if return_state:
            future.wait()
            return future.state
        return future

    def map(self, *args: Any, return_state: bool = False, wait_for: Iterable[Any] | None = None,
            **kwargs: Any) -> HeadwaterFutureList:
        """Submit one run per element of the iterable arguments; returns their futures (a list
        with ``.wait()`` and ``.result()``, Prefect's ``PrefectFutureList``).

        As in Prefect: a future argument is first replaced by its result (waiting for it, and
        raising its exception if it failed); then lists, tuples, ranges, generators, dicts (their
        keys) and other iterables are mapped (all must have the same length); strings, bytes,
        files, plain values and :class:`unmapped` values are passed whole to every run.
        """
        import io

        graph = _graph_var.get()
        if graph is not None:  # inside Prefect 0.15's `with Flow(...)`: a mapped node of the graph
            return graph.add_call(self, args, kwargs, mapped=True)
        mapped: dict[Any, list[Any]] = {}
        static: dict[Any, Any] = {}
        upstream: list[HeadwaterFuture] = []
        for key, value in [*enumerate(args), *kwargs.items()]:
            if isinstance(value, HeadwaterFuture):
                upstream.append(value)  # kept as each run's upstream (lineage)
                value = value.result()
            if isinstance(value, unmapped):
                static[key] = value.value
            elif isinstance(value, (str, bytes, bytearray, io.IOBase)) or not isinstance(value, Iterable):
                static[key] = value
            else:
                mapped[key] = list(value)
        if not mapped:
            raise MappingMissingIterable(
                f"task {self.name!r}.map() needs at least one iterable argument (wrap constants in unmapped())"
            )
        lengths = {len(v) for v in mapped.values()}
        if len(lengths) > 1:
            sizes = ", ".join(
                f"{k if isinstance(k, str) else f'argument {k + 1}'} has {len(v)}" for k, v in mapped.items()
            )
            raise MappingLengthMismatch(f"task {self.name!r}.map(): the iterables have different lengths ({sizes})")
        n = lengths.pop()
        fr = _flow_run_var.get()
        npos = len(args)
        calls = []
        wait = (*(wait_for or ()), *upstream) or None
        for i in range(n):
            pos = tuple(mapped[j][i] if j in mapped else static[j] for j in range(npos))
            kw = {k: (mapped[k][i] if k in mapped else static[k]) for k in kwargs}
            calls.append(TaskCall(self, pos, kw, fr, wait, name=f"{self.name}-{i}"))
        futures = _runner_for(fr).map(calls)
        if fr is not None:
            fr.futures.extend(futures)
        if return_state:
            for f in futures:
                f.wait()
            return [f.state for f in futures]  # type: ignore[misc]
        return HeadwaterFutureList(futures)

    def with_options(self, **options: Any) -> Task:
        """A copy of this task with some options changed (same names as :func:`task`)."""
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise TypeError(f"unknown task option(s): {', '.join(sorted(unknown))}")
        current = {k: getattr(self, k) for k in _OPTIONS}
        current["refresh_cache"] = self.refresh_cache
        current.update(options)
        copy = Task(self.fn, **current)
        copy._v1_trigger, copy._v1_skip_on_upstream_skip, copy._v1_nout = (
            self._v1_trigger, self._v1_skip_on_upstream_skip, self._v1_nout)
        return copy

    def __repr__(self) -> str:
        return f"Task(name={self.name!r})"


_default_runner: Any = None
_default_lock = threading.Lock()


def _runner_for(fr: FlowRun | None) -> Any:
    if fr is not None and fr.task_runner is not None:
        return fr.task_runner
    global _default_runner
    if _default_runner is None:
        with _default_lock:
            if _default_runner is None:
                from headwater.runtime.task_runners import ThreadPoolTaskRunner

                _default_runner = ThreadPoolTaskRunner().__enter__()
    return _default_runner


def task(
    __fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    tags: Iterable[str] | None = None,
    version: str | None = None,
    task_run_name: str | Callable[[], str] | None = None,
    retries: int | None = None,
    retry_delay_seconds: Any = None,
    retry_jitter_factor: float | None = None,
    retry_condition_fn: Callable[..., bool] | None = None,
    timeout_seconds: float | None = None,
    cache_policy: CachePolicy | None = None,
    cache_key_fn: Callable[..., str | None] | None = None,
    cache_expiration: Any = None,
    refresh_cache: bool | None = None,
    persist_result: bool | None = None,
    result_storage: Any = None,
    result_serializer: str | None = None,
    log_prints: bool | None = None,
    on_completion: Any = None,
    on_failure: Any = None,
    on_running: Any = None,
    **prefect_015_options: Any,
) -> Any:
    """Make a function (sync or async) a task; use bare (``@task``) or with options.

    Args:
        name: Task name (default: the function's name).
        description: Description (default: the docstring).
        tags: Tags recorded on each task run.
        version: A version string for the task.
        task_run_name: Run name: a template over the parameters (``"load-{table}"``) or a callable.
        retries: How many times to retry a failed run.
        retry_delay_seconds: Delay before each retry: a number, a list (one per retry), or a
            callable such as ``exponential_backoff(backoff_factor=2)``.
        retry_jitter_factor: Randomly lengthen each delay by up to this factor.
        retry_condition_fn: ``fn(task, task_run, state) -> bool``; retry only when it returns True.
        timeout_seconds: Fail the run as ``TimedOut`` after this many seconds.
        cache_policy: ``INPUTS``, ``TASK_SOURCE``, ``FLOW_PARAMETERS``, ``NO_CACHE`` or a sum of them.
        cache_key_fn: ``fn(task_run, parameters) -> str | None`` (e.g. ``task_input_hash``).
        cache_expiration: How long a cached result stays valid (seconds or ``timedelta``).
        refresh_cache: Run even when a cached result exists, and replace it.
        persist_result: Store the result in ``result_storage`` (implied by caching).
        result_storage: A storage block (any ``ObjectStorage``) or ``"slug/name"`` of a saved one;
            default: files under ``HEADWATER_HOME/results``.
        result_serializer: ``"pickle"`` (default), ``"cloudpickle"`` or ``"json"``.
        log_prints: Send ``print()`` output to the run logger.
        on_completion: Hook(s) ``fn(task, task_run, state)`` called after a Completed run.
        on_failure: Hook(s) called after a Failed or TimedOut run.
        on_running: Hook(s) called when each attempt starts.
        prefect_015_options: Prefect 0.15's names, for 0.15-style flows: ``max_retries``,
            ``retry_delay`` (a timedelta), ``timeout``, ``log_stdout``, ``cache_for``,
            ``checkpoint`` (ignored), ``trigger``, ``skip_on_upstream_skip``, ``nout``.

    Example:
        >>> @task(retries=2, retry_delay_seconds=[1, 5])
        ... def download(url: str) -> bytes: ...
    """
    options = dict(
        name=name, description=description, tags=tags, version=version, task_run_name=task_run_name,
        retries=retries, retry_delay_seconds=retry_delay_seconds, retry_jitter_factor=retry_jitter_factor,
        retry_condition_fn=retry_condition_fn, timeout_seconds=timeout_seconds, cache_policy=cache_policy,
        cache_key_fn=cache_key_fn, cache_expiration=cache_expiration, refresh_cache=refresh_cache,
        persist_result=persist_result, result_storage=result_storage, result_serializer=result_serializer,
        log_prints=log_prints, on_completion=on_completion, on_failure=on_failure, on_running=on_running,
    )
    if prefect_015_options:
        return _legacy_task(__fn, options, prefect_015_options)
    if __fn is not None:
        return Task(__fn, **options)
    return lambda fn: Task(fn, **options)


def _legacy_task(fn: Callable[..., Any] | None, options: dict[str, Any], legacy: dict[str, Any]) -> Any:
    """``@task`` with Prefect 0.15 option names (``max_retries=``, ``trigger=``, ...)."""
    from headwater.runtime._v015_options import LEGACY_OPTIONS, translate

    unknown = sorted(set(legacy) - set(LEGACY_OPTIONS))
    if unknown:
        raise TypeError(f"task() got unknown option(s) {', '.join(unknown)} (see help(headwater.task))")
    translated, extra = translate(legacy)
    options.update({k: v for k, v in translated.items() if options.get(k) is None})

    def make(f: Callable[..., Any]) -> Task:
        made = Task(f, **options)
        made._v1_trigger = extra.get("trigger")
        made._v1_skip_on_upstream_skip = extra.get("skip_on_upstream_skip", True)
        made._v1_nout = extra.get("nout")
        return made

    return make(fn) if fn is not None else make


def async_twin(sync: Any, name: str) -> Task:
    """An async task named ``name`` that runs ``sync``'s function (a task or a plain function)
    in a worker thread: how a plugin offers the ``a``-prefixed names of Prefect's async tasks.

    Example:
        >>> aupload_to_bucket = async_twin(upload_to_bucket, "aupload_to_bucket")  # doctest: +SKIP
    """
    import functools

    fn = getattr(sync, "fn", sync)

    @functools.wraps(fn)
    async def twin(*args: Any, **kwargs: Any) -> Any:
        from headwater.blocks.core import to_thread

        return await to_thread(fn, *args, **kwargs)

    twin.__name__ = twin.__qualname__ = name
    return task(twin)
