"""Recording runs: state changes and log lines become history events (queued, never written inline)."""

from __future__ import annotations

import builtins
import logging
import sys
import time
import traceback
from typing import Any

from headwater import _state
from headwater.dispatch import call_sync
from headwater.history.writer import EDGE, FLOW, LOG, TASK, get_writer
from headwater.runtime.context import FlowRun, TaskRun, _flow_run_var, _task_run_var
from headwater.runtime.states import State

__all__ = ["default_sink", "get_run_logger", "install_print_capture", "log", "set_flow_state", "set_task_state"]

_lifecycle: list[Any] | None = None
_console_level: int | None = None


def console_level() -> int:
    """The console log level (``HEADWATER_LOGGING_LEVEL``), cached until settings are reset."""
    global _console_level
    if _console_level is None:
        from headwater.settings import get_settings

        _console_level = getattr(logging, get_settings().logging_level)
    return _console_level


@_state.on_reset
def _forget_settings() -> None:
    global _console_level
    _console_level = None


def default_sink() -> Any:
    return get_writer().put


def _hooks() -> Any:
    """``[flow_caller, task_caller]`` of plugin lifecycle hooks (None when not implemented; checked once)."""
    global _lifecycle
    if _lifecycle is None:
        try:
            from headwater.runtime._lifecycle import lifecycle_hook_callers

            _lifecycle = list(lifecycle_hook_callers())
        except Exception:
            _lifecycle = [None, None]
    return _lifecycle


def reset_lifecycle_hooks() -> None:
    """Forget which plugins implement lifecycle hooks (after loading plugins in tests)."""
    global _lifecycle
    _lifecycle = None


def set_task_state(tr: TaskRun, state: State) -> None:
    """Move ``tr`` to ``state`` and queue the snapshot for history."""
    tr.state = state
    tr.state_type, tr.state_name, tr.message = state.type, state.name, state.message
    tr.transitions.append((state.name, state.timestamp))
    tr.sink((TASK, tr))  # the writer reads the run's fields when it writes: the newest snapshot wins
    hooks = _lifecycle if _lifecycle is not None else _hooks()
    if hooks[1] is not None:
        _call_hook(hooks[1], task_run=tr, state=state)


def set_flow_state(fr: FlowRun, state: State, ended: float | None = None) -> None:
    """Move ``fr`` to ``state`` and queue the snapshot for history."""
    fr.state = state
    fr.transitions.append((state.name, state.timestamp))
    fr.sink((FLOW, (
        fr.id, fr.name, fr.flow_name, fr.parent_flow_run_id, fr.parent_task_run_id, state.type, state.name,
        state.message, fr.parameters, fr.tags, fr.run_count, fr.created, fr.started, ended, tuple(fr.transitions),
    )))
    hooks = _lifecycle if _lifecycle is not None else _hooks()
    if hooks[0] is not None:
        _call_hook(hooks[0], flow_run=fr, state=state)


def _call_hook(caller: Any, **kwargs: Any) -> None:
    """Call a lifecycle hook; ``plugins.hook_caller`` reports a failing plugin on stderr, not the run."""
    call_sync(caller, **kwargs)  # plugins' hooks are sync: their block calls return values


def edge(sink: Any, upstream_id: str, downstream_id: str, flow_run_id: str | None) -> None:
    sink((EDGE, (upstream_id, downstream_id, flow_run_id)))


def log(run: FlowRun | TaskRun, level: int, message: str, console: int = 1) -> None:
    """Queue a log line for ``run``: ``console`` 1 prints and stores it, 2 only prints it
    (routine lines whose facts the run's row already holds), 0 only stores it."""
    if isinstance(run, TaskRun):
        run.sink((LOG, (run.flow_run_id, run.id, time.time(), level, run.name, message, console)))
    else:
        run.sink((LOG, (run.id, None, time.time(), level, run.name, message, console)))


