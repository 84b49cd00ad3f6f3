"""The runtime context: which flow run and task run the current code belongs to.

``headwater.runtime.flow_run`` and ``headwater.runtime.task_run`` are accessors: reading
``flow_run.id`` inside a flow gives the run's id, and ``None`` outside any run.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import count
from typing import Any

__all__ = ["FlowRun", "TaskRun", "deployment", "flow_run", "new_id", "tags", "task_run"]

_flow_run_var: ContextVar[FlowRun | None] = ContextVar("headwater_flow_run", default=None)
_task_run_var: ContextVar[TaskRun | None] = ContextVar("headwater_task_run", default=None)
_tags_var: ContextVar[tuple[str, ...]] = ContextVar("headwater_tags", default=())
_graph_var: ContextVar[Any] = ContextVar("headwater_graph", default=None)  # a Prefect 0.15 flow being built


@contextmanager
def tags(*new_tags: str) -> Iterator[set[str]]:
    """Add tags to every flow and task run created inside the ``with`` block (Prefect's ``tags``).

    Nested blocks add up. Yields the set of tags now current.

    Example:
        >>> with tags("nightly", "db"):  # doctest: +SKIP
        ...     load()   # its task run is tagged nightly and db
    """
    current = _tags_var.get()
    token = _tags_var.set(tuple(dict.fromkeys((*current, *new_tags))))
    try:
        yield set(_tags_var.get())
    finally:
        _tags_var.reset(token)


def with_current_tags(own: tuple[str, ...]) -> tuple[str, ...]:
    """A run's tags: its own and those of the enclosing ``with tags(...)`` blocks."""
    extra = _tags_var.get()
    return tuple(dict.fromkeys((*own, *extra))) if extra else own

_id_lock = threading.Lock()
_prefix = os.urandom(10).hex()
_counter = count(1)


def _reseed() -> None:
    global _prefix, _counter
    _prefix = os.urandom(10).hex()
    _counter = count(1)


os.register_at_fork(after_in_child=_reseed)


_preset_root_id: str | None = None
_preset_root_name: str | None = None


def preset_flow_run_id(run_id: str | None, name: str | None = None) -> None:
    """Give the next top-level flow run of this process the id ``run_id`` and, unless the flow
    renders its own ``flow_run_name``, the name ``name`` (a deployment's run keeps the id and
    name it was queued under)."""
    global _preset_root_id, _preset_root_name
    _preset_root_id, _preset_root_name = run_id, name


def take_preset_flow_run_id() -> str | None:
    global _preset_root_id
    run_id, _preset_root_id = _preset_root_id, None
    return run_id


def take_preset_flow_run_name() -> str | None:
    global _preset_root_name
    name, _preset_root_name = _preset_root_name, None
    return name


def new_id() -> str:
    """A new run id: 32 hex characters, unique across processes (random prefix + counter)."""
    n = next(_counter)  # itertools.count is atomic under the GIL
    return f"{_prefix}{n:012x}"


class FlowRun:
    """A flow run as seen from inside it (``headwater.runtime.flow_run``).

    Attributes:
        id: The run's id (also shown by ``headwater runs ls``).
        name: The run's name.
        flow_name: The flow's name.
        parameters: The bound parameters.
        run_count: 1 on the first attempt, 2 on the first retry, ...
        tags: Tags of the flow run.
        parent_flow_run_id: For a subflow, the id of the calling flow run.
        parent_task_run_id: For a subflow, the id of the task-run record standing for it in the parent.
    """

    __slots__ = (
        "id", "name", "flow_name", "flow", "parameters", "run_count", "tags", "parent_flow_run_id",
        "parent_task_run_id", "state", "started", "created", "transitions", "task_runner", "sink",
        "log_prints", "futures", "result_storage", "persist_result", "__weakref__",
    )

    def __init__(self, id: str, name: str, flow_name: str, flow: Any = None, parameters: dict[str, Any] | None = None,
                 tags: tuple[str, ...] = (), sink: Any = None) -> None:
        self.id = id
        self.name = name
        self.flow_name = flow_name
        self.flow = flow
        self.parameters = parameters or {}
        self.run_count = 0
        self.tags = tags
        self.parent_flow_run_id: str | None = None
        self.parent_task_run_id: str | None = None
        self.state: Any = None
        self.started: float | None = None
        self.created: float = 0.0
        self.transitions: list[tuple[str, float]] = []
        self.task_runner: Any = None
        self.sink = sink
        self.log_prints = False
        self.futures: list[Any] = []
        self.result_storage: Any = None
        self.persist_result: bool | None = None

    def __repr__(self) -> str:
        return f"FlowRun(id={self.id!r}, name={self.name!r}, flow_name={self.flow_name!r})"


class TaskRun:
    """A task run as seen from inside it (``headwater.runtime.task_run``).

    Attributes:
        id: The run's id.
        name: The run's name (``task_run_name`` or the task's name).
        task_name: The task's name.
        task_key: A stable key of the task (module-qualified name).
        flow_run_id: The enclosing flow run's id, or None for a task called outside a flow.
        parameters: The call's parameters (futures resolved).
        run_count: 1 on the first attempt, 2 on the first retry, ...
        tags: Tags of the task run.
    """

    __slots__ = (
        "id", "name", "task_name", "task_key", "flow_run_id", "_parameters", "_call", "run_count", "tags", "state",
        "started", "ended", "transitions", "cache_key", "sink", "log_prints", "upstream", "metadata",
        "flow_run_name", "hparams", "state_type", "state_name", "message", "__weakref__",
    )

    def __init__(self, id: str, name: str, task_name: str, task_key: str, flow_run_id: str | None,
                 parameters: dict[str, Any] | None, tags: tuple[str, ...], sink: Any) -> None:
        self.id = id
        self.name = name
        self.task_name = task_name
        self.task_key = task_key
        self.flow_run_id = flow_run_id
        self._parameters = parameters
        self._call: Any = None
        self.run_count = 0
        self.tags = tags
        self.state: Any = None
        self.started: float | None = None
        self.ended: float | None = None
        self.transitions: list[tuple[str, float]] = []
        self.cache_key: str | None = None
        self.sink = sink
        self.log_prints = False
        self.upstream: tuple[str, ...] = ()
        self.metadata: dict[str, Any] | None = None
        self.flow_run_name: str | None = None
        self.hparams: dict[str, Any] | None = None
        self.state_type = "PENDING"
        self.state_name = "Pending"
        self.message: str | None = None

    @property
    def parameters(self) -> dict[str, Any]:
        """The call's arguments by name (computed on first access)."""
        if self._parameters is None:
            task, args, kwargs = self._call
            self._parameters = task._fast_params(args, kwargs)
        return self._parameters

    @parameters.setter
    def parameters(self, value: dict[str, Any] | None) -> None:
        self._parameters = value

    def __repr__(self) -> str:
        return f"TaskRun(id={self.id!r}, name={self.name!r})"


class _Accessor:
    """Attribute access on the current run; every attribute is None outside a run."""

    __slots__ = ("_var", "_kind")

    def __init__(self, var: ContextVar[Any], kind: str) -> None:
        self._var = var
        self._kind = kind

    def get(self) -> Any:
        """The current run object, or None."""
        return self._var.get()

    def __getattr__(self, name: str) -> Any:
        run = self._var.get()
        if run is None:
            if name.startswith("_"):
                raise AttributeError(name)
            return None
        try:
            return getattr(run, name)
        except AttributeError:
            if name not in _DERIVED:
                raise
            return _DERIVED[name](run)

    def __bool__(self) -> bool:
        return self._var.get() is not None

    def __repr__(self) -> str:
        return f"<current {self._kind}: {self._var.get()!r}>"

    def __reduce__(self) -> str:
        # By reference: task functions shipped to worker processes (Dask, process pools) refer to it.
        return self._kind.replace(" ", "_")


def _of_deployment(run: Any, key: str, default: Any = None) -> Any:
    """A field of the deployment whose run ``run`` is (not of its subflows' runs)."""
    info = _current_deployment
    if info is None or info.get("flow_run_id") != run.id:
        return default
    value = info.get(key)
    return default if value is None else value


def _start_time(run: Any) -> Any:
    import datetime as dt

    when = _of_deployment(run, "scheduled_time") or getattr(run, "created", None) or getattr(run, "started", None)
    return dt.datetime.fromtimestamp(when, dt.timezone.utc) if when else None


# Prefect's runtime attributes that are not fields of a run here.
_DERIVED: dict[str, Any] = {
    "scheduled_start_time": _start_time,
    "flow_version": lambda run: getattr(run.flow, "version", None),
    "root_flow_run_id": lambda run: run.id if run.parent_flow_run_id is None else None,
    "api_url": lambda run: None,
    "ui_url": lambda run: None,
    "job_variables": lambda run: dict(_of_deployment(run, "job_variables", {})),
    "deployment_id": lambda run: _of_deployment(run, "id"),
}

flow_run = _Accessor(_flow_run_var, "flow run")
task_run = _Accessor(_task_run_var, "task run")


_shield = [0, False]  # depth, a cancel pending; the main thread's (signal handlers run there)


@contextmanager
def cancel_shield() -> Iterator[None]:
    """Hold back a worker's cancel (its SIGTERM handler raises in the main thread) until the
    block ends: raised in the middle of a store transaction or of the history writer's flush,
    it would leave the connection inside the transaction, so the run's Cancelled state could
    not be written and the run ended Crashed. A cancel that came meanwhile is raised at the end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _shield[0] += 1
    try:
        yield
    finally:
        _shield[0] -= 1
        if not _shield[0] and _shield[1]:
            import signal

            _shield[1] = False
            signal.raise_signal(signal.SIGTERM)  # the handler runs again, now outside the shield


def defer_cancel() -> bool:
    """For a cancel signal's handler: True (the cancel is remembered) inside :func:`cancel_shield`."""
    if _shield[0]:
        _shield[1] = True
        return True
    return False


_current_deployment: dict[str, Any] | None = None
_loading_flows = 0


def set_current_deployment(info: dict[str, Any] | None) -> None:
    """Name the deployment whose run this process executes (the orchestration's run process
    calls it): ``id``, ``name`` (``flow/deployment``), ``flow_run_id``, and ``load`` (a
    function returning the saved deployment, read on first use of its other fields)."""
    global _current_deployment
    _current_deployment = dict(info) if info else None


def loading_flow() -> bool:
    """True while a worker or ``headwater run`` imports a flow's file (Prefect 0.15's
    ``context.loading_flow``: a module-level ``flow.run()``/``flow.register()`` must do nothing)."""
    return _loading_flows > 0


class _LoadingFlows:
    def __enter__(self) -> None:
        global _loading_flows
        _loading_flows += 1

    def __exit__(self, *exc: Any) -> None:
        global _loading_flows
        _loading_flows -= 1


loading_flows = _LoadingFlows()


class _DeploymentAccessor:
    """``headwater.runtime.deployment``: Prefect's deployment accessor.

    Inside a run of a deployment (started by a worker or ``serve``): ``id``, ``name``,
    ``flow_run_id``, ``parameters`` (the deployment's saved parameters), ``version``, ``tags``,
    ``work_pool_name``, ``flow_name``. Anywhere else every attribute is None (``parameters``
    and ``tags`` are empty), as in Prefect for a run that no deployment started.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        info = _current_deployment
        empty = {} if name == "parameters" else [] if name == "tags" else None
        if info is None:
            return empty
        if name in ("id", "flow_run_id"):
            return info.get(name)
        if name in ("name", "full_name"):
            full = info.get("name") or ""
            return full if name == "full_name" else full.partition("/")[2] or full
        saved = info.get("saved")
        if saved is None and info.get("load") is not None:
            try:
                saved = info["saved"] = info["load"]()
            except Exception:  # deleted since the run was queued: what the run itself knows
                saved = info["saved"] = False
        if not saved:
            return empty
        value = getattr(saved, name, None)
        if value is None:
            return empty
        return dict(value) if isinstance(value, dict) else list(value) if isinstance(value, list) else value

    def __bool__(self) -> bool:
        return _current_deployment is not None

    def __repr__(self) -> str:
        info = _current_deployment
        return f"<current deployment: {info['name']}>" if info else "<current deployment: None>"

    def __reduce__(self) -> str:
        return "deployment"


deployment = _DeploymentAccessor()
