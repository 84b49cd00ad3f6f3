"""Run dbt commands in this process through ``dbtRunner``, reusing parsed manifests.

dbt keeps global state (flags, adapters, the event manager), so invocations are serialized
by one process-wide lock. The manifest dbt parses on the first invocation for a project is
captured and passed to later invocations, until a project file, a parse-relevant argument
or an environment variable the project reads changes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from headwater.errors import ConfigError
from headwater.redaction import redact
from headwater_dbt.errors import (
    DbtAdapterNotInstalledError,
    DbtError,
    DbtNodeFailure,
    DbtProfileError,
    DbtProjectError,
    DbtRunError,
)

__all__ = ["DbtInvocation", "NodeResult", "clear_manifest_cache", "invoke", "split_command"]

_LOCK = threading.RLock()
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
_FAILED = {"error", "fail", "runtime error"}
_PARSE_ARGS = {"--vars", "--target", "-t", "--profile", "--project-dir", "--profiles-dir", "--target-path"}
_SKIP_DIRS = {"target", "logs", "__pycache__", ".git", ".venv", "node_modules"}
_NO_PARSE = {"deps", "clean", "debug", "init"}
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
        reused_manifest: Whether dbt ran on a manifest parsed earlier in this process.
    """

    command: str
    args: list[str]
    success: bool
    nodes: list[NodeResult] = field(default_factory=list)
    result: Any = None
    output: list[str] = field(default_factory=list)
    reused_manifest: bool = False


def split_command(command: str | list[str]) -> list[str]:
    """``"dbt build --select x"`` -> ``["build", "--select", "x"]``.

    Raises:
        ConfigError: the command is empty or is not a dbt command.
    """
    parts = shlex.split(command) if isinstance(command, str) else [str(p) for p in command]
    if parts and parts[0] == "dbt":
        parts = parts[1:]
    if not parts or parts[0].startswith("-") and not any(not p.startswith("-") for p in parts):
        raise ConfigError(f"{command!r} is not a dbt command: write it as 'dbt <command> [options]', e.g. 'dbt build'")
    if any(op in parts for op in ("&&", "||", ";", "|")):
        raise ConfigError(f"{command!r} chains shell commands: give each dbt command as its own list item")
    return parts


def check_project_dir(project_dir: str | os.PathLike[str]) -> Path:
    """The resolved project folder; raise a clear error when it is not a dbt project."""
    path = Path(project_dir).expanduser().resolve()
    if not path.is_dir():
        raise DbtProjectError(f"dbt project directory {path} does not exist: pass project_dir= pointing at your dbt project")
    if not (path / "dbt_project.yml").is_file():
        raise DbtProjectError(f"{path} is not a dbt project (no dbt_project.yml): pass the folder that holds dbt_project.yml")
    return path


def check_adapter(adapter_type: str, target: str) -> None:
    """Raise :class:`DbtAdapterNotInstalledError` when dbt's adapter for ``adapter_type`` is missing."""
    import importlib.util

    try:
        found = importlib.util.find_spec(f"dbt.adapters.{adapter_type}") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise _adapter_missing(adapter_type, target)


def _adapter_missing(adapter_type: str, target: str | None) -> DbtAdapterNotInstalledError:
    where = f"target {target!r} uses" if target else "the profile uses"
    extra = adapter_type if adapter_type in ("duckdb", "postgres") else None
    how = f"pip install headwater-dbt[{extra}]" if extra else f"pip install dbt-{adapter_type}"
    return DbtAdapterNotInstalledError(f"{where} dbt adapter '{adapter_type}', which is not installed: {how}")


# -- the manifest cache ---------------------------------------------------------------------

_manifests: dict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = {}


class _Capture:
    """The manifest of the invocation in progress (invocations are serialized by ``_LOCK``)."""

    active = False
    manifest: Any = None


_capture = _Capture()


def current_manifest() -> Any:
    """The manifest the running invocation uses (None before dbt has parsed it)."""
    return _capture.manifest


def clear_manifest_cache() -> None:
    """Forget every parsed manifest (the next command in each project parses again)."""
    with _LOCK:
        _manifests.clear()


def _output_dirs(project: Path) -> set[str]:
    """Folders dbt writes into (target-path, log-path, packages-install-path excluded)."""
    import re

    skip = set(_SKIP_DIRS)
    try:
        text = (project / "dbt_project.yml").read_text()
    except OSError:
        return skip
    for key in ("target-path", "log-path"):
        m = re.search(rf"^{key}:\s*[\"']?([^\"'\n#]+)", text, re.M)
        if m:
            skip.add(m.group(1).strip().strip("/").split("/")[0])
    return skip


def _fingerprint(project: Path) -> tuple[Any, ...]:
    entries = []
    skip = _output_dirs(project)
    for root, dirs, files in os.walk(project):
        top = root == str(project)
        dirs[:] = sorted(d for d in dirs if not (top and d in skip) and d not in ("__pycache__", "node_modules") and not d.startswith("."))
        for name in sorted(files):
            try:
                st = os.stat(os.path.join(root, name))
            except OSError:
                continue
            entries.append((os.path.relpath(os.path.join(root, name), project), st.st_mtime_ns, st.st_size))
    return tuple(entries)


def _cache_key(project: Path, args: list[str], profiles_digest: str) -> tuple[Any, ...]:
    parse_args = []
    for i, arg in enumerate(args):
        name = arg.split("=", 1)[0]
        if name in _PARSE_ARGS:
            parse_args.append(arg if "=" in arg else f"{arg}={args[i + 1] if i + 1 < len(args) else ''}")
    return (str(project), profiles_digest, tuple(parse_args))


