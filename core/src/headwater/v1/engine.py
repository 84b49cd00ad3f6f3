"""Running a Prefect 0.15 flow graph on Headwater's engine.

The graph becomes one Headwater flow run whose function walks the nodes in dependency
order (as 0.15's local executor does), running each task through the normal task-call
path (``task(..., return_state=True)``: retries, timeouts, caching, history, logs) after
the 0.15 rules: ``case`` conditions, skips propagating downstream, triggers. Mapped tasks
run their children with ``task.map`` on the flow's task runner.
"""

from __future__ import annotations

import inspect
from typing import Any

from headwater.runtime.futures import unmapped
from headwater.v1 import states as S
from headwater.v1.graph import GraphError, Node
from headwater.v1.signals import SKIP, PrefectStateSignal
from headwater.v1.triggers import all_successful

__all__ = ["as_headwater_flow", "dependencies", "run_graph"]

_CONTAINERS = (list, tuple, set, frozenset, dict)


def _nested(value: Any, found: list[tuple[Node, str | None]], key: str | None) -> None:
    if isinstance(value, Node):
        found.append((value, key))
    elif type(value) is unmapped:
        _nested(value.value, found, key)
    elif type(value) in _CONTAINERS:
        for item in (value.values() if type(value) is dict else value):
            _nested(item, found, key)


def dependencies(node: Node) -> list[tuple[Node, str | None]]:
    """``node``'s upstream nodes with the argument each feeds (None for order-only edges)."""
    found: list[tuple[Node, str | None]] = []
    for i, arg in enumerate(node.args):
        _nested(arg, found, None if node.kind != "task" else str(i))
    for key, value in node.kwargs.items():
        _nested(value, found, key)
    found.extend((u, None) for u in node.upstream)
    found.extend((c, None) for c, _ in node.conditions)
    return found


