"""Prefect 0.15's graph building: ``with Flow(...)``, ``Parameter``, task calls that add
nodes, ``map``/``unmapped``, ``upstream_tasks``, ``case``/``merge``.

Inside ``with Flow("name") as flow:`` calling a task does not run it: it adds a
:class:`Node` (0.15's bound task copy) to the flow and returns it, to be passed to other
tasks, indexed, or given as ``upstream_tasks``. ``flow.run()`` runs the graph
(:mod:`headwater.v1.engine`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from headwater.runtime._errors import GraphError
from headwater.runtime.context import _graph_var

__all__ = ["GraphError", "Node", "Parameter", "case", "merge"]


class Node:
    """A task bound to its inputs in a 0.15 flow (what a task call inside ``with Flow`` returns).

    Attributes:
        name: The task's name.
        task: The Headwater task it runs (None for parameters, indexing and ``merge``).
    """

    __slots__ = ("flow", "task", "name", "args", "kwargs", "mapped", "upstream", "conditions", "index",
                 "kind", "value", "__weakref__")

    def __init__(self, flow: Any, task: Any, name: str, args: tuple[Any, ...] = (),
                 kwargs: dict[str, Any] | None = None, mapped: bool = False, kind: str = "task",
                 value: Any = None) -> None:
        self.flow = flow
        self.task = task
        self.name = name
        self.args = args
        self.kwargs = kwargs or {}
        self.mapped = mapped
        self.upstream: list[Node] = []  # state-only dependencies (upstream_tasks=, set_upstream)
        self.conditions: tuple[tuple[Node, Any], ...] = flow._conditions if flow is not None else ()
        self.kind = kind
        self.value = value
        self.index = flow._add(self) if flow is not None else -1

    def __repr__(self) -> str:
        return f"<Task: {self.name}>"

    def __getitem__(self, key: Any) -> Node:
        return Node(self._flow_for("indexing"), None, f"{self.name}[{key!r}]", (self, key), kind="getitem")

    def __iter__(self) -> Iterator[Node]:
        nout = getattr(self.task, "_v1_nout", None)
        if not nout:
            raise GraphError(f"task {self.name!r} returns one value in a 0.15 flow: give it @task(nout=N) "
                             "to unpack N values, or index it (result[0])")
        return iter([self[i] for i in range(nout)])

    def _flow_for(self, what: str) -> Any:
        flow = _graph_var.get() or self.flow
        if flow is None:
            raise GraphError(f"{what} of task {self.name!r} needs a flow: do it inside `with Flow(...):`")
        return flow

    def set_upstream(self, task: Any, flow: Any = None, key: str | None = None, mapped: bool = False) -> None:
        """Make ``task`` run before this one (its result passed as ``key`` when given)."""
        (flow or self._flow_for("set_upstream")).set_dependencies(self, upstream_tasks=None if key else [task],
                                                                  keyword_tasks={key: task} if key else None)

    def set_downstream(self, task: Any, flow: Any = None, key: str | None = None, mapped: bool = False) -> None:
        """Make this task run before ``task``."""
        (flow or self._flow_for("set_downstream")).set_dependencies(task, upstream_tasks=None if key else [self],
                                                                    keyword_tasks={key: self} if key else None)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """The task's function, called directly (as 0.15's ``Task.run``)."""
        if self.task is None:
            raise GraphError(f"{self.name!r} is not a task with a function to run")
        return self.task.fn(*args, **kwargs)


class Parameter(Node):
    """A flow parameter (0.15's ``Parameter("n_users", default=10, required=False)``).

    Its value comes from ``flow.run(n_users=20)`` / ``flow.run(parameters={...})`` or its default.
    """

    __slots__ = ("default", "required")

    def __init__(self, name: str, default: Any = None, required: bool | None = None, tags: Any = None) -> None:
        flow = _graph_var.get()
        if flow is None:
            raise GraphError(f"Parameter({name!r}) is created inside `with Flow(...):` (0.15 style); in a "
                             "@flow function a parameter is a function argument: def my_flow(n_users: int = 10)")
        if name in flow._parameters:
            raise GraphError(f"flow {flow.name!r} has two Parameters named {name!r}: give each a distinct name")
        self.default = default
        self.required = bool(required) if required is not None else False
        super().__init__(flow, None, name, kind="parameter")
        flow._parameters[name] = self


def _call_node(flow: Any, task: Any, args: tuple[Any, ...], kwargs: dict[str, Any], mapped: bool) -> Node:
    upstream = kwargs.pop("upstream_tasks", None) or []
    task_args = kwargs.pop("task_args", None) or {}
    kwargs.pop("flow", None)
    kwargs.pop("mapped", None)
    if task_args:  # 0.15: options for this call only
        task = task.with_options(**_task_options(task_args))
    node = Node(flow, task, task.name, tuple(args), kwargs, mapped=mapped)
    node.upstream.extend(_as_node(flow, u) for u in upstream)
    return node


def _task_options(legacy: dict[str, Any]) -> dict[str, Any]:
    from headwater.runtime._v015_options import translate

    options, _ = translate(dict(legacy))
    return options


def _as_node(flow: Any, value: Any) -> Node:
    if isinstance(value, Node):
        return value
    if hasattr(value, "fn") and hasattr(value, "task_key"):  # a task not called yet: call it with no arguments
        return _call_node(flow, value, (), {}, False)
    raise GraphError(f"upstream_tasks takes tasks of the flow, not {type(value).__name__} {value!r}")


@contextmanager
def case(task: Any, value: Any) -> Iterator[None]:
    """Tasks added inside run only when ``task``'s result equals ``value``; else they are Skipped.

    Example:
        >>> with case(is_weekend, True):  # doctest: +SKIP
        ...     report = weekend_report()
    """
    flow = _graph_var.get()
    if flow is None:
        raise GraphError("case(...) is used inside `with Flow(...):`; in a @flow function use a plain `if`")
    node = _as_node(flow, task)
    previous = flow._conditions
    flow._conditions = (*previous, (node, value))
    try:
        yield
    finally:
        flow._conditions = previous


def merge(*tasks: Any, flow: Any = None) -> Node:
    """The result of the first of ``tasks`` that was not skipped (joins the branches of ``case``)."""
    flow = flow or _graph_var.get()
    if flow is None:
        raise GraphError("merge(...) is used inside `with Flow(...):`; in a @flow function use a plain `if`")
    node = Node(flow, None, "merge", tuple(_as_node(flow, t) for t in tasks), kind="merge")
    node.conditions = ()  # a merge runs after the branches, whichever ran
    return node
