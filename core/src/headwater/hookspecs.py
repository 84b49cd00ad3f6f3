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
def register_commands(cli: Any) -> None:
    """Add commands to the ``headwater`` CLI: ``cli`` is the root :class:`click.Group`."""