def _plan(flow: Any) -> list[tuple[Node, tuple[Node, ...], tuple[bool, bool, bool]]]:
    """The nodes in dependency order (creation order among independent ones), each with its
    distinct upstream nodes and whether its arguments hold nodes to resolve."""
    ups = {n: tuple(dict.fromkeys(u for u, _ in dependencies(n))) for n in flow._nodes}
    for n, deps in ups.items():
        for u in deps:
            if u.flow is not flow:
                raise GraphError(f"task {n.name!r} depends on {u.name!r} of another flow: build both in one "
                                 "`with Flow(...)` block")
    waiting = {n: len(deps) for n, deps in ups.items()}
    downstream: dict[Node, list[Node]] = {n: [] for n in flow._nodes}
    for n, deps in ups.items():
        for u in deps:
            downstream[u].append(n)
    import heapq

    ready = [(n.index, n) for n in flow._nodes if waiting[n] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, n = heapq.heappop(ready)
        order.append(n)
        for d in downstream[n]:
            waiting[d] -= 1
            if waiting[d] == 0:
                heapq.heappush(ready, (d.index, d))
    if len(order) != len(flow._nodes):
        stuck = sorted({n.name for n, w in waiting.items() if w})
        raise GraphError(f"flow {flow.name!r} has a cycle through {', '.join(stuck)}: a task cannot run after itself")
    plan = []
    for n in order:
        has_nodes = any(_holds_node(a) for a in n.args) or any(_holds_node(v) for v in n.kwargs.values())
        flat = has_nodes and all(type(a) is Node or not _holds_node(a) for a in (*n.args, *n.kwargs.values()))
        # the common node: a task with the default rules, whose only gate is "every upstream succeeded"
        simple = (n.kind == "task" and not n.mapped and not n.conditions and n.task._v1_trigger is None
                  and n.task._v1_skip_on_upstream_skip)
        plan.append((n, ups[n], (has_nodes, flat, simple)))
    flow._terminal = {n for n in flow._nodes if not downstream[n]}
    return plan


def _holds_node(value: Any) -> bool:
    found: list[tuple[Node, str | None]] = []
    _nested(value, found, None)
    return bool(found)


def _resolve(value: Any, results: dict[Node, S.State]) -> Any:
    if isinstance(value, Node):
        return results[value].result
    t = type(value)
    if t is unmapped:
        return unmapped(_resolve(value.value, results))
    if t in _CONTAINERS:
        if t is dict:
            return {k: _resolve(v, results) for k, v in value.items()}
        return t(_resolve(v, results) for v in value)
    return value


def _gate(node: Node, up: tuple[Node, ...], results: dict[Node, S.State]) -> S.State | None:
    """The state of a node that must not run (condition unmet, upstream skipped, trigger failed)."""
    for cond, value in node.conditions:
        cs = results[cond]
        if cs.is_skipped():
            return S.Skipped("Upstream task was skipped; if this was not the intended behavior, "
                             "consider changing `skip_on_upstream_skip=False` for this task.")
        if cs.is_failed():
            return S.TriggerFailed(f"the case condition {cond.name!r} failed")
        if cs.result != value:
            return S.Skipped(f'Provided value "{cs.result!r}" did not match "{value!r}"')
    states = {u: results[u] for u in up if all(u is not c for c, _ in node.conditions)}
    task = node.task
    skip_up = task._v1_skip_on_upstream_skip if task is not None else node.kind != "merge"
    if skip_up and any(s.is_skipped() for s in states.values()):
        return S.Skipped("Upstream task was skipped; if this was not the intended behavior, "
                         "consider changing `skip_on_upstream_skip=False` for this task.")
    if node.kind == "merge":
        return None
    trigger = (task._v1_trigger if task is not None else None) or all_successful
    try:
        ok = trigger(states)
    except SKIP as sig:
        return S.Skipped(str(sig))
    except PrefectStateSignal as sig:
        return S.TriggerFailed(str(sig))
    if not ok:
        return S.TriggerFailed(f"Trigger {getattr(trigger, '__name__', trigger)!r} was not met.")
    return None


def _record_unrun(node: Node, state: S.State) -> S.State:
    """A task that did not run (Skipped, TriggerFailed) is still a task run in the history."""
    if node.kind != "task":
        return state
    from headwater.runtime._errors import RunError
    from headwater.runtime.calls import TaskCall
    from headwater.runtime.context import _flow_run_var
    from headwater.runtime.states import Skipped, State

    final = Skipped(state.message) if state.is_skipped() else State("FAILED", type(state).__name__, state.message)
    try:
        call = TaskCall(node.task, (), {}, _flow_run_var.get())
    except RunError:  # a task_run_name template over arguments it never got
        return state
    call._finish(final)
    call.task_run.state = None
    return state


def _run_mapped(node: Node, results: dict[Node, S.State]) -> S.State:
    from headwater.runtime._errors import MappingLengthMismatch

    args = [_resolve(a, results) for a in node.args]
    kwargs = {k: _resolve(v, results) for k, v in node.kwargs.items()}
    lengths = {len(v) for v in [*args, *kwargs.values()] if type(v) is not unmapped and isinstance(v, (list, tuple))}
    if len(lengths) != 1:
        exc = MappingLengthMismatch(f"task {node.name!r}.map(): the mapped arguments have different lengths "
                                    f"({sorted(lengths)}) or none is a list")
        return S.Failed(str(exc), exc)
    n = lengths.pop()
    children: list[S.State | None] = [None] * n
    for up, _ in dependencies(node):  # child i of a mapped upstream that did not succeed: child i does not run
        if up.mapped and len(results[up].map_states) == n:
            for i, st in enumerate(results[up].map_states):
                if children[i] is None and not st.is_successful():
                    children[i] = S.Skipped(st.message) if st.is_skipped() else S.TriggerFailed(
                        f"mapped upstream {up.name}[{i}] did not succeed")
                elif children[i] is None and st.is_skipped():
                    children[i] = S.Skipped(st.message)
    todo = [i for i in range(n) if children[i] is None]

    def pick(v: Any) -> Any:
        if type(v) is unmapped or not isinstance(v, (list, tuple)):
            return v
        return [v[i] for i in todo]

    if todo:
        states = node.task.map(*[pick(a) for a in args], return_state=True, **{k: pick(v) for k, v in kwargs.items()})
        for i, st in zip(todo, states, strict=True):
            children[i] = S.from_state(st)
    done: list[S.State] = children  # type: ignore[assignment]
    bad = [c for c in done if c.is_failed()]
    if bad:
        return S.Failed(f"{len(bad)}/{n} mapped task runs failed.", bad[0].result, map_states=done)
    return S.Mapped(f"Ran {n} mapped task runs.", [c.result for c in done], map_states=done)


def _execute(flow: Any, plan: list[tuple[Node, tuple[Node, ...], tuple[bool, bool, bool]]], params: dict[str, Any],
             results: dict[Node, S.State]) -> Any:
    from headwater.runtime.states import Failed

    success, from_state = S.Success, S.from_state
    for node, up, (has_nodes, flat, simple) in plan:
        if up:
            if simple:  # fast path: no case, default trigger and skip rules
                gate = False
                for u in up:
                    if type(results[u]) is not success:
                        gate = True
                        break
                if gate:
                    gated = _gate(node, up, results)
                    if gated is not None:
                        results[node] = _record_unrun(node, gated)
                        continue
            else:
                gated = _gate(node, up, results)
                if gated is not None:
                    results[node] = _record_unrun(node, gated)
                    continue
        kind = node.kind
        if kind == "task":
            if node.mapped:
                results[node] = _run_mapped(node, results)
                continue
            if flat:
                args = [results[a].result if type(a) is Node else a for a in node.args]
                kwargs = node.kwargs
                if kwargs:
                    kwargs = {k: (results[v].result if type(v) is Node else v) for k, v in kwargs.items()}
            elif has_nodes:
                args = [_resolve(a, results) for a in node.args]
                kwargs = {k: _resolve(v, results) for k, v in node.kwargs.items()}
            else:
                args, kwargs = node.args, node.kwargs
            st = node.task(*args, return_state=True, **kwargs)
            if st.name == "Completed" and st.message is None:  # from_state's common case, inline
                results[node] = success("Task run succeeded.", st.data)
            else:
                results[node] = from_state(st)
        elif kind == "parameter":
            results[node] = S.Success("Parameter", params[node.name])
        elif kind == "getitem":
            source, key = node.args
            try:
                results[node] = S.Success(None, results[source].result[key])
            except Exception as exc:
                results[node] = S.Failed(f"{node.name}: {type(exc).__name__}: {exc}", exc)
        else:  # merge: the first branch that ran
            ran = next((results[u] for u in node.args if not results[u].is_skipped()), None)
            results[node] = S.Success(None, ran.result) if ran is not None else S.Skipped("All branches were skipped.")
    failed = [n.name for n in flow._terminal if results[n].is_failed()]
    if failed:
        return Failed(f"Some reference tasks failed: {', '.join(sorted(failed))}")
    return None


def _headwater_flow(flow: Any) -> tuple[Any, list[Any]]:
    cached = flow._hw_flow
    if cached is not None:
        return cached
    from headwater.runtime.flows import Flow as HeadwaterFlow

    plan = _plan(flow)
    holder: dict[str, Any] = {}

    def run_0_15_flow(**params: Any) -> Any:
        results = holder.pop("results", None)  # set by run_graph; absent under `headwater run`
        return _execute(flow, plan, params, results if results is not None else {})

    hw = HeadwaterFlow(run_0_15_flow, name=flow.name, validate_parameters=False)
    empty = inspect.Parameter.empty
    signature = inspect.Signature([
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=empty if p.required else p.default)
        for name, p in flow._parameters.items()])
    hw._signature = signature
    hw.parameters = signature.parameters
    flow._hw_flow = (hw, [plan, holder])
    return flow._hw_flow


