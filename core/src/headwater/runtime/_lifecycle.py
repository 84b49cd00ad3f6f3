"""The run lifecycle hooks (``on_flow_run_state_change``, ``on_task_run_state_change``).

A flow process needs to know only whether some plugin implements them. So it asks
:func:`headwater.plugins.discover`, which imports the plugins' hook modules and registers
them with pluggy, but calls no ``register_*`` hook: no block class, no pydantic is imported.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LIFECYCLE_HOOKS", "lifecycle_hook_callers"]

LIFECYCLE_HOOKS = ("on_flow_run_state_change", "on_task_run_state_change")


def lifecycle_hook_callers() -> tuple[Any, Any]:
    """``(flow_caller, task_caller)``: functions calling every implementation, or None for hooks nobody implements."""
    from headwater import plugins

    plugins.discover()
    flow_caller, task_caller = (plugins.hook_caller(hook) for hook in LIFECYCLE_HOOKS)
    return flow_caller, task_caller
