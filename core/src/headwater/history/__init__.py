"""Run history: flow runs, task runs, states and logs, recorded off the hot path."""

from headwater.events import schema as _events_schema  # noqa: F401  (the writer records events too)
from headwater.history import schema as _schema  # noqa: F401  (registers history's tables with the store)
