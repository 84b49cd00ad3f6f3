"""Prefect 0.15's ``prefect.tasks.control_flow``: ``case`` and ``merge`` for 0.15-style flows."""

from headwater.v1.graph import case, merge

__all__ = ["case", "merge"]
