"""Prefect 0.15's signals: raise ``SKIP`` or ``FAIL`` in a task to end it in that state."""

from __future__ import annotations

from headwater.errors import HeadwaterError

__all__ = ["FAIL", "PrefectStateSignal", "SKIP", "SUCCESS", "TRIGGERFAIL", "signal_state"]


class PrefectStateSignal(HeadwaterError):
    """Raised in a task to end it in a given state (0.15's signal base class).

    The task engine ends the run in :meth:`_headwater_state_` instead of treating the
    signal as a failure to retry.
    """

    def _headwater_state_(self) -> object:
        return signal_state(self)


class FAIL(PrefectStateSignal):  # noqa: N801 (Prefect's name)
    """End the task run Failed with this message (no retry)."""


class TRIGGERFAIL(FAIL):  # noqa: N801 (Prefect's name)
    """Raised by a trigger: the task does not run and is TriggerFailed."""


class SKIP(PrefectStateSignal):  # noqa: N801 (Prefect's name)
    """End the task run Skipped; downstream tasks are skipped too (unless skip_on_upstream_skip=False)."""


class SUCCESS(PrefectStateSignal):  # noqa: N801 (Prefect's name)
    """End the task run successfully (its result is None)."""


def signal_state(exc: PrefectStateSignal) -> object:
    """The Headwater state a signal ends a task run in."""
    from headwater.runtime.states import Completed, Failed, Skipped

    if isinstance(exc, SKIP):
        return Skipped(str(exc) or "Skipped by a SKIP signal.")
    if isinstance(exc, SUCCESS):
        return Completed(None, str(exc) or None)
    return Failed(str(exc) or "Failed by a FAIL signal.", exc)
