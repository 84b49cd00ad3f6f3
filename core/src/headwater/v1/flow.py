"""Prefect 0.15's ``Flow``: ``with Flow("name") as flow: ...`` then ``flow.run(...)``.

The run goes through Headwater's engine: one flow run in the history (``headwater runs ls``)
and one task run per task, with retries, timeouts, caching and logs as with ``@flow``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from headwater.runtime.context import _graph_var
from headwater.runtime.flows import Flow as FunctionFlow
from headwater.v1.graph import GraphError, Node, Parameter, _as_node, _call_node

__all__ = ["Flow"]


class _EitherFlow(type):
    """``isinstance(x, headwater.Flow)`` holds for both kinds of flow ``headwater.Flow`` makes."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return type.__instancecheck__(cls, obj) or isinstance(obj, FunctionFlow)


class Flow(metaclass=_EitherFlow):
    """``headwater.Flow``: ``Flow("name")`` is a Prefect 0.15 flow, a graph of tasks built inside
    ``with Flow(name) as flow:``; ``Flow(fn, ...)`` is Prefect 3's, what ``@flow`` makes
    (:class:`headwater.runtime.Flow`).

    Args:
        name: The flow's name (shown by ``headwater runs ls``).
        schedule: An ``IntervalSchedule``, ``CronSchedule`` or ``Schedule``: ``flow.run()``
            runs the flow at each of its times.
        tasks: Tasks to add without calling them.
        edges: Ignored unless empty (build edges with ``set_dependencies``).
        executor, storage, run_config, result, state_handlers: Accepted for 0.15 code;
            the run uses Headwater's engine (tasks run one after another, mapped children
            on a thread pool).

    Example:
        >>> with Flow("Users report") as flow:  # doctest: +SKIP
        ...     n = Parameter("n_users", default=10)
        ...     save(parse(fetch(n)))
        >>> state = flow.run(n_users=20)        # doctest: +SKIP
    """

    def __new__(cls, name: Any = None, *args: Any, **kwargs: Any) -> Any:
        if name is not None and not isinstance(name, str) and callable(name):
            from headwater._deployable import Flow as DeployableFlow  # what @flow makes: it can serve and deploy

            return DeployableFlow(name, *args, **kwargs)
        return super().__new__(cls)

    @staticmethod
    def from_source(source: Any, entrypoint: str) -> Any:
        """Prefect 3's ``Flow.from_source(source, entrypoint)``: the flow at ``entrypoint`` in
        ``source`` (a folder, a git URL or a storage block), ready to ``deploy``."""
        from headwater._deployable import Flow as DeployableFlow

        return DeployableFlow.from_source(source, entrypoint)

    def __init__(self, name: str | None = None, schedule: Any = None, tasks: Iterable[Any] | None = None,
                 edges: Any = None, **accepted: Any) -> None:
        if not isinstance(name, str) or not name.strip():
            raise GraphError(f"Flow(name) takes the flow's name as a string, got {name!r}; to make a function a "
                             "flow, use @flow")
        self.name = name
        self.schedule = schedule
        self._nodes: list[Node] = []
        self._parameters: dict[str, Parameter] = {}
        self._conditions: tuple[tuple[Node, Any], ...] = ()
        self._token: Any = None
        self._hw_flow: Any = None
        for t in tasks or ():
            self.add_task(t)

    # -- building ---------------------------------------------------------------------------

    def __enter__(self) -> Flow:
        if _graph_var.get() is not None:
            raise GraphError("`with Flow(...)` blocks do not nest: build one flow at a time")
        self._token = _graph_var.set(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _graph_var.reset(self._token)
        self._token = None

    def add_call(self, task: Any, args: tuple[Any, ...], kwargs: dict[str, Any], mapped: bool) -> Node:
        """A task call (or ``.map``) inside ``with Flow``: a node of the graph (called by ``Task``)."""
        return _call_node(self, task, args, dict(kwargs), mapped)

    def _add(self, node: Node) -> int:
        self._nodes.append(node)
        self._hw_flow = None
        return len(self._nodes) - 1

    @property
    def tasks(self) -> set[Node]:
        """Every task of the flow (its nodes)."""
        return set(self._nodes)

    def parameters(self) -> set[Parameter]:
        """The flow's parameters."""
        return set(self._parameters.values())

    def get_tasks(self, name: str | None = None) -> list[Node]:
        """The flow's tasks, or those with this name."""
        return [n for n in self._nodes if name is None or n.name == name]

    def add_task(self, task: Any) -> Node:
        """Add a task (not called: it runs with no arguments) and return its node."""
        return _as_node(self, task)

    def set_dependencies(self, task: Any, upstream_tasks: Iterable[Any] | None = None,
                         downstream_tasks: Iterable[Any] | None = None, keyword_tasks: dict[str, Any] | None = None,
                         mapped: bool = False, validate: bool | None = None) -> None:
        """0.15's functional API: ``task`` runs after ``upstream_tasks``, before ``downstream_tasks``,
        and receives ``keyword_tasks``' results as keyword arguments."""
        token = None if _graph_var.get() is self else _graph_var.set(self)
        try:
            node = task if isinstance(task, Node) else _as_node(self, task)
            if keyword_tasks:
                node.kwargs.update(keyword_tasks)
            if mapped:
                node.mapped = True
            node.upstream.extend(_as_node(self, u) for u in upstream_tasks or ())
            for d in downstream_tasks or ():
                _as_node(self, d).upstream.append(node)
        finally:
            if token is not None:
                _graph_var.reset(token)
        self._hw_flow = None

    def add_edge(self, upstream_task: Any, downstream_task: Any, key: str | None = None, mapped: bool = False) -> None:
        """``downstream_task`` runs after ``upstream_task`` (receiving its result as ``key`` when given)."""
        if key is not None:
            self.set_dependencies(downstream_task, keyword_tasks={key: upstream_task}, mapped=mapped)
        else:
            self.set_dependencies(downstream_task, upstream_tasks=[upstream_task], mapped=mapped)

    def chain(self, *tasks: Any) -> None:
        """Each task runs after the one before it."""
        for up, down in zip(tasks, tasks[1:], strict=False):
            self.add_edge(up, down)

    # -- running ----------------------------------------------------------------------------

    def run(self, parameters: dict[str, Any] | None = None, run_on_schedule: bool | None = None,
            context: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Run the flow (at each time of its schedule, if it has one) and return its 0.15 state.

        ``state.result[task]`` is each task's state (``.result`` its value, ``.is_failed()``, ...).

        Raises:
            GraphError: An unknown parameter, or a required one missing.
        """
        from headwater.runtime.context import loading_flow

        if loading_flow():  # a module-level flow.run() while a worker or `headwater run` imports the file
            return None
        kwargs.pop("executor", None)
        kwargs.pop("runner_cls", None)
        kwargs.pop("task_runner_state_handlers", None)
        params = self._check_parameters({**(parameters or {}), **kwargs})
        if self.schedule is not None and run_on_schedule is not False:
            return self._run_on_schedule(params, context)
        return self._run_once(params, context)

    def _check_parameters(self, given: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(given) - set(self._parameters))
        if unknown:
            known = ", ".join(self._parameters) or "none"
            raise GraphError(f"Flow {self.name!r}.run() got unknown parameter(s) {', '.join(unknown)} "
                             f"(its Parameters: {known})")
        missing = sorted(n for n, p in self._parameters.items() if p.required and n not in given)
        if missing:
            raise GraphError(f"Flow {self.name!r}.run() needs the required parameter(s) {', '.join(missing)}: "
                             f"flow.run({missing[0]}=...)")
        return {n: given.get(n, p.default) for n, p in self._parameters.items()}

    def _run_once(self, params: dict[str, Any], context: dict[str, Any] | None) -> Any:
        from headwater.v1.engine import run_graph

        if context:
            import headwater.context as hw_context

            with hw_context(**context):
                return run_graph(self, params)
        return run_graph(self, params)

    def _run_on_schedule(self, params: dict[str, Any], context: dict[str, Any] | None) -> Any:
        import datetime as dt

        state = None
        after = None
        while True:
            upcoming = self.schedule.next(1, after=after)
            if not upcoming:
                return state
            when = upcoming[0]
            wait = (when - dt.datetime.now(dt.timezone.utc)).total_seconds()
            if wait > 0:
                time.sleep(wait)
            state = self._run_once(params, context)
            after = when

    # -- other 0.15 methods -----------------------------------------------------------------

    def visualize(self, flow_state: Any = None, filename: str | None = None, format: str | None = None) -> Any:
        """The flow's graph as a ``graphviz.Digraph`` (rendered to ``filename`` when given).

        Raises:
            GraphError: The graphviz package is not installed.
        """
        try:
            import graphviz
        except ImportError:
            raise GraphError("flow.visualize() needs the graphviz package: pip install graphviz") from None
        from headwater.v1.engine import dependencies

        graph = graphviz.Digraph(self.name)
        colors = {}
        if flow_state is not None:
            for node, st in (flow_state.result or {}).items():
                colors[node] = "#28a745" if st.is_successful() else "#eb0000" if st.is_failed() else "#cccccc"
        for node in self._nodes:
            shape = "ellipse" if node.kind == "parameter" else "box" if node.mapped else "ellipse"
            graph.node(str(id(node)), node.name, shape=shape, style="filled" if node in colors else "",
                       fillcolor=colors.get(node, ""))
        for node in self._nodes:
            for up, key in dependencies(node):
                graph.edge(str(id(up)), str(id(node)), label=key or "")
        if filename:
            graph.render(filename, format=format or "pdf", view=False)
        return graph

    def register(self, project_name: str | None = None, build: bool = True, labels: Iterable[str] | None = None,
                 set_schedule_active: bool = True, version_group_id: str | None = None, no_url: bool = False,
                 idempotency_key: str | None = None, **kwargs: Any) -> str | None:
        """0.15's registration: save a deployment of this flow that workers run; returns its id.

        The deployment is ``flow-name/project_name`` (the flow's name without a project), its
        entrypoint ``file.py:variable`` (the module-level variable holding this flow, in the
        caller's file), with this flow's schedule and its parameters' defaults. It goes to the
        work pool ``work_pool_name=`` (default ``default``, created if missing); a worker runs
        it: ``headwater worker start --pool default``. ``labels`` become tags.

        Inside a worker or ``headwater run`` importing the file it does nothing (returns None),
        as 0.15 did while loading a flow.

        Raises:
            GraphError: The flow is not held by a module-level variable of a file, or its
                schedule cannot be saved.
            DeploymentError: The deployment is not valid (e.g. a parameter default).
        """
        from headwater.runtime.context import loading_flow

        if loading_flow():
            return None
        from headwater.v1.register import register_flow

        return register_flow(self, project_name, labels, set_schedule_active, kwargs)

    def __repr__(self) -> str:
        return f"<Flow: name={self.name!r}, {len(self._nodes)} tasks>"
