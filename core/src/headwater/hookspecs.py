"""Every hook a Headwater plugin can implement.

Plugins are modules exposed through an entry point in the ``headwater`` group. Each hook
receives a ``register`` callback (or the root CLI group); Headwater records which plugin
registered what, so errors and ``headwater plugin ls`` can name it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("headwater")
hookimpl = pluggy.HookimplMarker("headwater")


@hookspec
def register_block_types(register: Callable[[type], None]) -> None:
    """Register block classes: call ``register(BlockClass)`` once per class.

    The slug comes from the class. Two plugins registering the same slug is an error that
    names both plugins.
    """


@hookspec
def register_secret_backends(register: Callable[[str, Callable[[], Any]], None]) -> None:
    """Register secret backends: call ``register(name, factory)``.

    ``factory()`` returns an object implementing :class:`headwater.blocks.secrets.SecretBackend`;
    it is called only when ``HEADWATER_SECRETS_BACKEND`` selects ``name``.
    """


@hookspec
def register_task_runners(register: Callable[[str, type], None]) -> None:
    """Register task runners: call ``register(name, TaskRunnerClass)``.

    Runner classes subclass :class:`headwater.runtime.TaskRunner`.
    """


@hookspec
def register_worker_types(register: Callable[[str, type], None]) -> None:
    """Register work-pool (worker) types: call ``register(name, WorkerClass)``.

    Worker classes subclass :class:`headwater.orchestration.workers.BaseWorker`; ``name`` is
    what ``headwater work-pool create NAME --type name`` accepts.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add commands to the ``headwater`` CLI: ``cli`` is the root :class:`click.Group`."""


@hookspec
def on_flow_run_state_change(flow_run: Any, state: Any) -> None:
    """Called each time a flow run enters a state (Pending, Running, Completed, Failed, ...).

    ``flow_run`` is a :class:`headwater.runtime.context.FlowRun` (``id``, ``name``,
    ``flow_name``, ``parameters``, ``run_count``, ``tags``); ``state`` is a
    :class:`headwater.runtime.states.State`. Called synchronously in the run's thread: keep it
    fast. Exceptions are reported on stderr and do not affect the run. When no plugin
    implements this hook the runtime does not call it at all.
    """


@hookspec
def on_task_run_state_change(task_run: Any, state: Any) -> None:
    """Called each time a task run enters a state (Pending, Running, Completed, Failed, ...).

    ``task_run`` is a :class:`headwater.runtime.context.TaskRun` (``id``, ``name``,
    ``task_name``, ``flow_run_id``, ``run_count``, ``tags``); ``state`` is a
    :class:`headwater.runtime.states.State`. Same rules as ``on_flow_run_state_change``;
    implementing it adds a hook call to every task's hot path.
    """
