"""The run lifecycle hooks (``on_flow_run_state_change``, ``on_task_run_state_change``).

A flow process needs to know only whether some plugin implements them. The record of the last
plugin discovery (:mod:`headwater._discovery_cache`) says so for the price of a few ``stat``
calls and one small file: when no plugin implements them, neither ``importlib.metadata`` nor
pluggy is imported; when some do, only those plugins are imported and registered. Without a
valid record, :func:`headwater.plugins.discover` runs for real (and writes a new record).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["LIFECYCLE_HOOKS", "lifecycle_hook_callers"]

LIFECYCLE_HOOKS = ("on_flow_run_state_change", "on_task_run_state_change")


def _lifecycle(record: dict[str, Any]) -> bool:
    return any(hook in record["hooks"] for hook in LIFECYCLE_HOOKS)


def lifecycle_hook_callers() -> tuple[Any, Any]:
    """``(flow_caller, task_caller)``: functions calling every implementation, or None for hooks nobody implements."""
    loaded = sys.modules.get("headwater.plugins")
    records = None
    if loaded is None or not loaded.manager_started():  # else this process already uses pluggy: ask it
        from headwater import _discovery_cache
        from headwater.settings import get_settings

        records = _discovery_cache.read(get_settings().load_plugins)
        if records is not None:
            records = [r for r in records if not (r["error"] or r["skipped"]) and _lifecycle(r)]
            if not records:
                return None, None
    from headwater import plugins

    if records is None:
        plugins.discover()
    else:
        plugins.register_recorded(records)
    flow_caller, task_caller = (plugins.hook_caller(hook) for hook in LIFECYCLE_HOOKS)
    return flow_caller, task_caller
