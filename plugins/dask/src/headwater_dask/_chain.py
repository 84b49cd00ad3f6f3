"""Chaining: a call whose inputs are futures of this runner is submitted at once, depending on
the upstream Dask futures, so upstream results go worker to worker instead of through the flow.

The call's futures are replaced by :class:`~headwater_dask._worker.UpstreamValue` markers that
the worker fills in from the upstream outcomes. When an upstream run did not complete (or its
worker died), the worker does not run the call; the runner then falls back to resolving the
inputs in the flow's process, which records the failure exactly as the thread runner does.
"""

from __future__ import annotations

from typing import Any

from headwater.runtime.futures import HeadwaterFuture

from headwater_dask._worker import UpstreamValue

_CONTAINERS = (list, tuple, set, frozenset, dict)


class _NotChainable(Exception):
    pass


class Chain:
    """The Dask futures a call depends on, and its inputs with markers in place of futures."""

    def __init__(self, owned: dict[str, Any]) -> None:
        self._owned = owned
        self._index: dict[str, int] = {}
        self.values: list[Any] = []
        self.upstream_ids: list[str] = []

    def substitute(self, value: Any) -> Any:
        t = type(value)
        if t is HeadwaterFuture:
            run_id = value.task_run_id
            index = self._index.get(run_id)
            if index is None:
                dask_future = self._owned.get(run_id)
                if dask_future is None:
                    raise _NotChainable
                index = self._index[run_id] = len(self.values)
                self.values.append(dask_future)
                self.upstream_ids.append(run_id)
            return UpstreamValue(index)
        if t in _CONTAINERS:
            if t is dict:
                return {k: self.substitute(v) for k, v in value.items()}
            return t(self.substitute(v) for v in value)
        if hasattr(value, "is_completed") and hasattr(value, "result") and type(value).__name__ == "State":
            raise _NotChainable  # a State passed as input: let the runtime resolve it
        return value


def chain_call(call: Any, owned: dict[str, Any]) -> tuple[Chain, list[Any], tuple[Any, ...]] | None:
    """Swap ``call``'s futures for markers; returns the chain, the ``wait_for`` Dask futures and
    what :func:`restore` needs, or None (call untouched) when an input is not this runner's."""
    chain = Chain(owned)
    tr = call.task_run
    eager = getattr(tr, "_parameters", None)
    try:
        args = tuple(chain.substitute(a) for a in call.args)
        kwargs = {k: chain.substitute(v) for k, v in call.kwargs.items()}
        params = {k: chain.substitute(v) for k, v in eager.items()} if eager is not None else None
        waits = []
        for f in call.wait_for:
            if type(f) is not HeadwaterFuture or f.task_run_id not in owned:
                raise _NotChainable
            waits.append(owned[f.task_run_id])
    except _NotChainable:
        return None
    saved = (call.args, call.kwargs, call.wait_for, eager, getattr(tr, "_call", None), call._unresolved)
    call.args, call.kwargs, call.wait_for, call._unresolved = args, kwargs, (), False
    tr._parameters = params
    tr._call = (call.task, args, kwargs)
    for f in saved[2]:
        if f.task_run_id not in chain.upstream_ids:
            chain.upstream_ids.append(f.task_run_id)
    return chain, waits, saved


def restore(call: Any, saved: tuple[Any, ...]) -> None:
    """Put back the call's original inputs (the runtime resolves them itself if it must)."""
    call.args, call.kwargs, call.wait_for, eager, lazy, call._unresolved = saved
    call.task_run._parameters, call.task_run._call = eager, lazy


def record_lineage(call: Any, upstream_ids: list[str]) -> None:
    """Record the upstream edges the runtime would record when resolving the inputs itself."""
    from headwater.runtime import _record

    tr = call.task_run
    tr.upstream = tuple(upstream_ids)
    for up in tr.upstream:
        _record.edge(tr.sink, up, tr.id, tr.flow_run_id)
