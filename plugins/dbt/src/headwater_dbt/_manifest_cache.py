"""The manifest cache: parsed dbt manifests kept in memory and on disk, and when they are still valid.

The manifest dbt parses on the first invocation for a project is captured and passed to later
invocations, until a project file, a parse-relevant argument or an environment variable the
project reads changes.

The parsed manifest is also saved (pickled) under ``$HEADWATER_HOME/dbt-manifests`` so that a
later process on an unchanged project skips dbt's parse altogether: loading it is much faster
than dbt's own partial parse, which reads ``partial_parse.msgpack`` and hashes every file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

__all__ = [
    "DISK_FORMAT",
    "LOCK",
    "DiskEntry",
    "Lookup",
    "capture",
    "clear_manifest_cache",
    "current_manifest",
    "env_on",
    "lookup",
    "manifest_cache_allowed",
]

LOCK = threading.RLock()
"""dbt keeps global state (flags, adapters, the event manager): invocations are serialized by this lock."""

_PARSE_ARGS = {"--vars", "--target", "-t", "--profile", "--project-dir", "--profiles-dir", "--target-path"}
_SKIP_DIRS = {"target", "logs", "__pycache__", ".git", ".venv", "node_modules"}
_NO_PARSE = {"deps", "clean", "debug", "init"}
_fallback_logger = logging.getLogger("headwater_dbt")

_manifests: dict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = {}


class Capture:
    """The manifest of the invocation in progress (invocations are serialized by ``LOCK``)."""

    active = False
    manifest: Any = None
    save: DiskEntry | None = None  # where to save the manifest dbt parses, if anywhere


capture = Capture()


def current_manifest() -> Any:
    """The manifest the running invocation uses (None before dbt has parsed it)."""
    return capture.manifest


def clear_manifest_cache() -> None:
    """Forget every parsed manifest (the next command in each project parses again)."""
    with LOCK:
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


DISK_FORMAT = 2  # 2: manifests packed by _pack_manifest (format 1 pickled them whole)
_DISK_KEEP = 32  # manifests kept on disk (one per project, profile and parse arguments)
_FALSE = ("0", "false", "no", "off")



def env_on(name: str) -> bool:
    """Whether the environment variable ``name`` is unset or not one of ``_FALSE``."""
    return os.environ.get(name, "").strip().lower() not in _FALSE


def manifest_cache_allowed() -> bool:
    """False when ``HEADWATER_DBT_MANIFEST_CACHE`` turns saving between processes off."""
    return env_on("HEADWATER_DBT_MANIFEST_CACHE")


def _disk_cache_enabled(args: list[str], flags: dict[str, Any]) -> bool:
    """Whether the manifest may be saved to / loaded from disk for this command.

    Off with ``HEADWATER_DBT_MANIFEST_CACHE=false``, and wherever dbt's own partial parsing
    is off (``--no-partial-parse``, ``DBT_PARTIAL_PARSE=false``, ``partial_parse=False``).
    """
    if not manifest_cache_allowed():
        return False
    if flags.get("partial_parse") is False or "--no-partial-parse" in args:
        return False
    return env_on("DBT_PARTIAL_PARSE")


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


class DiskEntry:
    """One manifest file: a JSON header saying when it is valid, then the pickled manifest.

    Valid while the dbt and Python versions, the cache key (project, profile, parse
    arguments, global flags, ``DBT_*`` variables), the files of the project and of every
    package and adapter it draws macros from (path, size, mtime), and the environment
    variables dbt read while parsing (kept as hashes) are all unchanged.
    """

    def __init__(
        self, project: Path, key: tuple[Any, ...], fingerprint: tuple[Any, ...], args: list[str], flags: dict[str, Any]
    ) -> None:
        import sys

        from dbt.version import __version__ as dbt_version
        from headwater.settings import get_settings

        self.project = project
        self.fingerprint = fingerprint
        self.args = args
        env = {k: v for k, v in os.environ.items() if k.startswith("DBT_")}
        self.key = _digest([DISK_FORMAT, dbt_version, list(sys.version_info[:3]), list(key), flags, env])
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




class Lookup:
    """The cached manifest (if any) for one command, and how to keep the one dbt parses for it.

    Used under :data:`LOCK`: ``lookup()``, then ``start_capture()`` / ``stop_capture()`` around
    the dbt invocation, then ``remember()``.
    """

    def __init__(self, key: tuple[Any, ...], fingerprint: tuple[Any, ...] | None) -> None:
        self.key, self.fingerprint = key, fingerprint
        self.manifest: Any = None
        self.source: str | None = None  # "memory" or "disk"
        self.disk: DiskEntry | None = None
        self.parsed: Any = None

    def start_capture(self) -> None:
        capture.active, capture.manifest = True, self.manifest
        capture.save = self.disk if self.manifest is None else None

    def stop_capture(self) -> None:
        capture.active, capture.save = False, None
        self.parsed = capture.manifest if self.manifest is None else None
        capture.manifest = None

    def remember(self, parse_result: Any = None) -> None:
        """Keep the manifest dbt parsed (or ``dbt parse`` returned) for the next command."""
        parsed = parse_result if parse_result is not None else self.parsed
        if parsed is not None and self.fingerprint is not None:
            _manifests[self.key] = (self.fingerprint, parsed)


def lookup(project_dir: Path, args: list[str], profiles_digest: str, flags: dict[str, Any]) -> Lookup:
    """The manifest a command may reuse: parsed earlier in this process, else saved on disk, else none."""
    key = _cache_key(project_dir, args, profiles_digest, flags)
    subcommand = args[0]
    found = Lookup(key, _fingerprint(project_dir) if subcommand not in _NO_PARSE else None)
    if found.fingerprint is None:
        return found
    cached = _manifests.get(key)
    if (
        subcommand != "parse" and cached is not None and cached[0] == found.fingerprint
        and _env_still_matches(cached[1])
    ):
        found.manifest, found.source = cached[1], "memory"
    elif _disk_cache_enabled(args, flags):
        found.disk = DiskEntry(project_dir, key, found.fingerprint, args, flags)
        if subcommand != "parse":
            found.manifest = found.disk.load()
        if found.manifest is not None:
            found.source = "disk"
            _manifests[key] = (found.fingerprint, found.manifest)
    return found
