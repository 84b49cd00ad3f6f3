"""Run dbt commands in this process through ``dbtRunner``, reusing parsed manifests.

dbt keeps global state (flags, adapters, the event manager), so invocations are serialized
by one process-wide lock. The manifest dbt parses on the first invocation for a project is
captured and passed to later invocations, until a project file, a parse-relevant argument
or an environment variable the project reads changes.

The parsed manifest is also saved (pickled) under ``$HEADWATER_HOME/dbt-manifests`` so that a
later process on an unchanged project skips dbt's parse altogether: loading it takes a few
milliseconds where dbt's own partial parse (reading ``partial_parse.msgpack`` and hashing
every file) takes about a second.
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
    save: _DiskEntry | None = None  # where to save the manifest dbt parses, if anywhere


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
        dirs[:] = sorted(
            d for d in dirs
            if not (top and d in skip) and d not in ("__pycache__", "node_modules") and not d.startswith(".")
        )
        for name in sorted(files):
            try:
                st = os.stat(os.path.join(root, name))
            except OSError:
                continue
            entries.append((os.path.relpath(os.path.join(root, name), project), st.st_mtime_ns, st.st_size))
    return tuple(entries)


def _cache_key(project: Path, args: list[str], profiles_digest: str, flags: dict[str, Any]) -> tuple[Any, ...]:
    parse_args = []
    for i, arg in enumerate(args):
        name = arg.split("=", 1)[0]
        if name in _PARSE_ARGS:
            parse_args.append(arg if "=" in arg else f"{arg}={args[i + 1] if i + 1 < len(args) else ''}")
    return (str(project), profiles_digest, tuple(parse_args), _digest(flags) if flags else "")


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
            entry, _capture.save = _capture.save, None
            if entry is not None:
                entry.save(manifest, args[0] if args else kwargs.get("runtime_config"))
        return manifest

    parse_manifest._headwater_capture = True  # type: ignore[attr-defined]
    requires.parse_manifest = parse_manifest
    original_setup = requires.setup_manifest

    def setup_manifest(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        reused = getattr(_capture, "active", False) and ctx.obj.get("manifest") is not None
        out = original_setup(ctx, *args, **kwargs)
        if reused:
            _stamp_invocation(ctx.obj["manifest"])
        return out

    requires.setup_manifest = setup_manifest
    _speed_up_behavior_flags()
    _keep_json_schemas()


def _stamp_invocation(manifest: Any) -> None:
    """Give a reused manifest this invocation's id and times.

    dbt stamps a manifest it loads for partial parsing the same way; without this,
    target/manifest.json of a command that reused a manifest named an earlier invocation
    than run_results.json beside it.
    """
    from datetime import datetime, timezone

    import dbt.tracking
    from dbt_common.invocation import get_invocation_id, get_invocation_started_at

    meta = getattr(manifest, "metadata", None)
    if meta is None:
        return
    meta.generated_at = datetime.now(timezone.utc).replace(tzinfo=None)
    meta.invocation_id = get_invocation_id()
    if hasattr(meta, "invocation_started_at"):
        meta.invocation_started_at = get_invocation_started_at()
    user = dbt.tracking.active_user
    if user is not None and hasattr(meta, "run_started_at"):
        meta.run_started_at = user.run_started_at


def _speed_up_behavior_flags() -> None:
    """Name a behavior flag's source module without ``inspect.stack()``.

    dbt-common names the module that declared each adapter behavior flag by calling
    ``inspect.stack()``, which reads the source file of every frame on the stack, for each
    flag, each time an adapter is registered (each command): about a tenth of a second per
    command, more on a cold start. Walking the frames' ``__name__`` gives the same module
    name (the first caller outside ``dbt_common.behavior_flags``) for nothing.
    """
    try:
        from dbt_common.behavior_flags import BehaviorFlagRendered
    except ImportError:
        return
    if not callable(getattr(BehaviorFlagRendered, "_default_source", None)):
        return
    if getattr(BehaviorFlagRendered._default_source, "_headwater", False):
        return
    import sys

    here = BehaviorFlagRendered.__module__

    def _default_source() -> str:
        frame = sys._getframe(1)
        while frame is not None:
            name = frame.f_globals.get("__name__")
            if name and name != here and not frame.f_code.co_filename.startswith("<"):
                return str(name)
            frame = frame.f_back
        return "Unknown"

    _default_source._headwater = True  # type: ignore[attr-defined]
    BehaviorFlagRendered._default_source = staticmethod(_default_source)  # type: ignore[method-assign]


class _SchemaStore:
    """JSON schemas dbt builds to validate dbt_project.yml, profiles and flags, kept on disk.

    dbt-common builds each schema with mashumaro once per process (about a third of a
    second of CPU per command in a fresh process). The file is keyed by the Python, dbt-core,
    dbt-common and mashumaro versions; each schema by the size and modification time of the
    module that defines its class.
    """

    def __init__(self, build: Callable[[Any], Any]) -> None:
        self.build = build
        self.schemas: dict[str, Any] | None = None
        self.dirty = False
        self.path: Path | None = None

    @staticmethod
    def _stamp() -> list[Any]:
        import sys
        from importlib.metadata import version

        from dbt.version import __version__ as dbt_version

        try:
            from dbt_common.__about__ import version as common_version
        except ImportError:
            common_version = "?"
        return [_DISK_FORMAT, list(sys.version_info[:3]), dbt_version, common_version, version("mashumaro")]

    def _load(self) -> dict[str, Any]:
        from headwater.settings import get_settings

        path = get_settings().home / "dbt-manifests" / "json-schemas.json"
        if self.schemas is None or path != self.path:
            import json

            self.path, self.schemas, self.dirty = path, {}, False
            try:
                data = json.loads(self.path.read_text())
                if data.get("stamp") == json.loads(json.dumps(self._stamp())):
                    self.schemas = data.get("schemas") or {}
            except (OSError, ValueError, AttributeError):
                pass
        return self.schemas

    def get(self, cls: Any) -> Any:
        import sys

        name = f"{cls.__module__}.{cls.__qualname__}"
        try:
            st = os.stat(sys.modules[cls.__module__].__file__ or "")
            stamp = [st.st_mtime_ns, st.st_size]
        except (KeyError, OSError, TypeError):
            return self.build(cls)
        try:
            entry = self._load().get(name)
        except Exception:  # no settings, unreadable home: build as dbt does
            return self.build(cls)
        if entry is not None and entry.get("module") == stamp:
            return entry["schema"]
        schema = self.build(cls)
        self.schemas[name] = {"module": stamp, "schema": schema}  # type: ignore[index]
        self.dirty = True
        return schema

    def save(self) -> None:
        if not self.dirty or self.path is None:
            return
        import json
        import tempfile

        self.dirty = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w") as fh:
                json.dump({"stamp": self._stamp(), "schemas": self.schemas}, fh)
            os.replace(tmp, self.path)
        except (OSError, TypeError, ValueError):
            _fallback_logger.debug("could not save dbt's JSON schemas to %s", self.path, exc_info=True)


_schemas: _SchemaStore | None = None


def _keep_json_schemas() -> None:
    """Serve dbt-common's ``dbtClassMixin.json_schema()`` from :class:`_SchemaStore`."""
    global _schemas
    if _schemas is not None or not _manifest_cache_allowed():
        return
    try:
        from dbt_common.dataclass_schema import dbtClassMixin
    except ImportError:
        return
    build = getattr(getattr(dbtClassMixin.__dict__.get("json_schema"), "__func__", None), "__wrapped__", None)
    if build is None:
        return
    import functools

    store = _schemas = _SchemaStore(build)

    @functools.lru_cache
    def json_schema(cls: Any) -> Any:
        return store.get(cls)

    dbtClassMixin.json_schema = classmethod(json_schema)  # type: ignore[assignment]


