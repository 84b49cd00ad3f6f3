"""Run history: flow runs, task runs, states and logs, recorded off the hot path."""
