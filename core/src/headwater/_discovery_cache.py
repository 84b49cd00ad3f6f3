"""A record of the last plugin discovery, so that a flow process need not repeat it.

:func:`headwater.plugins.discover` (``importlib.metadata`` and pluggy, the source of truth)
writes down what it found: each ``headwater`` entry point (name, value, distribution, version,
error) and the hooks its plugin implements. A flow process only needs to know whether some
plugin implements a run lifecycle hook; with a valid record it learns that by reading one small
file and stating a few paths, instead of importing ``importlib.metadata`` and scanning every
installed distribution (about 35 ms of CPU per process).

A record is valid while nothing it was derived from has changed:

- the key: ``sys.path`` (absolute), ``HEADWATER_LOAD_PLUGINS`` and the Python version. Each
  key has its own file, so two scripts in different folders (whose ``sys.path[0]`` differ)
  do not overwrite each other's record.
- the modification times of every ``sys.path`` entry, taken *before* the scan. Installing,
  upgrading or uninstalling a distribution adds or removes a ``*.dist-info`` folder in one of
  them, which changes that folder's time. A folder whose time changed for another reason (a
  flow writing its output next to its script, an editor saving by renaming) still matches
  when its distribution metadata folders (``*.dist-info``, ``*.egg-info``: the names
  ``importlib.metadata`` looks for) are the same ones, with the same times, as recorded.
- the modification times of every file holding a plugin's hook module or hook functions, so
  that editing an editable plugin (adding a hook) is seen too.

A modification time only proves "unchanged" if a later change cannot get the same value: a
record whose folders changed within :data:`SETTLE_NS` of the scan (or, on a file system with
whole-second times, within two seconds) is not written, and the next process scans again.

The records live with the Python environment whose distributions they describe
(``<sys.prefix>/var/cache/headwater``), not under ``HEADWATER_HOME``: one environment serves
many homes (a fresh home per test or per benchmark run would otherwise start cold), deleting
the environment deletes them, and whoever can write there can already change the installed
code, so reading them trusts no one new. Files are 0600, written to a temporary name and
renamed, so concurrent processes see a whole record or none. Anything unreadable, malformed or
stale is ignored; when the folder cannot be written, every process simply discovers for real.

Changes this cannot see: an ``entry_points.txt`` edited in place by hand, distributions found
by custom ``sys.meta_path`` finders, a plugin module whose hooks depend on the environment.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

__all__ = ["FORMAT", "SETTLE_NS", "Snapshot", "cache_dir", "cache_path", "read", "write"]

FORMAT = 2
SETTLE_NS = 50_000_000
"""How old (ns) a recorded modification time must be: well above the kernel clock tick (<= 10 ms)."""
_COARSE_SETTLE_NS = 2_000_000_000  # FAT and some network file systems keep whole (or even) seconds
_KEEP = 16  # records kept per environment (one per script folder and allow-list in use)


def cache_dir() -> str:
    """The folder holding this environment's records."""
    return os.path.join(sys.prefix, "var", "cache", "headwater")


def _key(load_plugins: tuple[str, ...] | None) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "python": sys.implementation.cache_tag,
        "path": [os.path.abspath(entry or ".") for entry in sys.path],
        "load_plugins": list(load_plugins) if load_plugins is not None else None,
    }


def _file_name(key: dict[str, Any]) -> str:
    from zlib import crc32  # a stable name for the key; the file repeats the whole key, checked on read

    return f"plugins-{crc32(json.dumps(key, sort_keys=True).encode()):08x}.json"


def cache_path(load_plugins: tuple[str, ...] | None) -> str:
    """The record for this process's ``sys.path`` and allow-list."""
    return os.path.join(cache_dir(), _file_name(_key(load_plugins)))


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _metadata(path: str) -> list[list[Any]] | None:
    """``[[name, mtime], ...]`` of the distribution metadata folders in ``path``, or None if it is no folder."""
    try:
        with os.scandir(path) as entries:
            found = [[e.name, e.stat().st_mtime_ns] for e in entries
                     if e.name.lower().endswith((".dist-info", ".egg-info")) or e.name.lower() == "egg-info"]
    except OSError:
        return None
    return sorted(found)


