"""Run one dbt command in this process through ``dbtRunner``, reusing parsed manifests.

dbt keeps global state (flags, adapters, the event manager), so invocations are serialized
by one process-wide lock (``_manifest_cache.LOCK``). What makes a later command skip dbt's parse
is in ``_manifest_cache``; every change to dbt's internals is in ``_dbt_patches``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headwater.errors import ConfigError
from headwater.redaction import redact

from headwater_dbt import _dbt_patches
from headwater_dbt import _manifest_cache as cache
from headwater_dbt._manifest_cache import clear_manifest_cache, current_manifest
from headwater_dbt._translate import adapter_missing, failure_error, startup_error
from headwater_dbt.errors import DbtProjectError

__all__ = [
    "DbtInvocation",
    "NodeResult",
    "check_adapter",
    "check_project_dir",
    "clear_manifest_cache",
    "current_manifest",
    "import_dbt",
    "invoke",
    "split_command",
]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
_fallback_logger = logging.getLogger("headwater_dbt")


@dataclass(frozen=True)
class NodeResult:
    """How one dbt node ended."""

    unique_id: str
    status: str
    message: str | None
    execution_time: float
    rows_affected: int | None = None


@dataclass
class DbtInvocation:
    """The outcome of one dbt command.

    Attributes:
        command: The command as given (``"dbt build --select tag:daily"``).
        args: The arguments passed to dbt.
        success: Whether dbt reported success.
        nodes: The result of every node dbt ran, in completion order.
        result: dbt's own result object (a ``RunExecutionResult``, a ``Manifest``, a list, ...).
        output: dbt's info-level (and above) log lines.
        reused_manifest: Whether dbt ran on a manifest parsed earlier (dbt did not parse).
        manifest_cache: Where that manifest came from: ``"memory"`` (parsed earlier in this
            process), ``"disk"`` (saved by an earlier process), or None (dbt parsed).
    """

    command: str
    args: list[str]
    success: bool
    nodes: list[NodeResult] = field(default_factory=list)
    result: Any = None
    output: list[str] = field(default_factory=list)
    reused_manifest: bool = False
    manifest_cache: str | None = None


_DBT_COMMANDS = frozenset({
    "build", "clean", "clone", "compile", "debug", "deps", "docs", "init", "list", "ls", "parse", "retry", "run",
    "run-operation", "seed", "show", "snapshot", "source", "test",
})


def split_command(command: str | list[str]) -> list[str]:
    """``"dbt build --select x"`` -> ``["build", "--select", "x"]``.

    Raises:
        ConfigError: the command is empty or is not a dbt command.
    """
    parts = shlex.split(command) if isinstance(command, str) else [str(p) for p in command]
    said_dbt = bool(parts) and parts[0] == "dbt"
    if said_dbt:
        parts = parts[1:]
    elif parts and not parts[0].startswith("-") and parts[0] not in _DBT_COMMANDS:
        raise ConfigError(
            f"{command!r} is not a dbt command: DbtCoreOperation runs dbt in this process, not a shell; "
            "write dbt commands as 'dbt <command> [options]' and run other programs yourself"
        )
    if not parts or parts[0].startswith("-") and not any(not p.startswith("-") for p in parts):
        raise ConfigError(f"{command!r} is not a dbt command: write it as 'dbt <command> [options]', e.g. 'dbt build'")
    if any(op in parts for op in ("&&", "||", ";", "|")):
        raise ConfigError(f"{command!r} chains shell commands: give each dbt command as its own list item")
    return parts


def check_project_dir(project_dir: str | os.PathLike[str]) -> Path:
    """The resolved project folder; raise a clear error when it is not a dbt project."""
    path = Path(project_dir).expanduser().resolve()
    if not path.is_dir():
        raise DbtProjectError(
            f"dbt project directory {path} does not exist: pass project_dir= pointing at your dbt project"
        )
    if not (path / "dbt_project.yml").is_file():
        raise DbtProjectError(
            f"{path} is not a dbt project (no dbt_project.yml): pass the folder that holds dbt_project.yml"
        )
    return path


def check_adapter(adapter_type: str, target: str) -> None:
    """Raise :class:`DbtAdapterNotInstalledError` when dbt's adapter for ``adapter_type`` is missing."""
    import importlib.util

    try:
        found = importlib.util.find_spec(f"dbt.adapters.{adapter_type}") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise adapter_missing(adapter_type, target)


