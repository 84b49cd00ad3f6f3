"""Async dispatch: a sync-named call made from async code hands back its ``a``-twin's coroutine.

Prefect 3 lets async flows ``await Block.load("raw")``, ``await bucket.write_path(...)`` and
``await s3_download(...)``; the same names called from sync code run to completion. Headwater
decides the same way Prefect does:

* ``_sync=True`` forces the plain sync call, ``_sync=False`` the coroutine;
* no event loop running in the current thread (a script, a sync flow, a sync task in a worker
  thread): the plain sync call, at the cost of one lookup;
* an event loop running in this thread: the coroutine, unless the innermost Headwater run is
  a sync task or a sync flow (its body runs inline on the loop's thread and expects values).

A block method ``foo`` with an async twin ``afoo`` dispatches automatically (``Block``
subclasses are wrapped when defined); :func:`async_dispatch` does it for other classes and
:func:`headwater.runtime.dispatching.dispatch_task` for a task and its async twin.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

__all__ = ["async_dispatch", "call_sync", "dispatch_class", "in_async_context"]

F = TypeVar("F", bound=Callable[..., Any])

_running_loop: Callable[[], Any] | None = None
# Set while a call forced onto the sync path with _sync=True runs on a loop's thread, so that
# the sync-named calls it makes itself stay sync too.
_forced_sync: ContextVar[bool] = ContextVar("headwater_forced_sync", default=False)


def _loop_running() -> bool:
    global _running_loop
    get = _running_loop
    if get is None:
        asyncio = sys.modules.get("asyncio")
        if asyncio is None:  # never imported: no loop can be running
            return False
        get = _running_loop = asyncio.events._get_running_loop
    return get() is not None


def in_async_context() -> bool:
    """True when a sync-named call made here should return its async twin's coroutine.

    That is when an event loop runs in the current thread and the innermost Headwater run
    (task run, else flow run) is not a sync function; see the module docstring.
    """
    return _loop_running() and _async_caller()


def _async_caller() -> bool:
    if _forced_sync.get():
        return False
    # Looked up, not imported: blocks import this module, and the runtime imports blocks. If the
    # runtime was never imported, no run is active.
    context = sys.modules.get("headwater.runtime.context")
    if context is None:
        return True
    task_run = context._task_run_var.get()
    call = getattr(task_run, "_call", None) if task_run is not None else None
    if call:
        return bool(getattr(call[0], "is_async", True))
    flow_run = context._flow_run_var.get()
    flow = getattr(flow_run, "flow", None) if flow_run is not None else None
    if flow is not None:
        return bool(getattr(flow, "is_async", True))
    return True


def call_sync(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with every sync-named call made inside it kept on the sync path,
    even on an event loop's thread (how library code calls a block it was handed).

    Example:
        >>> data = call_sync(storage.read_path, "results/key")  # doctest: +SKIP
    """
    return _run_forced_sync(fn, args, kwargs)


def _run_forced_sync(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if not _loop_running():
        return fn(*args, **kwargs)
    token = _forced_sync.set(True)
    try:
        return fn(*args, **kwargs)
    finally:
        _forced_sync.reset(token)


def async_dispatch(twin: str | None = None) -> Callable[[F], F]:
    """Decorate a sync method so that, called from async code, it returns ``self.<twin>(...)``.

    Args:
        twin: Name of the async twin method; default ``"a" + the method's name``. It is
            looked up on the instance (or class) at call time, so subclasses may override it.

    Example:
        >>> class Store:
        ...     @async_dispatch()
        ...     def read(self, key): ...
        ...     async def aread(self, key): ...
    """

    def decorate(fn: F) -> F:
        return _dispatching(fn, twin or "a" + fn.__name__)  # type: ignore[return-value]

    return decorate


def _dispatching(fn: Callable[..., Any], twin: str) -> Callable[..., Any]:
    @functools.wraps(fn)
    def dispatcher(self: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs and "_sync" in kwargs:
            force = kwargs.pop("_sync")
            if force is not None:
                if force:
                    return _run_forced_sync(fn, (self, *args), kwargs)
                return getattr(self, twin)(*args, **kwargs)
        get = _running_loop
        if (get() is not None if get is not None else _loop_running()) and _async_caller():
            return getattr(self, twin)(*args, **kwargs)
        return fn(self, *args, **kwargs)

    dispatcher.__hw_dispatch__ = twin  # type: ignore[attr-defined]
    return dispatcher


def dispatch_class(cls: type) -> type:
    """Make every public sync method of ``cls`` that has an async ``a``-twin dispatch.

    Methods and classmethods defined in ``cls`` itself are wrapped (inherited ones were
    wrapped in their own class); already wrapped ones are left alone.
    """
    for name, attr in list(cls.__dict__.items()):
        if name.startswith("_"):
            continue
        twin = "a" + name
        target = getattr(cls, twin, None)
        if target is None or not inspect.iscoroutinefunction(target):
            continue
        if isinstance(attr, classmethod):
            func = attr.__func__
            if not hasattr(func, "__hw_dispatch__") and not inspect.iscoroutinefunction(func):
                type.__setattr__(cls, name, classmethod(_dispatching(func, twin)))
        elif (inspect.isfunction(attr) and not hasattr(attr, "__hw_dispatch__")
              and not inspect.iscoroutinefunction(attr)):
            type.__setattr__(cls, name, _dispatching(attr, twin))
    return cls