def _unchanged(path: str, mtime: int | None, metadata: list[list[Any]] | None) -> bool:
    return _mtime(path) == mtime or (metadata is not None and _metadata(path) == metadata)


def _settled(mtime: int | None, now: int) -> bool:
    if mtime is None:
        return True
    margin = _COARSE_SETTLE_NS if mtime % 1_000_000_000 == 0 else SETTLE_NS
    return now - mtime >= margin


class Snapshot:
    """The key, and the ``sys.path`` folders' times and metadata folders, taken before a discovery scans."""

    def __init__(self, load_plugins: tuple[str, ...] | None) -> None:
        self.load_plugins = load_plugins
        self.key = _key(load_plugins)
        self.taken = time.time_ns()
        self.stamps = [(path, _mtime(path), _metadata(path)) for path in self.key["path"]]


def read(load_plugins: tuple[str, ...] | None) -> list[dict[str, Any]] | None:
    """The plugins of the valid record for this process, or None (missing, unreadable, malformed or stale).

    Each plugin is ``{"name", "value", "dist", "version", "hooks", "error", "skipped"}``.
    """
    key = _key(load_plugins)
    try:
        with open(os.path.join(cache_dir(), _file_name(key)), "rb") as fh:
            record = json.loads(fh.read())
        if record["key"] != key:
            return None
        for path, mtime, metadata in record["stamps"]:
            if not _unchanged(path, mtime, metadata):
                return None
        plugins = record["plugins"]
        if not isinstance(plugins, list) or not all(_well_formed(plugin) for plugin in plugins):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return plugins


def _well_formed(plugin: Any) -> bool:
    """Whether a recorded plugin has every field, each of its type (what the reader relies on)."""
    try:
        return (isinstance(plugin["name"], str) and isinstance(plugin["value"], str)
                and all(plugin[k] is None or isinstance(plugin[k], str) for k in ("dist", "version", "error"))
                and isinstance(plugin["skipped"], bool)
                and isinstance(plugin["hooks"], list) and all(isinstance(h, str) for h in plugin["hooks"]))
    except (KeyError, TypeError):
        return False


def write(snapshot: Snapshot, plugins: list[dict[str, Any]], files: set[str]) -> None:
    """Record ``plugins`` (found by a discovery that began at ``snapshot``) and the files holding their hooks.

    Best effort: nothing is written when a folder or file changed too recently to be trusted,
    or when the cache folder cannot be written.
    """
    now = time.time_ns()
    stamps = [*snapshot.stamps, *((path, _mtime(path), None) for path in sorted(files))]
    times = [m for _, m, _ in snapshot.stamps] + [m for _, _, metadata in snapshot.stamps for _, m in metadata or ()]
    if not all(_settled(m, snapshot.taken) for m in times) or not all(_settled(m, now) for _, m, _ in stamps):
        return
    data = json.dumps({"key": snapshot.key, "stamps": stamps, "plugins": plugins}, sort_keys=True).encode()
    folder = cache_dir()
    final = os.path.join(folder, _file_name(snapshot.key))
    try:
        with open(final, "rb") as fh:
            if fh.read() == data:
                return
    except OSError:
        pass
    tmp = os.path.join(folder, f".{os.getpid()}-{time.monotonic_ns()}.tmp")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, final)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return
    _prune(folder)


def _prune(folder: str) -> None:
    """Keep the newest records (each script folder adds one) and drop temporary files of killed writers."""
    try:
        names = os.listdir(folder)
        stale = time.time_ns() - 3600 * 1_000_000_000
        for name in names:
            if name.endswith(".tmp") and (_mtime(os.path.join(folder, name)) or 0) < stale:
                os.unlink(os.path.join(folder, name))
        records = [os.path.join(folder, n) for n in names if n.startswith("plugins-") and n.endswith(".json")]
        for path in sorted(records, key=lambda p: _mtime(p) or 0)[:-_KEEP]:
            os.unlink(path)
    except OSError:
        pass
