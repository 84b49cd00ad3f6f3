"""Finding plugins that implement the run lifecycle hooks, cheaply.

``headwater.plugins.load_plugins()`` registers every plugin's blocks, which imports pydantic
and the plugins' block modules: too slow for a flow process that needs none of it. So the
runtime first reads the ``headwater`` entry points straight from the ``*.dist-info`` folders
on ``sys.path`` (no ``importlib.metadata``), imports only the plugin hook modules, and loads
plugins fully only when one of them implements a lifecycle hook.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

__all__ = ["LIFECYCLE_HOOKS", "headwater_entry_points", "lifecycle_hook_callers"]

LIFECYCLE_HOOKS = ("on_flow_run_state_change", "on_task_run_state_change")


def _read_group(path: str, group: str) -> list[tuple[str, str]]:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return []
    found, inside = [], False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            inside = line == f"[{group}]"
        elif inside and "=" in line:
            name, _, value = line.partition("=")
            found.append((name.strip(), value.strip()))
    return found


def headwater_entry_points() -> list[tuple[str, str]]:
    """``(name, "module:attr")`` of every installed ``headwater`` entry point (first on sys.path wins)."""
    seen: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info") or name.endswith(".egg-info"):
                for ep_name, value in _read_group(os.path.join(entry or ".", name, "entry_points.txt"), "headwater"):
                    seen.setdefault(ep_name, value)
    return list(seen.items())


def _mentions_lifecycle_hook(module_name: str) -> bool:
    """Whether the plugin module's source names a lifecycle hook (read as text when it can be
    found on sys.path, so that plugins which do not use them are never imported here)."""
    rel = module_name.replace(".", os.sep)
    for entry in sys.path:
        for candidate in (os.path.join(entry or ".", rel + ".py"), os.path.join(entry or ".", rel, "__init__.py")):
            try:
                with open(candidate, encoding="utf-8") as fh:
                    text = fh.read()
            except OSError:
                continue
            return any(hook in text for hook in LIFECYCLE_HOOKS)
    try:
        module = importlib.import_module(module_name)
    except Exception:
        return False  # recorded properly by load_plugins() when something needs it
    return any(hasattr(module, hook) for hook in LIFECYCLE_HOOKS)


def lifecycle_hook_callers() -> tuple[Any, Any]:
    """``(flow_caller, task_caller)``: pluggy hook callers, or None for hooks nobody implements."""
    plugins = sys.modules.get("headwater.plugins")
    if plugins is None or not plugins._loaded:
        from headwater.settings import get_settings

        allowed = get_settings().load_plugins
        wanted = any(
            _mentions_lifecycle_hook(value.split(":", 1)[0].strip())
            for name, value in headwater_entry_points()
            if name != "core" and (allowed is None or name in allowed)
        )
        if wanted:
            from headwater import plugins

            plugins.load_plugins()
        elif plugins is None or plugins._pm is None:
            return None, None
    from headwater import plugins

    hook = plugins.get_plugin_manager().hook
    return (
        hook.on_flow_run_state_change if hook.on_flow_run_state_change.get_hookimpls() else None,
        hook.on_task_run_state_change if hook.on_task_run_state_change.get_hookimpls() else None,
    )
