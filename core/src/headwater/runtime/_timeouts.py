"""Running a function with a time limit.

In the main thread a SIGALRM timer interrupts the function itself; elsewhere (worker
threads, nested limits, a timer already set by someone else) the function runs in a helper thread that is abandoned on timeout,
because Python cannot stop another thread.
"""

from __future__ import annotations

import contextvars
import signal
import threading
from collections.abc import Callable
from typing import Any

from headwater.runtime._errors import TaskTimeoutError

__all__ = ["call_with_timeout"]

_alarm_active = False


def call_with_timeout(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], seconds: float,
                      what: str) -> Any:
    """Return ``fn(*args, **kwargs)`` or raise :class:`TaskTimeoutError` after ``seconds``."""
    global _alarm_active
    message = f"{what} exceeded its timeout of {seconds:g} seconds"
    if (not _alarm_active and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
            and signal.getitimer(signal.ITIMER_REAL)[0] == 0):  # never disturb someone else's timer

        def _on_alarm(_signum: int, _frame: Any) -> None:
            raise TaskTimeoutError(message)

        previous = signal.signal(signal.SIGALRM, _on_alarm)
        _alarm_active = True
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return fn(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            _alarm_active = False

    outcome: dict[str, Any] = {}
    ctx = contextvars.copy_context()

    def _target() -> None:
        try:
            outcome["value"] = ctx.run(fn, *args, **kwargs)
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    worker = threading.Thread(target=_target, name=f"headwater-timeout-{what}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TaskTimeoutError(message)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
