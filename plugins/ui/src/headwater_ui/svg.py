"""Server-rendered SVG: the task timeline (Gantt-like) and the lineage graph of a flow run.

Plain SVG with presentation attributes (no inline CSS or script), so it passes the UI's
Content-Security-Policy and renders without JavaScript.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from markupsafe import Markup, escape

from headwater_ui.colours import state_colour

__all__ = ["MAX_GRAPH_NODES", "MAX_TIMELINE_ROWS", "lineage_svg", "timeline_svg"]

MAX_TIMELINE_ROWS = 300
MAX_GRAPH_NODES = 80  # more task runs than this are drawn one node per task (with a count)
_ROW, _LABEL, _WIDTH, _RIGHT = 18, 200, 960, 40


def _fmt(seconds: float) -> str:
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1000:.{1 if seconds < 0.01 else 0}f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def timeline_svg(
    tasks: list[dict[str, Any]], now: float | None = None, span: tuple[float, float] | None = None
) -> Markup:
    """One bar per task run (the first :data:`MAX_TIMELINE_ROWS` by start), coloured by state;
    ``span`` is the axis (first start, last end) when ``tasks`` are only the first of many."""
    rows = [t for t in tasks if t.get("started") is not None][:MAX_TIMELINE_ROWS]
    if not rows:
        return Markup('<p class="muted">No task has started.</p>')
    now = time.time() if now is None else now
    start = min(t["started"] for t in rows)
    end = max((t["ended"] if t["ended"] is not None else now) for t in rows)
    if span is not None:
        start, end = min(start, span[0]), max(end, span[1])
    span = max(end - start, 1e-6)
    scale = (_WIDTH - _LABEL - _RIGHT) / span
    height = _ROW * len(rows) + 24
    out = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" role="img" aria-label="task timeline">'
    ]
    for i in range(5):
        x = _LABEL + (_WIDTH - _LABEL - _RIGHT) * i / 4
        out.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 18}" stroke="#dee2e6"/>')
        out.append(
            f'<text x="{x:.1f}" y="{height - 4}" font-size="11" fill="#495057" text-anchor="middle">'
            f"+{escape(_fmt(span * i / 4))}</text>"
        )
    for i, t in enumerate(rows):
        y = i * _ROW
        finish = t["ended"] if t["ended"] is not None else now
        x = _LABEL + (t["started"] - start) * scale
        w = max((finish - t["started"]) * scale, 2.0)
        name = escape(t["name"])
        tip = escape(f"{t['name']}: {t['state']}, {_fmt(finish - t['started'])}, tries {t.get('run_count') or 1}")
        out.append(f'<text x="{_LABEL - 6}" y="{y + 13}" font-size="11" fill="#212529" text-anchor="end">{name}</text>')
        out.append(
            f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{_ROW - 6}" rx="2" '
            f'fill="{state_colour(t["state_type"])}"><title>{tip}</title></rect>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def _graph(tasks: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], set[tuple[str, str]]]:
    """Nodes and edges: one node per task run, or per task when there are many runs."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: set[tuple[str, str]] = set()
    if len(tasks) <= MAX_GRAPH_NODES:
        for t in tasks:
            nodes[t["id"]] = {
                "label": t["name"],
                "state_type": t["state_type"],
                "count": 1,
                "title": f"{t['name']}: {t['state']}",
            }
        for t in tasks:
            edges.update((u, t["id"]) for u in t.get("upstream") or () if u in nodes)
        return nodes, edges
    key_of = {t["id"]: t["task_key"] for t in tasks}
    worst: dict[str, str] = {}
    rank = {"FAILED": 0, "CRASHED": 1, "RUNNING": 2, "PENDING": 3, "CANCELLED": 4, "SCHEDULED": 5, "COMPLETED": 6}
    for t in tasks:
        k = t["task_key"]
        node = nodes.setdefault(k, {"label": k.rsplit(".", 1)[-1], "count": 0, "title": k})
        node["count"] += 1
        if rank.get(t["state_type"], 9) < rank.get(worst.get(k, ""), 10):
            worst[k] = t["state_type"]
        for u in t.get("upstream") or ():
            if u in key_of and key_of[u] != k:
                edges.add((key_of[u], k))
    for k, node in nodes.items():
        node["state_type"] = worst.get(k, "COMPLETED")
        node["title"] = f"{node['title']}: {node['count']} runs"
    return nodes, edges


