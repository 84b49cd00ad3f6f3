"""Keeping run history within bounds: the caps (``HEADWATER_HISTORY_MAX_*``) and deleting runs.

Used by the background writer (which enforces the caps as runs finish) and by the reader's
``prune``; it imports neither of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from headwater.settings import get_settings
from headwater.store.engine import db_read, db_write

__all__ = ["delete_flow_runs", "enforce_cap"]


def _in_lists(ids: list[str], size: int = 500) -> Iterator[tuple[str, dict[str, str]]]:
    """``(":i0, :i1, ...", {"i0": id, ...})`` for each chunk of ``ids``: bound IN lists."""
    for i in range(0, len(ids), size):
        chunk = ids[i:i + size]
        yield ", ".join(f":i{n}" for n in range(len(chunk))), {f"i{n}": v for n, v in enumerate(chunk)}


def delete_flow_runs(tx: Any, ids: list[str]) -> int:
    """Delete the flow runs ``ids`` with their task runs, logs and lineage edges, in ``tx``."""
    for marks, params in _in_lists(ids):
        tx.execute(f"DELETE FROM run_logs WHERE flow_run_id IN ({marks})", params)
        tx.execute(f"DELETE FROM run_edges WHERE flow_run_id IN ({marks})", params)
        tx.execute(f"DELETE FROM task_runs WHERE flow_run_id IN ({marks})", params)
        tx.execute(f"DELETE FROM flow_runs WHERE id IN ({marks})", params)
    return len(ids)


def enforce_cap(max_flow_runs: int | None = None, max_task_runs: int | None = None) -> int:
    """Delete the oldest finished flow runs beyond the caps (``HEADWATER_HISTORY_MAX_FLOW_RUNS``,
    ``HEADWATER_HISTORY_MAX_TASK_RUNS``); returns how many flow runs were deleted."""
    settings = get_settings()
    max_flow_runs = max_flow_runs or settings.history_max_flow_runs
    max_task_runs = max_task_runs or settings.history_max_task_runs
    with db_read() as tx:
        n_flows = int(tx.scalar("SELECT COUNT(*) AS n FROM flow_runs") or 0)
        n_tasks = int(tx.scalar("SELECT COUNT(*) AS n FROM task_runs") or 0)
    if n_flows <= max_flow_runs and n_tasks <= max_task_runs:
        return 0
    with db_write() as tx:
        flows = tx.execute(
            "SELECT f.id, f.created, (SELECT COUNT(*) FROM task_runs t WHERE t.flow_run_id = f.id) AS n FROM flow_runs "
            "f "
            "WHERE f.state_type NOT IN ('PENDING', 'RUNNING', 'SCHEDULED') ORDER BY f.created"
        )
        standalone: list[Any] = []
        if n_tasks > max_task_runs:  # task runs outside any flow count too: the oldest go first
            standalone = tx.execute(
                "SELECT id, created FROM task_runs WHERE flow_run_id IS NULL "
                "AND state_type NOT IN ('PENDING', 'RUNNING', 'SCHEDULED') ORDER BY created LIMIT :n",
                {"n": n_tasks - max_task_runs},
            )
        victims, lone = [], []
        i = j = 0
        while n_flows > max_flow_runs or n_tasks > max_task_runs:
            flow = flows[i] if i < len(flows) else None
            task = standalone[j] if j < len(standalone) else None
            if task is not None and n_tasks > max_task_runs and (flow is None or task.created < flow.created):
                lone.append(task.id)
                n_tasks -= 1
                j += 1
            elif flow is not None:
                victims.append(flow.id)
                n_flows -= 1
                n_tasks -= int(flow.n or 0)
                i += 1
            else:
                break
        for marks, params in _in_lists(lone):
            tx.execute(f"DELETE FROM run_logs WHERE flow_run_id IS NULL AND task_run_id IN ({marks})", params)
            tx.execute(f"DELETE FROM task_runs WHERE id IN ({marks})", params)
        deleted = delete_flow_runs(tx, victims)
    return deleted