def as_headwater_flow(flow: Any) -> Any:
    """The Headwater flow that runs this 0.15 graph (what ``headwater run FILE.py:flow`` calls)."""
    return _headwater_flow(flow)[0]


class TaskStates(dict):  # type: ignore[type-arg]
    """``state.result`` of a 0.15 flow run: each task's state, by the task returned by its call
    (or by the ``@task`` itself when the flow calls it once)."""

    def __missing__(self, key: Any) -> S.State:
        found = [n for n in self if n.task is key]
        if len(found) == 1:
            return self[found[0]]
        name = getattr(key, "name", key)
        if found:
            raise KeyError(f"task {name!r} runs {len(found)} times in this flow: index the state by what each call "
                           "returned (x = task(...); state.result[x])")
        raise KeyError(f"{name!r} is not a task of this flow")


def run_graph(flow: Any, params: dict[str, Any]) -> S.State:
    """Run the graph once as a Headwater flow run; the 0.15 flow state with each task's state."""
    hw, (_plan_, holder) = _headwater_flow(flow)
    results: dict[Node, S.State] = TaskStates()
    holder["results"] = results
    from headwater.runtime.context import _graph_var

    token = _graph_var.set(None)  # flow.run() inside its `with Flow` block: tasks run, they do not add nodes
    try:
        state = hw(return_state=True, **params)
    finally:
        _graph_var.reset(token)
    if state.type == "COMPLETED":
        return S.Success("All reference tasks succeeded.", results)
    exc = state._value(False)
    message = (state.message or "").strip().splitlines()[-1] if state.message else "the flow run failed"
    if results and not isinstance(exc, GraphError):
        return S.Failed(message if state.message else "Some reference tasks failed.", results)
    return S.Failed(message, results)