def _back_edges(nodes: dict[str, Any], downs: dict[str, list[str]]) -> set[tuple[str, str]]:
    """Edges that close a cycle (task keys can call each other in a loop), found by depth-first search."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    back: set[tuple[str, str]] = set()
    for root in nodes:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(downs[root]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(downs[child])))
    return back


def _layers(nodes: dict[str, Any], edges: set[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layering (Kahn's order): a node sits one layer right of its deepest upstream;
    edges that close a cycle are left out of the layering (they are still drawn)."""
    downs: dict[str, list[str]] = defaultdict(list)
    for u, d in sorted(edges):
        downs[u].append(d)
    back = _back_edges(nodes, downs)
    indegree = dict.fromkeys(nodes, 0)
    for u, d in edges:
        if (u, d) not in back:
            indegree[d] += 1
    ready = [n for n in nodes if indegree[n] == 0]
    depth = dict.fromkeys(nodes, 0)
    while ready:
        n = ready.pop()
        for d in downs[n]:
            if (n, d) in back:
                continue
            depth[d] = max(depth[d], depth[n] + 1)
            indegree[d] -= 1
            if indegree[d] == 0:
                ready.append(d)
    return depth


def lineage_svg(
    tasks: list[dict[str, Any]], grouped: tuple[dict[str, Any], set[tuple[str, str]]] | None = None
) -> Markup:
    """The lineage graph: tasks left to right after their upstreams, edges from upstream to downstream.

    ``grouped`` (one node per task key with its run count and worst state, and the edges between
    task keys) replaces ``tasks`` for runs with many task runs.
    """
    if grouped is not None:
        nodes = {
            k: {
                "label": k.rsplit(".", 1)[-1],
                "count": v["count"],
                "state_type": v["state_type"],
                "title": f"{k}: {v['count']} runs",
            }
            for k, v in grouped[0].items()
        }
        edges = {(u, d) for u, d in grouped[1] if u in nodes and d in nodes}
    elif not tasks:
        return Markup('<p class="muted">No task runs.</p>')
    else:
        nodes, edges = _graph(tasks)
    depth = _layers(nodes, edges)
    columns: dict[int, list[str]] = defaultdict(list)
    for n in nodes:
        columns[depth[n]].append(n)
    bw, bh, gx, gy = 160, 30, 60, 14
    pos: dict[str, tuple[float, float]] = {}
    for c, members in columns.items():
        for r, n in enumerate(members):
            pos[n] = (10 + c * (bw + gx), 10 + r * (bh + gy))
    width = 20 + (max(columns) + 1) * (bw + gx) - gx
    height = 20 + max(len(m) for m in columns.values()) * (bh + gy) - gy
    out = [
        f'<svg class="lineage" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="task lineage">'
    ]
    for u, d in sorted(edges):
        (x1, y1), (x2, y2) = pos[u], pos[d]
        x1, y1, y2 = x1 + bw, y1 + bh / 2, y2 + bh / 2
        mid = (x1 + x2) / 2
        dash = ' stroke-dasharray="4 3"' if depth[u] >= depth[d] else ""  # an edge back: a loop between tasks
        out.append(
            f'<path d="M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}" '
            f'fill="none" stroke="#868e96" stroke-width="1.2"{dash}/>'
        )
    for n, node in nodes.items():
        x, y = pos[n]
        label = node["label"] if len(node["label"]) <= 20 else node["label"][:19] + "…"
        if node["count"] > 1:
            label = f"{label} ×{node['count']}"
        colour = state_colour(node["state_type"])
        out.append(
            f"<g><title>{escape(node['title'])}</title>"
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{bw}" height="{bh}" rx="5" fill="#ffffff" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="6" height="{bh}" rx="2" fill="{colour}"/>'
            f'<text x="{x + 14:.0f}" y="{y + 19:.0f}" font-size="12" fill="#212529">{escape(label)}</text></g>'
        )
    out.append("</svg>")
    return Markup("".join(out))
