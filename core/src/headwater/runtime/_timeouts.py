"""Running a function with a time limit.

When the limit runs out, a :class:`TimeoutInterrupt` is raised *inside* the function: in the
main thread from a SIGALRM timer, elsewhere (worker threads, nested limits, a timer already
set by someone else) by running the function in a helper thread and raising the interrupt in
that thread asynchronously (it lands at the thread's next Python instruction: a blocking C
call, such as a long ``time.sleep``, finishes first). The interrupt is a ``BaseException``,
so ``except Exception`` in user code does not swallow it and an enclosing task does not take
an enclosing flow's timeout for its own failure (no retry). The :func:`call_with_timeout`
that set the limit turns its own interrupt into :class:`TaskTimeoutError`; any other one
passes through to the call that owns it.
"""

from __future__ import annotations

import contextvars
import ctypes
import signal
import threading
from collections.abc import Callable
from typing import Any

from headwater.runtime._errors import TaskTimeoutError

__all__ = ["TimeoutInterrupt", "call_with_timeout"]

_alarm_active = False
_GRACE = 1.0  # seconds an interrupted helper thread gets to stop before the caller goes on


class TimeoutInterrupt(BaseException):
    """A time limit ran out; raised inside the limited code. Each limit raises its own subclass
    (it must be a class: a thread's asynchronous exception is given as a type)."""

    message = "time limit exceeded"

    def __str__(self) -> str:
        return self.message


def _interrupt_type(message: str) -> type[TimeoutInterrupt]:
    return type("TimeoutInterrupt", (TimeoutInterrupt,), {"message": message, "__module__": __name__})


def _raise_in_thread(thread: threading.Thread, exc_type: type[BaseException]) -> None:
    if thread.ident is not None and thread.is_alive():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(exc_type))


def call_with_timeout(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], seconds: float,
                      what: str, error: type[TaskTimeoutError] = TaskTimeoutError) -> Any:
    """Return ``fn(*args, **kwargs)`` or raise ``error`` (a :class:`TaskTimeoutError`) after ``seconds``."""
    global _alarm_active
    message = f"{what} exceeded its timeout of {seconds:g} seconds"
    interrupt = _interrupt_type(message)
    if (not _alarm_active and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
            and signal.getitimer(signal.ITIMER_REAL)[0] == 0):  # never disturb someone else's timer

        def _on_alarm(_signum: int, _frame: Any) -> None:
            raise interrupt()

        previous = signal.signal(signal.SIGALRM, _on_alarm)
        _alarm_active = True
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return fn(*args, **kwargs)
        except interrupt:
            raise error(message) from None
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
    try:
        worker.join(seconds)
    except BaseException:  # an enclosing limit (or Ctrl-C) interrupted the wait: stop the work too
        _raise_in_thread(worker, interrupt)
        raise
    if worker.is_alive():
        _raise_in_thread(worker, interrupt)
        worker.join(min(seconds, _GRACE))  # a moment to stop (and record its state) before we go on
        raise error(message)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
