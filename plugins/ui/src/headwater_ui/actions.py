"""Actions the UI takes on runs (POST only, CSRF-checked by the callers)."""

from __future__ import annotations

import time
from typing import Any

from headwater.errors import HeadwaterError
from headwater.history import reader
from headwater.store.engine import db_write

__all__ = ["CancelError", "cancel_flow_run"]

_FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


class CancelError(HeadwaterError):
    """The run cannot be cancelled (finished already, or running without orchestration support)."""


def _orchestration_cancel() -> Any:
    """Headwater's orchestration cancel (``headwater runs cancel``), when this installation has it."""
    try:
        from headwater.orchestration.queue import cancel_run
    except ImportError:
        return None
    return cancel_run


def cancel_flow_run(run_id: str) -> dict[str, Any]:
    """Cancel a flow run; returns the run as it is afterwards.

    A deployment's run goes to the orchestration's cancel (a queued one ends Cancelled, a
    running one is stopped by its worker). A run that has not started (Scheduled, Pending) is
    marked Cancelled here.

    Raises:
        RunNotFoundError: no such run.
        CancelError: it has finished, or it is running outside any worker, so nothing can stop it.
    """
    run = reader.get_flow_run(run_id)
    if run["state_type"] in _FINAL:
        raise CancelError(f"flow run {run['name']!r} has finished ({run['state']}): there is nothing to cancel")
    orchestrated = _orchestration_cancel()
    if orchestrated is not None:
        try:
            orchestrated(run["id"])
        except reader.RunNotFoundError:
            pass  # not a deployment's run: handled below
        except HeadwaterError as exc:
            raise CancelError(str(exc)) from None
        else:
            return reader.get_flow_run(run["id"])
    if run["state_type"] == "RUNNING":
        raise CancelError(
            f"flow run {run['name']!r} is running in process {run['pid']} on {run['host']}, outside any worker: "
            f"only runs of a deployment can be cancelled while they run (stop that process to end it)"
            if orchestrated is not None
            else f"flow run {run['name']!r} is running in process {run['pid']} on {run['host']}: stopping a "
            f"running run needs Headwater's orchestration (`headwater runs cancel`), which this installation "
            f"does not have"
        )
    with db_write() as tx:
        tx.execute(
            "UPDATE flow_runs SET state_type = 'CANCELLED', state = 'Cancelled', message = :m, ended = :t "
            "WHERE id = :id AND state_type IN ('SCHEDULED', 'PENDING')",
            {"m": "cancelled from the UI before it started", "t": time.time(), "id": run["id"]},
        )
    return reader.get_flow_run(run["id"])
