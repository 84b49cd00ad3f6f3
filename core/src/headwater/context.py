"""Prefect's ``prefect.context``: the run contexts of Prefect 3 and the context of Prefect 0.15.

Prefect 3: ``get_run_context()``, ``FlowRunContext.get()``, ``TaskRunContext.get()``, ``tags``.

Prefect 0.15: the module reads like 0.15's ``prefect.context`` object inside a task or flow:
``headwater.context.logger``, ``.flow_name``, ``.flow_run_id``, ``.flow_run_name``,
``.task_name``, ``.task_run_id``, ``.task_full_name``, ``.map_index``, ``.task_run_count``,
``.parameters``, ``.scheduled_start_time``, ``.date``, ``.today``, ``.yesterday``,
``.tomorrow``, ``.today_nodash`` (and the other ``*_nodash``); ``context.get(key, default)``,
``context[key]``, ``key in context`` and ``with context(key=value):`` for values of your own.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from headwater.runtime.context import FlowRun, TaskRun, _flow_run_var, _task_run_var, tags

__all__ = ["FlowRunContext", "TaskRunContext", "get_run_context", "tags"]

_user_values: ContextVar[dict[str, Any] | None] = ContextVar("headwater_user_context", default=None)


class FlowRunContext:
    """The current flow run, as Prefect's ``FlowRunContext`` (``.flow_run``, ``.flow``, ``.parameters``)."""

    def __init__(self, flow_run: FlowRun) -> None:
        self.flow_run = flow_run
        self.flow = flow_run.flow
        self.parameters = flow_run.parameters
        self.task_runner = flow_run.task_runner

    @classmethod
    def get(cls) -> FlowRunContext | None:
        """The current flow run's context, or None outside a flow run."""
        fr = _flow_run_var.get()
        return cls(fr) if fr is not None else None


class TaskRunContext:
    """The current task run, as Prefect's ``TaskRunContext`` (``.task_run``, ``.task``, ``.parameters``)."""

    def __init__(self, task_run: TaskRun) -> None:
        self.task_run = task_run
        call = task_run._call
        self.task = call[0] if call else None
        self.parameters = task_run.parameters if call else {}

    @classmethod
    def get(cls) -> TaskRunContext | None:
        """The current task run's context, or None outside a task run."""
        tr = _task_run_var.get()
        return cls(tr) if tr is not None else None


def get_run_context() -> TaskRunContext | FlowRunContext:
    """The innermost run's context: the task run's, else the flow run's.

    Raises:
        MissingContextError: Outside any flow or task run.
    """
    ctx = TaskRunContext.get() or FlowRunContext.get()
    if ctx is None:
        from headwater.runtime._errors import MissingContextError

        raise MissingContextError("get_run_context() was called outside a flow or task run")
    return ctx


# -- Prefect 0.15's context object -------------------------------------------------------------


def _dates() -> dict[str, Any]:
    import datetime as dt

    fr = _flow_run_var.get()
    created = getattr(fr, "created", None) or None
    start = dt.datetime.fromtimestamp(created, dt.timezone.utc) if created else dt.datetime.now(dt.timezone.utc)
    day = start.date()
    values: dict[str, Any] = {"scheduled_start_time": start, "date": start}
    one = dt.timedelta(days=1)
    for key, when in (("today", day), ("yesterday", day - one), ("tomorrow", day + one)):
        values[key] = when.isoformat()
        values[f"{key}_nodash"] = when.strftime("%Y%m%d")
    return values


def _value(key: str) -> Any:
    """A 0.15 context key's value now; KeyError when it has none."""
    user = _user_values.get() or {}
    if key in user:
        return user[key]
    fr, tr = _flow_run_var.get(), _task_run_var.get()
    if key == "logger":
        if fr is None and tr is None:
            from headwater.logging import get_logger

            return get_logger()
        from headwater.runtime._record import get_run_logger

        return get_run_logger()
    if fr is not None:
        if key == "flow_name":
            return fr.flow_name
        if key == "flow_run_id":
            return fr.id
        if key == "flow_run_name":
            return fr.name
        if key == "parameters":
            return dict(fr.parameters)
        if key == "flow_run_version":
            return fr.run_count
    if tr is not None:
        if key in ("task_name", "task_slug"):
            return tr.task_name
        if key == "task_full_name":
            return tr.name
        if key == "task_run_id":
            return tr.id
        if key == "task_run_count":
            return tr.run_count
        if key == "task_tags":
            return set(tr.tags)
        if key == "map_index":
            name = tr.name.rsplit("-", 1)
            return int(name[1]) if len(name) == 2 and name[1].isdigit() else None
    if key in ("scheduled_start_time", "date") or key.startswith(("today", "yesterday", "tomorrow")):
        dates = _dates()
        if key in dates:
            return dates[key]
    raise KeyError(key)


class _ContextModule(types.ModuleType):
    """This module, made to behave like Prefect 0.15's ``prefect.context`` object too."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return _value(name)
        except KeyError:
            raise AttributeError(
                f"headwater.context has no {name!r} here: inside a run it has logger, flow_name, flow_run_id, "
                "flow_run_name, task_name, task_run_id, parameters, today, ...; set your own with "
                "`with headwater.context(name=value):`"
            ) from None

    def get(self, key: str, default: Any = None) -> Any:
        """A context value, or ``default`` (as 0.15's ``prefect.context.get``)."""
        try:
            return _value(key)
        except KeyError:
            return default

    def __getitem__(self, key: str) -> Any:
        return _value(key)

    def __contains__(self, key: object) -> bool:
        try:
            _value(str(key))
        except KeyError:
            return False
        return True

    def to_dict(self) -> dict[str, Any]:
        """Every context value available now, as a dict."""
        keys = ("flow_name", "flow_run_id", "flow_run_name", "parameters", "task_name", "task_full_name",
                "task_run_id", "task_run_count", "map_index", "scheduled_start_time", "date", "today",
                "yesterday", "tomorrow", "today_nodash", "yesterday_nodash", "tomorrow_nodash")
        found = {k: self.get(k) for k in keys if k in self}
        found.update(_user_values.get() or {})
        return found

    @contextmanager
    def __call__(self, *args: dict[str, Any], **values: Any) -> Iterator[_ContextModule]:
        """``with headwater.context(key=value):`` makes ``headwater.context.key`` read ``value``."""
        merged = dict(_user_values.get() or {})
        for mapping in args:
            merged.update(mapping)
        merged.update(values)
        token = _user_values.set(merged)
        try:
            yield self
        finally:
            _user_values.reset(token)


sys.modules[__name__].__class__ = _ContextModule
