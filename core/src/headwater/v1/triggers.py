"""Prefect 0.15's triggers: when a task runs, given its upstream tasks' states.

A trigger is ``fn(upstream_states: dict) -> bool`` (keys are the upstream tasks, values
their 0.15 states); it returns True to run the task, or raises ``TRIGGERFAIL``.
"""

from __future__ import annotations

from typing import Any

from headwater.v1.signals import TRIGGERFAIL

__all__ = [
    "all_failed",
    "all_finished",
    "all_successful",
    "always_run",
    "any_failed",
    "any_successful",
    "not_all_skipped",
]


def all_successful(upstream_states: dict[Any, Any]) -> bool:
    """Run when every upstream task succeeded (the default; a skip counts as a success)."""
    if not all(s.is_successful() for s in upstream_states.values()):
        raise TRIGGERFAIL('Trigger was "all_successful" but some of the upstream tasks failed.')
    return True


def all_finished(upstream_states: dict[Any, Any]) -> bool:
    """Run whatever the upstream tasks' outcome."""
    return True


always_run = all_finished


def all_failed(upstream_states: dict[Any, Any]) -> bool:
    """Run only when every upstream task failed."""
    if not all(s.is_failed() for s in upstream_states.values()):
        raise TRIGGERFAIL('Trigger was "all_failed" but some of the upstream tasks succeeded.')
    return True


def any_successful(upstream_states: dict[Any, Any]) -> bool:
    """Run when at least one upstream task succeeded."""
    if upstream_states and not any(s.is_successful() for s in upstream_states.values()):
        raise TRIGGERFAIL('Trigger was "any_successful" but none of the upstream tasks succeeded.')
    return True


def any_failed(upstream_states: dict[Any, Any]) -> bool:
    """Run when at least one upstream task failed (for clean-up and alerts)."""
    if upstream_states and not any(s.is_failed() for s in upstream_states.values()):
        raise TRIGGERFAIL('Trigger was "any_failed" but none of the upstream tasks failed.')
    return True


def not_all_skipped(upstream_states: dict[Any, Any]) -> bool:
    """Run unless every upstream task was skipped (what ``merge`` uses)."""
    if upstream_states and all(s.is_skipped() for s in upstream_states.values()):
        from headwater.v1.signals import SKIP

        raise SKIP("All upstream tasks were skipped.")
    if not all(s.is_successful() for s in upstream_states.values()):
        raise TRIGGERFAIL('Trigger was "not_all_skipped" but some of the upstream tasks failed.')
    return True
