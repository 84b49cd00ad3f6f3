"""Tasks with an async twin that dispatch to it from async code (Prefect 3's ``async_dispatch``).

``dispatch_task(download_from_bucket, adownload_from_bucket)`` keeps the task a task
(``.submit``, ``.map``, ``.with_options``) while ``await download_from_bucket(...)`` works in an
async flow. The decision rule is :mod:`headwater.dispatch`'s.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from headwater.dispatch import call_sync, in_async_context
from headwater.runtime.tasks import Task

__all__ = ["DispatchingTask", "dispatch_task"]


class DispatchingTask(Task):
    """A task whose call returns its async twin's coroutine when made from async code
    (``aio`` is the twin); ``_sync=True`` forces the sync run. Built by :func:`dispatch_task`."""

    aio: Any

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        force = kwargs.pop("_sync", None) if kwargs else None
        if force is False or (force is None and in_async_context()):
            return self.aio(*args, **kwargs)
        if force:
            return call_sync(super().__call__, *args, **kwargs)
        return super().__call__(*args, **kwargs)

    def with_options(self, **options: Any) -> Any:
        copy = Task.with_options(self, **options)
        # the copy's function is this task's wrapped body: keep the original's identity (cache keys)
        copy.task_key, copy.cache_identity = self.task_key, self.cache_identity
        return dispatch_task(copy, self.aio.with_options(**options))


def dispatch_task(sync: Any, twin: Any) -> Any:
    """``sync`` (a task or a plain function) that returns ``twin(...)`` when called from async code.

    The result is still a task (``.submit``, ``.map``, ``.with_options`` work as before);
    ``_sync=True`` forces the sync run.
    """
    if not isinstance(sync, Task):

        @functools.wraps(sync)
        def dispatcher(*args: Any, **kwargs: Any) -> Any:
            force = kwargs.pop("_sync", None) if kwargs else None
            if force is False or (force is None and in_async_context()):
                return twin(*args, **kwargs)
            return call_sync(sync, *args, **kwargs)

        dispatcher.aio = twin  # type: ignore[attr-defined]
        return dispatcher
    new = DispatchingTask.__new__(DispatchingTask)
    new.__dict__.update(sync.__dict__)
    new.aio = twin
    if not hasattr(new.fn, "__hw_sync_body__"):
        new.fn = _sync_body(new.fn)
    return new


def _sync_body(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` whose own sync-named calls stay sync wherever it runs (a task's body, or ``.fn``
    called straight from an async flow)."""

    @functools.wraps(fn)
    def body(*args: Any, **kwargs: Any) -> Any:
        return call_sync(fn, *args, **kwargs)

    body.__hw_sync_body__ = True  # type: ignore[attr-defined]
    return body
