"""Prefect 0.15's ``prefect.engine.state``: the states ``flow.run()`` returns."""

from headwater.v1.states import Cached, Failed, Mapped, Pending, Skipped, State, Success, TimedOut, TriggerFailed

__all__ = ["Cached", "Failed", "Mapped", "Pending", "Skipped", "State", "Success", "TimedOut", "TriggerFailed"]
