"""Prefect's ``pause_flow_run`` / ``resume_flow_run``: a flow run waits, in its process, until
someone resumes it (``headwater runs resume ID`` or :func:`resume_flow_run`) or its timeout passes.

Example:
    >>> @flow  # doctest: +SKIP
    ... def publish():
    ...     build()
    ...     pause_flow_run(timeout=3600)   # someone checks the build, then: headwater runs resume ID
    ...     deploy()
"""

from __future__ import annotations

import logging
import time

from headwater.errors import HeadwaterError
from headwater.runtime.context import cancel_shield as _cancel_deferred
from headwater.store import objects_schema as _tables  # noqa: F401 (registers the tables used here)

__all__ = ["FlowPauseTimeout", "NotPausedError", "apause_flow_run", "pause_flow_run", "resume_flow_run"]

_POLL_SECONDS = 0.2


class FlowPauseTimeout(HeadwaterError, TimeoutError):  # noqa: N818 (Prefect's name)
    """A paused flow run was not resumed within its timeout; the run fails."""


class NotPausedError(HeadwaterError, ValueError):
    """``resume_flow_run`` of a flow run that is not paused."""


def _begin_pause(timeout: float) -> object:
    from headwater.history.writer import flush
    from headwater.runtime import _record
    from headwater.runtime._errors import MissingContextError
    from headwater.runtime.context import _flow_run_var, _task_run_var
    from headwater.runtime.states import Paused

    fr = _flow_run_var.get()
    if fr is None or _task_run_var.get() is not None:
        raise MissingContextError("pause_flow_run() pauses a flow run: call it in the flow's own code, "
                                  "not in a task or outside a flow")
    with _cancel_deferred():
        _record.set_flow_state(fr, Paused(f"waiting up to {timeout:g} s for `headwater runs resume {fr.id}`"))
        _record.log(fr, logging.INFO, f"Paused: resume with `headwater runs resume {fr.id}` within {timeout:g} seconds")
        flush()  # so `headwater runs ls` shows it Paused now
    return fr


def _resumed(flow_run_id: str) -> bool:
    from headwater.store.engine import db_write

    with _cancel_deferred(), db_write() as tx:
        if not tx.execute("SELECT flow_run_id FROM flow_run_resumes WHERE flow_run_id = :id", {"id": flow_run_id}):
            return False
        tx.execute("DELETE FROM flow_run_resumes WHERE flow_run_id = :id", {"id": flow_run_id})
    return True


def _end_pause(fr: object, resumed: bool, timeout: float) -> None:
    from headwater.runtime import _record
    from headwater.runtime.states import Running

    if not resumed:
        raise FlowPauseTimeout(f"flow run {fr.name!r} was not resumed within {timeout:g} seconds")  # type: ignore[attr-defined]
    with _cancel_deferred():
        _record.set_flow_state(fr, Running("Resumed"))  # type: ignore[arg-type]
        _record.log(fr, logging.INFO, "Resumed")  # type: ignore[arg-type]


def pause_flow_run(timeout: float = 3600, poll_interval: float = 10, key: str | None = None,
                   wait_for_input: object = None) -> None:
    """Pause the current flow run until it is resumed; it is ``Paused`` in the run history meanwhile.

    Args:
        timeout: Seconds to wait; then the run fails with :class:`FlowPauseTimeout`.
        poll_interval: Accepted for Prefect compatibility (the store is checked every 0.2 s).
        key: Accepted for Prefect compatibility.
        wait_for_input: Not supported (run input); must be None.

    Raises:
        FlowPauseTimeout: Not resumed within ``timeout`` seconds.
        MissingContextError: Called outside a flow run's own code.
    """
    _no_input(wait_for_input)
    fr = _begin_pause(timeout)
    deadline = time.monotonic() + timeout
    resumed = False
    while not resumed and time.monotonic() < deadline:
        resumed = _resumed(fr.id)  # type: ignore[attr-defined]
        if not resumed:
            time.sleep(min(_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    _end_pause(fr, resumed, timeout)


async def apause_flow_run(timeout: float = 3600, poll_interval: float = 10, key: str | None = None,
                          wait_for_input: object = None) -> None:
    """:func:`pause_flow_run` for async flows."""
    import asyncio

    _no_input(wait_for_input)
    fr = _begin_pause(timeout)
    deadline = time.monotonic() + timeout
    resumed = False
    while not resumed and time.monotonic() < deadline:
        resumed = _resumed(fr.id)  # type: ignore[attr-defined]
        if not resumed:
            await asyncio.sleep(min(_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    _end_pause(fr, resumed, timeout)


def _no_input(wait_for_input: object) -> None:
    if wait_for_input is not None:
        from headwater._compat import UnsupportedFeatureError

        raise UnsupportedFeatureError("pause_flow_run(wait_for_input=...) has no Headwater equivalent: "
                                      "read the input from a Variable after resuming")


def resume_flow_run(flow_run_id: str, run_input: object = None) -> None:
    """Resume a paused flow run (by id or unique id prefix), in whatever process it waits.

    Raises:
        NotPausedError: The flow run is not paused.
        RunNotFoundError: No flow run has that id.
    """
    from headwater.history.reader import get_flow_run
    from headwater.store.engine import db_write

    if run_input is not None:
        from headwater._compat import UnsupportedFeatureError

        raise UnsupportedFeatureError("resume_flow_run(run_input=...) has no Headwater equivalent: "
                                      "set a Variable before resuming and read it in the flow")
    run = get_flow_run(str(flow_run_id))
    if run["state_type"] != "PAUSED":
        raise NotPausedError(
            f"flow run {run['id'][:8]} ({run['name']}) is {run['state']}, not Paused: nothing to resume")
    with db_write() as tx:
        if not tx.execute("SELECT flow_run_id FROM flow_run_resumes WHERE flow_run_id = :id", {"id": run["id"]}):
            tx.execute("INSERT INTO flow_run_resumes (flow_run_id, requested) VALUES (:id, :t)",
                       {"id": run["id"], "t": time.time()})
