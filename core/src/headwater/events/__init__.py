"""Events and automations: an event log in the store, triggers that watch it, actions they take.

``emit_event`` records custom events; every flow-run and task-run state change, deployment
run and block save or delete is recorded as an event too. Automations (a trigger and actions)
are evaluated by ``headwater automations serve`` (or inside a scheduler or worker process).
Imported lazily: ``import headwater`` does not import this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.events import schema as _schema  # noqa: F401  (registers the event tables with the store)
from headwater.lazy import lazy_exports

__all__ = [
    "Automation",
    "Event",
    "EventError",
    "emit_event",
    "list_events",
]

_EXPORTS = {
    "Event": "headwater.events.emit",
    "EventError": "headwater.events.emit",
    "emit_event": "headwater.events.emit",
    "list_events": "headwater.events.reader",
    "Automation": "headwater.events.automations",
}

if TYPE_CHECKING:
    from headwater.events.automations import Automation  # noqa: F401
    from headwater.events.emit import Event, EventError, emit_event  # noqa: F401
    from headwater.events.reader import list_events  # noqa: F401

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
