"""Run history: flow runs, task runs, states and logs, recorded off the hot path."""

from headwater.history import schema as _schema  # noqa: F401  (registers history's tables with the store)