_frozen = False
_IMPORT_LOCK = threading.Lock()


def import_dbt() -> Any:
    """``dbt.cli.main``; the first time in a process, imported with the cyclic GC paused, then frozen.

    Importing dbt leaves about 130,000 objects that the cyclic garbage collector tracks
    (classes, functions, the code mashumaro generates) and that live until the process ends.
    The collector walked them several times while dbt imported, at every later full
    collection, and once more when the process exits, which is a large share of the CPU of a
    process that runs one dbt command. Instead, the collector is paused for the import and
    ``gc.freeze()`` then moves everything it tracks to the permanent generation it skips. The
    cost: the few thousand objects the import left unreachable, and any object alive at that
    moment that later becomes unreachable inside a reference cycle, are reclaimed only when
    the process exits. ``HEADWATER_DBT_GC_FREEZE=false`` turns this off.
    """
    global _frozen
    import sys

    module = sys.modules.get("dbt.cli.main")
    if module is not None and _frozen:
        return module
    with _IMPORT_LOCK:
        if _frozen or not cache.env_on("HEADWATER_DBT_GC_FREEZE"):
            _frozen = True
            import dbt.cli.main

            return dbt.cli.main
        import gc

        imported_here = "dbt.cli.main" not in sys.modules
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            import dbt.cli.main
        finally:
            if was_enabled:
                gc.enable()
        if not imported_here:
            gc.collect(1)  # dbt was imported before, with the collector on: drop its young garbage
        gc.freeze()
        _frozen = True
        return dbt.cli.main


@contextlib.contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update({k: str(v) for k, v in env.items()})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_logger() -> logging.Logger | logging.LoggerAdapter:
    """The current flow/task run's logger, or this plugin's logger outside a run."""
    try:
        from headwater.runtime.context import flow_run, task_run

        if flow_run or task_run:
            from headwater.runtime import get_run_logger

            return get_run_logger()
    except ImportError:
        pass
    return _fallback_logger