def _env_still_matches(manifest: Any) -> bool:
    used = getattr(manifest, "env_vars", None) or {}
    return all(os.environ.get(k) == v for k, v in used.items() if not k.startswith("DBT_ENV_SECRET"))


def _install_capture() -> None:
    """Wrap dbt's ``parse_manifest`` so the manifest it parses can be kept for the next command."""
    import dbt.cli.requires as requires

    if getattr(requires.parse_manifest, "_headwater_capture", False):
        return
    original = requires.parse_manifest

    def parse_manifest(*args: Any, **kwargs: Any) -> Any:
        manifest = original(*args, **kwargs)
        if getattr(_capture, "active", False):
            _capture.manifest = manifest
        return manifest

    parse_manifest._headwater_capture = True  # type: ignore[attr-defined]
    requires.parse_manifest = parse_manifest


# -- running --------------------------------------------------------------------------------


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

    from dbt.cli.main import dbtRunner

    _install_capture()
    with _LOCK, _environ(env or {}):
        key = _cache_key(project_dir, args, profiles_digest)
        subcommand = args[0]
        manifest = None
        fingerprint = _fingerprint(project_dir) if subcommand not in _NO_PARSE else None
        cached = _manifests.get(key)
        if (
            subcommand != "parse" and fingerprint is not None and cached is not None
            and cached[0] == fingerprint and _env_still_matches(cached[1])
        ):
            manifest = cached[1]
            out.reused_manifest = True
        runner = dbtRunner(manifest=manifest, callbacks=[on_event, *(callbacks or [])])
        _capture.active, _capture.manifest = True, manifest
        kwargs = dict(flags or {})
        if not any(a.split("=")[0] in ("--use-colors", "--no-use-colors") for a in args):
            kwargs.setdefault("use_colors", False)  # log lines go to a logger, not a terminal
        try:
            res = runner.invoke(full, **kwargs)
        finally:
            _capture.active = False
            _release_duckdb()
        parsed = _capture.manifest if manifest is None else None
        _capture.manifest = None
        if subcommand == "parse" and res.success:
            parsed = res.result
        if parsed is not None and fingerprint is not None:
            _manifests[key] = (fingerprint, parsed)
    out.success = bool(res.success)
    out.result = res.result
    if res.exception is not None:
        raise _startup_error(res.exception, text, project_dir, target) from None
    if not out.success and raise_on_failure:
        raise failure_error(out, project_dir)
    return out


def _release_duckdb() -> None:
    """Close dbt-duckdb's process-wide database handle after a command.

    dbt-duckdb otherwise keeps the file open for the life of the process, so any other
    connection to it here (a SqlAlchemyConnector with a different DuckDB configuration) fails
    with "Can't open a connection to same database file with a different configuration".
    """
    import sys

    module = sys.modules.get("dbt.adapters.duckdb.connections")
    manager = getattr(module, "DuckDBConnectionManager", None)
    if manager is None or getattr(manager, "_ENV", None) is None:
        return
    with manager._LOCK:
        env, manager._ENV = manager._ENV, None
        try:
            env.close()
        except Exception:  # closing is best effort; the next command opens a fresh handle anyway
            pass


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


def failure_error(out: DbtInvocation, project_dir: Path) -> DbtRunError:
    failures = tuple(
        DbtNodeFailure(n.unique_id, n.status, _first_lines(n.message or "")) for n in out.nodes if n.status in _FAILED
    )
    if not failures:
        failures = _failures_from_result(out.result)
    skipped = sum(1 for n in out.nodes if n.status == "skipped")
    if failures:
        listing = "; ".join(str(f) for f in failures)
        tail = f" ({skipped} downstream node(s) skipped)" if skipped else ""
        message = f"'{out.command}' failed in dbt project {project_dir}: {len(failures)} node(s) failed: {listing}{tail}"
    else:
        message = f"'{out.command}' failed in dbt project {project_dir}; see the dbt log lines above for why"
    return DbtRunError(redact(message), command=out.command, project_dir=str(project_dir), failures=failures)


def _failures_from_result(result: Any) -> tuple[DbtNodeFailure, ...]:
    found = []
    for r in getattr(result, "results", None) or []:
        status = str(getattr(r, "status", ""))
        if status in _FAILED:
            uid = getattr(getattr(r, "node", None), "unique_id", "?")
            found.append(DbtNodeFailure(uid, status, _first_lines(redact(str(getattr(r, "message", "") or "")))))
    return tuple(found)


def _first_lines(message: str, limit: int = 3) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return " | ".join(lines[:limit])


def _startup_error(exc: BaseException, command: str, project_dir: Path, target: str | None) -> DbtError:
    text = redact(_first_lines(str(exc), 4))
    lowered = text.lower()
    if "could not find adapter type" in lowered:
        adapter = text.rsplit(" ", 1)[-1].rstrip("!").strip()
        return _adapter_missing(adapter, target)
    if "profile" in lowered or "target" in lowered and "does not have" in lowered:
        return DbtProfileError(f"dbt project {project_dir}: {text}")
    if "dbt_project.yml" in lowered or "project" in type(exc).__name__.lower():
        return DbtProjectError(f"dbt project {project_dir}: {text}")
    return DbtRunError(f"'{command}' failed in dbt project {project_dir}: {type(exc).__name__}: {text}", command=command, project_dir=str(project_dir))
