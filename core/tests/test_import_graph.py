"""The plugin manager, blocks and the runtime import each other in one direction only.

The graph is read from the source with ``ast``: every import statement counts, including the
ones inside functions (a lazy import is still a dependency), except those under
``if TYPE_CHECKING:``. Importing ``a.b.c`` also runs ``a/__init__`` and ``a/b/__init__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import headwater

SRC = Path(headwater.__file__).parent
LAYERS = {"headwater.plugins": "plugins.py", "headwater.blocks": "blocks/", "headwater.runtime": "runtime/"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = ["headwater", *path.relative_to(SRC).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every module an import statement in ``tree`` may name (TYPE_CHECKING blocks left out)."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(filter(None, [*anchor, base]))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import submodule`
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(ast.parse(path.read_text()), name, path.name == "__init__.py"):
            parts = imported.split(".")
            for i in range(1, len(parts) + 1):  # the module and every package above it
                prefix = ".".join(parts[:i])
                if prefix in modules and prefix != name:
                    targets.add(prefix)
        graph[name] = targets
    return graph


def _layer(module: str) -> str:
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return module


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def connect(v: str) -> None:  # Tarjan; the graph is a few dozen nodes
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            found.append(component)

    for v in graph:
        if v not in index:
            connect(v)
    return found


def test_no_import_cycle_between_plugins_blocks_and_runtime():
    collapsed: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        collapsed.setdefault(_layer(module), set()).update(_layer(t) for t in targets if _layer(t) != _layer(module))
    cycles = [c for c in _strongly_connected(collapsed) if len(c & set(LAYERS.values())) > 0 and len(c) > 1]
    assert cycles == [], f"import cycles through {sorted(LAYERS.values())}: {[sorted(c) for c in cycles]}"


def test_the_plugin_manager_imports_neither_blocks_nor_runtime():
    graph = _graph()
    seen, todo = set(), ["headwater.plugins"]
    while todo:
        for target in graph[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    assert sorted(m for m in seen if _layer(m) in ("blocks/", "runtime/")) == []


def test_the_graph_sees_lazy_imports():
    graph = _graph()
    assert "headwater.blocks.persistence" in graph["headwater.blocks.core"]  # imported inside Block.save
    assert "headwater.blocks" in graph["headwater._core_plugin"]  # inside a hook function


def test_run_history_and_the_store_import_each_other_in_one_direction():
    for component in _strongly_connected(_graph()):
        history = sorted(m for m in component if m.startswith("headwater.history"))
        assert len(history) < 2, f"history modules import each other in a cycle: {sorted(component)}"
        assert not (history and any(m.startswith("headwater.store") for m in component)), sorted(component)