def invoke(
    command: str | list[str],
    project_dir: Path,
    *,
    profiles_dir: Path | None = None,
    profiles_digest: str = "",
    target: str | None = None,
    env: dict[str, str] | None = None,
    flags: dict[str, Any] | None = None,
    stream_output: bool = True,
    callbacks: list[Callable[[Any], None]] | None = None,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
    raise_on_failure: bool = True,
    extra_args: list[str] | None = None,
) -> DbtInvocation:
    """Run one dbt command in this process.

    Args:
        command: ``"dbt build --select x"`` or its argument list.
        project_dir: The dbt project folder (already checked).
        profiles_dir: Folder holding profiles.yml; dbt's default when None.
        profiles_digest: Identifies the profile content, for the manifest cache.
        target: The target name, for error messages.
        env: Environment variables set while dbt runs.
        flags: dbt global flags by parameter name (``{"fail_fast": True}``).
        stream_output: Send dbt's log lines to the run logger.
        callbacks: More callbacks receiving each dbt event.
        logger: Where log lines go (default: the run logger).
        raise_on_failure: Raise :class:`DbtRunError` when dbt does not succeed.
        extra_args: Arguments appended to the command (not shown in messages).

    Raises:
        DbtRunError: the command failed (lists the failing nodes and dbt's messages).
        DbtProfileError, DbtAdapterNotInstalledError, DbtProjectError: dbt could not start.
    """
    args = split_command(command)
    text = command if isinstance(command, str) else "dbt " + " ".join(args)
    full = [*args, *(extra_args or []), "--project-dir", str(project_dir)]
    if profiles_dir is not None and "--profiles-dir" not in args:
        full += ["--profiles-dir", str(profiles_dir)]
    if not any(a.split("=")[0] in ("--log-level", "--quiet", "-q") for a in args):
        full += ["--log-level", "none"]
        if not any(a.split("=")[0] == "--log-level-file" for a in args):
            full += ["--log-level-file", "debug"]  # keep dbt's own logs/dbt.log, as the CLI does
    log = logger or run_logger()
    out = DbtInvocation(command=text, args=full, success=False)
    node_results = out.nodes

    def on_event(ev: Any) -> None:
        info = ev.info
        name = info.name
        if name == "NodeFinished":
            node_results.append(_node_result(ev.data))
        level = _LEVELS.get(info.level, logging.INFO)
        if level >= logging.INFO and info.msg:
            out.output.append(info.msg)
        if stream_output and info.msg and log.isEnabledFor(level):
            log.log(level, redact(info.msg))

    dbtRunner = import_dbt().dbtRunner
    _dbt_patches.install()
    with cache.LOCK, _environ(env or {}):
        found = cache.lookup(project_dir, args, profiles_digest, flags or {})
        if found.manifest is not None:
            out.reused_manifest, out.manifest_cache = True, found.source
            if found.source == "disk":
                log.debug("dbt: using the manifest saved at %s (no project file changed)", found.disk.path)
        runner = dbtRunner(manifest=found.manifest, callbacks=[on_event, *(callbacks or [])])
        kwargs = dict(flags or {})
        if not any(a.split("=")[0] in ("--use-colors", "--no-use-colors") for a in args):
            kwargs.setdefault("use_colors", False)  # log lines go to a logger, not a terminal
        if "send_anonymous_usage_stats" not in kwargs and not _tracking_configured(project_dir, args):
            kwargs["send_anonymous_usage_stats"] = False  # no call to dbt Labs unless asked for
        found.start_capture()
        try:
            res = runner.invoke(full, **kwargs)
        finally:
            found.stop_capture()
            _dbt_patches.after_command()
        found.remember(res.result if args[0] == "parse" and res.success else None)
    out.success = bool(res.success)
    out.result = res.result
    if res.exception is not None:
        raise startup_error(res.exception, text, project_dir, target) from None
    if not out.success and raise_on_failure:
        raise failure_error(out, project_dir)
    return out


def _tracking_configured(project: Path, args: list[str]) -> bool:
    """Whether the user chose dbt's anonymous usage statistics setting themselves.

    By flag, by ``DBT_SEND_ANONYMOUS_USAGE_STATS`` / ``DO_NOT_TRACK``, or in the project's
    ``flags:``; otherwise Headwater turns them off (dbt's default is on).
    """
    if any(a.split("=")[0] in ("--send-anonymous-usage-stats", "--no-send-anonymous-usage-stats") for a in args):
        return True
    if "DBT_SEND_ANONYMOUS_USAGE_STATS" in os.environ or "DO_NOT_TRACK" in os.environ:
        return True
    try:
        return "send_anonymous_usage_stats" in (project / "dbt_project.yml").read_text()
    except OSError:
        return False


def _node_result(data: Any) -> NodeResult:
    rr = data.run_result
    rows = None
    try:
        response = dict(rr.adapter_response) if rr.adapter_response else {}
        value = response.get("rows_affected")
        rows = int(value) if value is not None and int(value) >= 0 else None
    except (TypeError, ValueError):
        rows = None
    return NodeResult(
        unique_id=data.node_info.unique_id,
        status=str(rr.status or data.node_info.node_status),
        message=redact(rr.message) if rr.message else None,
        execution_time=float(rr.execution_time or 0.0),
        rows_affected=rows,
    )