# -- the manifest cache on disk -------------------------------------------------------------

_DISK_FORMAT = 2  # 2: manifests packed by _pack_manifest (format 1 pickled them whole)
_DISK_KEEP = 32  # manifests kept on disk (one per project, profile and parse arguments)
_FALSE = ("0", "false", "no", "off")


_frozen = False
_IMPORT_LOCK = threading.Lock()


def import_dbt() -> Any:
    """``dbt.cli.main``; the first time in a process, imported with the cyclic GC paused, then frozen.

    Importing dbt leaves about 130,000 objects that the cyclic garbage collector tracks
    (classes, functions, the code mashumaro generates) and that live until the process ends.
    The collector walked them several times while dbt imported, at every later full
    collection, and once more when the process exits: about half a second of CPU in a process
    that runs one dbt command. Instead, the collector is paused for the import and
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
        if _frozen or not _env_on("HEADWATER_DBT_GC_FREEZE"):
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


def _env_on(name: str) -> bool:
    """Whether the environment variable ``name`` is unset or not one of ``_FALSE``."""
    return os.environ.get(name, "").strip().lower() not in _FALSE


def _manifest_cache_allowed() -> bool:
    """False when ``HEADWATER_DBT_MANIFEST_CACHE`` turns saving between processes off."""
    return _env_on("HEADWATER_DBT_MANIFEST_CACHE")


def _disk_cache_enabled(args: list[str], flags: dict[str, Any]) -> bool:
    """Whether the manifest may be saved to / loaded from disk for this command.

    Off with ``HEADWATER_DBT_MANIFEST_CACHE=false``, and wherever dbt's own partial parsing
    is off (``--no-partial-parse``, ``DBT_PARTIAL_PARSE=false``, ``partial_parse=False``).
    """
    if not _manifest_cache_allowed():
        return False
    if flags.get("partial_parse") is False or "--no-partial-parse" in args:
        return False
    return _env_on("DBT_PARTIAL_PARSE")


def _digest(value: Any) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _target_dir(project: Path, args: list[str]) -> Path:
    """The target folder dbt will write to (``--target-path``, ``DBT_TARGET_PATH``, dbt_project.yml)."""
    import re

    for i, arg in enumerate(args):
        if arg.startswith("--target-path="):
            return project / arg.split("=", 1)[1]
        if arg == "--target-path" and i + 1 < len(args):
            return project / args[i + 1]
    if os.environ.get("DBT_TARGET_PATH"):
        return project / os.environ["DBT_TARGET_PATH"]
    try:
        m = re.search(r"^target-path:\s*[\"']?([^\"'\n#]+)", (project / "dbt_project.yml").read_text(), re.M)
    except OSError:
        m = None
    return project / (m.group(1).strip() if m else "target")


def _pack_manifest(manifest: Any) -> tuple[Any, dict[str, Any]]:
    """``(class, public fields)`` of a parsed manifest, for pickling.

    dbt-core 1.11's ``Manifest.__reduce_ex__`` lists its fields positionally but leaves out
    ``fixtures`` and ``_saved_query_lookup``, so a manifest pickled whole comes back with its
    lookups shifted by one (``_source_lookup`` holding the ref lookup, ...) and ``source()``
    fails to compile. Only the public fields are kept; the lookups and the lock are private
    caches that the manifest rebuilds on first use.
    """
    import dataclasses

    fields = {f.name: getattr(manifest, f.name) for f in dataclasses.fields(manifest)
              if not f.name.startswith("_") and f.init}
    return type(manifest), fields


def _unpack_manifest(packed: Any) -> Any:
    cls, fields = packed
    return cls(**fields)


class _DiskEntry:
    """One manifest file: a JSON header saying when it is valid, then the pickled manifest.

    Valid while the dbt and Python versions, the cache key (project, profile, parse
    arguments, global flags, ``DBT_*`` variables), the files of the project and of every
    package and adapter it draws macros from (path, size, mtime), and the environment
    variables dbt read while parsing (kept as hashes) are all unchanged.
    """

    def __init__(self, project: Path, key: tuple[Any, ...], fingerprint: tuple[Any, ...], args: list[str],
                 flags: dict[str, Any]) -> None:
        import sys

        from dbt.version import __version__ as dbt_version
        from headwater.settings import get_settings

        self.project = project
        self.fingerprint = fingerprint
        self.args = args
        env = {k: v for k, v in os.environ.items() if k.startswith("DBT_")}
        self.key = _digest([_DISK_FORMAT, dbt_version, list(sys.version_info[:3]), list(key), flags, env])
        self.folder = get_settings().home / "dbt-manifests"
        self.path = self.folder / f"{_digest([str(project), self.key])[:40]}.pickle"

    def load(self) -> Any:
        """The saved manifest, or None when there is none or it is out of date."""
        import json
        import pickle

        try:
            st = os.stat(self.path)
            if st.st_uid != os.getuid() or st.st_mode & 0o022:
                return None  # only load what this user wrote and nobody else can change
            with open(self.path, "rb") as fh:
                header = json.loads(fh.readline())
                if header.get("key") != self.key or header.get("project") != _digest(self.fingerprint):
                    return None
                if any(_digest(_fingerprint(Path(root))) != digest for root, digest in header.get("roots", {}).items()):
                    return None
                if any(_digest(os.environ.get(name)) != digest for name, digest in header.get("env", {}).items()):
                    return None
                if not (_target_dir(self.project, self.args) / "manifest.json").is_file():
                    return None  # after `dbt clean`, let dbt parse and write its artifacts again
                manifest = _unpack_manifest(pickle.load(fh))
        except FileNotFoundError:
            return None
        except Exception:  # a damaged or incompatible file: parse instead, and replace it
            _fallback_logger.debug("ignoring the saved dbt manifest %s", self.path, exc_info=True)
            return None
        return manifest

    def save(self, manifest: Any, runtime_config: Any) -> None:
        """Save ``manifest`` (just parsed); never fails the dbt command."""
        try:
            self._save(manifest, runtime_config)
        except Exception:
            _fallback_logger.debug("could not save the dbt manifest to %s", self.path, exc_info=True)

    def _save(self, manifest: Any, runtime_config: Any) -> None:
        import json
        import pickle
        import tempfile

        roots = {}
        for source_file in (getattr(manifest, "files", None) or {}).values():
            root = getattr(getattr(source_file, "path", None), "project_root", None)
            if root and root not in roots and not Path(root).resolve().is_relative_to(self.project):
                roots[root] = _digest(_fingerprint(Path(root)))
        names = set(getattr(manifest, "env_vars", None) or {})
        for attr in ("project_env_vars", "profile_env_vars"):
            names.update(getattr(runtime_config, attr, None) or {})
        header = {
            "key": self.key,
            "project": _digest(self.fingerprint),
            "roots": roots,
            "env": {name: _digest(os.environ.get(name)) for name in sorted(names)},
        }
        payload = pickle.dumps(_pack_manifest(manifest), protocol=pickle.HIGHEST_PROTOCOL)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(json.dumps(header).encode() + b"\n")
                fh.write(payload)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._prune()

    def _prune(self) -> None:
        files = sorted(self.folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[_DISK_KEEP:]:
            with contextlib.suppress(OSError):
                old.unlink()


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

    dbtRunner = import_dbt().dbtRunner
    _install_capture()
    with _LOCK, _environ(env or {}):
        key = _cache_key(project_dir, args, profiles_digest, flags or {})
        subcommand = args[0]
        manifest = None
        fingerprint = _fingerprint(project_dir) if subcommand not in _NO_PARSE else None
        cached = _manifests.get(key)
        disk = None
        if (
            subcommand != "parse" and fingerprint is not None and cached is not None
            and cached[0] == fingerprint and _env_still_matches(cached[1])
        ):
            manifest = cached[1]
            out.reused_manifest, out.manifest_cache = True, "memory"
        elif fingerprint is not None and _disk_cache_enabled(args, flags or {}):
            disk = _DiskEntry(project_dir, key, fingerprint, args, flags or {})
            if subcommand != "parse":
                manifest = disk.load()
            if manifest is not None:
                out.reused_manifest, out.manifest_cache = True, "disk"
                log.debug("dbt: using the manifest saved at %s (no project file changed)", disk.path)
                _manifests[key] = (fingerprint, manifest)
        runner = dbtRunner(manifest=manifest, callbacks=[on_event, *(callbacks or [])])
        _capture.active, _capture.manifest = True, manifest
        _capture.save = disk if manifest is None else None
        kwargs = dict(flags or {})
        if not any(a.split("=")[0] in ("--use-colors", "--no-use-colors") for a in args):
            kwargs.setdefault("use_colors", False)  # log lines go to a logger, not a terminal
        if "send_anonymous_usage_stats" not in kwargs and not _tracking_configured(project_dir, args):
            kwargs["send_anonymous_usage_stats"] = False  # no call to dbt Labs unless asked for
        try:
            res = runner.invoke(full, **kwargs)
        finally:
            _capture.active, _capture.save = False, None
            _release_duckdb()
            if _schemas is not None:
                _schemas.save()
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
        message = (
            f"'{out.command}' failed in dbt project {project_dir}: {len(failures)} node(s) failed: {listing}{tail}"
        )
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
    return DbtRunError(f"'{command}' failed in dbt project {project_dir}: {type(exc).__name__}: {text}",
                       command=command, project_dir=str(project_dir))