def error_text(exc: BaseException) -> str:
    """The traceback of ``exc`` as text (a Failed state's message)."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()


def log_failure(run: FlowRun | TaskRun, headline: str, exc: BaseException, detail: str) -> None:
    """Log a failed run: ``headline`` then ``detail`` (the traceback).

    A :class:`~headwater.errors.HeadwaterError` (a missing block, bad configuration, an
    unreachable server) already says what to fix, so the console shows only its headline
    while the run history keeps the traceback; ``HEADWATER_DEBUG=1`` prints it as well.
    """
    from headwater.errors import HeadwaterError

    if isinstance(exc, HeadwaterError) and not _debug():
        log(run, logging.ERROR, headline, console=2)
        log(run, logging.ERROR, f"{headline}\n{detail}", console=0)
    else:
        log(run, logging.ERROR, f"{headline}\n{detail}")


def _debug() -> bool:
    import os

    return bool(os.environ.get("HEADWATER_DEBUG"))


class _RunHandler(logging.Handler):
    """Routes records of ``headwater.runs`` loggers to the current run's history and console."""

    def emit(self, record: logging.LogRecord) -> None:
        run = getattr(record, "_hw_run", None) or _task_run_var.get() or _flow_run_var.get()
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            elif record.exc_text:
                message += "\n" + record.exc_text
        except Exception:
            self.handleError(record)
            return
        if run is None:
            sys.stderr.write(f"{time.strftime('%H:%M:%S')} {record.levelname} | {record.name} - {message}\n")
            return
        if isinstance(run, TaskRun):
            run.sink((LOG, (run.flow_run_id, run.id, record.created, record.levelno, run.name, message, True)))
        else:
            run.sink((LOG, (run.id, None, record.created, record.levelno, run.name, message, True)))


_logger: logging.Logger | None = None


def _base_logger() -> logging.Logger:
    global _logger
    if _logger is None:
        from headwater.redaction import RedactingFilter
        from headwater.settings import get_settings

        logger = logging.getLogger("headwater.runs")
        logger.propagate = False
        logger.setLevel(min(logging.INFO, getattr(logging, get_settings().logging_level)))
        handler = _RunHandler()
        handler.addFilter(RedactingFilter())
        logger.addHandler(handler)
        _logger = logger
    return _logger


class RunLoggerAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger bound to one run: records carry the run's flow/task name and id."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = dict(self.extra or {})
        extra.update(kwargs.get("extra") or {})
        kwargs["extra"] = extra
        return msg, kwargs


def get_run_logger() -> logging.LoggerAdapter:  # type: ignore[type-arg]
    """A logger for the current flow or task run.

    Records carry ``flow_run_id``, ``flow_run_name``, ``task_run_id`` and ``task_run_name``;
    they are printed like ``12:00:01 INFO | Task 'load' - message`` and stored with the run
    (secrets redacted).

    Returns:
        A :class:`logging.LoggerAdapter`.

    Raises:
        MissingContextError: Called outside a flow or task run (as in Prefect); use
            ``headwater.logging.get_logger()`` there.
    """
    tr = _task_run_var.get()
    fr = _flow_run_var.get()
    run = tr or fr
    if run is None:
        from headwater.runtime._errors import MissingContextError

        raise MissingContextError("get_run_logger() was called outside a flow or task run: "
                                  "use headwater.logging.get_logger() there")
    extra: dict[str, Any] = {
        "_hw_run": run,
        "flow_run_id": fr.id if fr else (tr.flow_run_id if tr else None),
        "flow_run_name": fr.name if fr else None,
        "flow_name": fr.flow_name if fr else None,
        "task_run_id": tr.id if tr else None,
        "task_run_name": tr.name if tr else None,
        "task_name": tr.task_name if tr else None,
    }
    return RunLoggerAdapter(_base_logger(), extra)


_original_print = builtins.print
_print_installed = False


def _print(*args: Any, sep: str | None = " ", end: str | None = "\n", file: Any = None, flush: bool = False) -> None:
    if file is None or file is sys.stdout:
        run = _task_run_var.get() or _flow_run_var.get()
        if run is not None and run.log_prints:
            text = (sep if sep is not None else " ").join(str(a) for a in args)
            log(run, logging.INFO, text)
            return
    _original_print(*args, sep=sep, end=end, file=file, flush=flush)


def install_print_capture() -> None:
    """Route ``print`` inside runs with ``log_prints=True`` to the run logger (installed once)."""
    global _print_installed
    if not _print_installed:
        _print_installed = True
        builtins.print = _print
