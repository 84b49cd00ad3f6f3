"""Every change Headwater makes to dbt's internals, in one place, applied only to the dbt versions it was written for.

Each patch replaces or wraps one private dbt function for speed or for the manifest cache; on
another dbt-core minor version none is applied, and dbt runs as it ships (each command then
parses its project as the dbt CLI does: slower, same results).

- ``dbt.cli.requires.parse_manifest`` / ``setup_manifest`` are wrapped so the manifest dbt
  parses is kept for the next command (see ``_manifest_cache``);
- ``dbt_common.behavior_flags.BehaviorFlagRendered._default_source`` stops calling ``inspect.stack()``;
- ``dbt_common.dataclass_schema.dbtClassMixin.json_schema`` is served from a file of saved schemas;
- dbt-duckdb's process-wide database handle is closed after each command.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headwater_dbt import _manifest_cache as cache

__all__ = ["SUPPORTED_DBT", "after_command", "install", "patches_apply"]

SUPPORTED_DBT = ((1, 11),)
"""dbt-core minor versions whose internals these patches were written against."""

_fallback_logger = logging.getLogger("headwater_dbt")
_applies: bool | None = None


def patches_apply() -> bool:
    """Whether the installed dbt-core is a version these patches were written for."""
    global _applies
    if _applies is None:
        try:
            from dbt.version import __version__ as dbt_version

            major, minor = (int(part) for part in dbt_version.split(".")[:2])
            _applies = (major, minor) in SUPPORTED_DBT
        except Exception:
            _applies = False
        if not _applies:
            _fallback_logger.debug(
                "dbt-core is not a version headwater-dbt patches (%s): running dbt unpatched", SUPPORTED_DBT
            )
    return _applies


def install() -> None:
    """Apply every patch once (nothing when the dbt version is not one they were written for)."""
    if patches_apply():
        _install_capture()


def after_command() -> None:
    """Clean-up after each dbt command: release dbt-duckdb's handle, save new JSON schemas.

    The handle is released on every dbt version (the code checks for the attributes it uses):
    without it, another DuckDB connection to the same file in this process fails.
    """
    _release_duckdb()
    if _schemas is not None:
        _schemas.save()


def _install_capture() -> None:
    """Wrap dbt's ``parse_manifest`` so the manifest it parses can be kept for the next command."""
    import dbt.cli.requires as requires

    if getattr(requires.parse_manifest, "_headwater_capture", False):
        return
    original = requires.parse_manifest

    def parse_manifest(*args: Any, **kwargs: Any) -> Any:
        manifest = original(*args, **kwargs)
        if getattr(cache.capture, "active", False):
            cache.capture.manifest = manifest
            entry, cache.capture.save = cache.capture.save, None
            if entry is not None:
                entry.save(manifest, args[0] if args else kwargs.get("runtime_config"))
        return manifest

    parse_manifest._headwater_capture = True  # type: ignore[attr-defined]
    requires.parse_manifest = parse_manifest
    original_setup = requires.setup_manifest

    def setup_manifest(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        reused = getattr(cache.capture, "active", False) and ctx.obj.get("manifest") is not None
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
    flag, each time an adapter is registered (each command), which shows in every command's
    time, more on a cold start. Walking the frames' ``__name__`` gives the same module
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

    dbt-common builds each schema with mashumaro once per process, a visible part of the CPU
    a command takes in a fresh process. The file is keyed by the Python, dbt-core,
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
        return [cache.DISK_FORMAT, list(sys.version_info[:3]), dbt_version, common_version, version("mashumaro")]

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
    if _schemas is not None or not cache.manifest_cache_allowed():
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


