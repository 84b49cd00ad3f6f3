"""Plugin discovery and the registries the hooks fill.

Plugins are found through ``importlib.metadata`` entry points in the ``headwater`` group and
imported on first need (never by ``import headwater``). ``HEADWATER_LOAD_PLUGINS=a,b``
restricts which are loaded. A plugin that fails to import is recorded with its error, and
shown by ``headwater plugin ls``; it is not printed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headwater.errors import DuplicateBlockTypeError, PluginError
from headwater.settings import get_settings

if TYPE_CHECKING:
    import pluggy

__all__ = [
    "BlockTypeInfo",
    "PluginInfo",
    "block_type_registry",
    "get_plugin_manager",
    "list_plugins",
    "load_plugins",
    "secret_backend_factories",
    "task_runner_classes",
    "worker_type_classes",
]

ENTRY_POINT_GROUP = "headwater"
CORE_PLUGIN = "core"


@dataclass
class PluginInfo:
    """What is known about one plugin (loaded or not)."""

    name: str
    dist: str | None
    version: str | None
    module: str
    loaded: bool = False
    error: str | None = None
    block_types: list[str] = field(default_factory=list)
    secret_backends: list[str] = field(default_factory=list)
    task_runners: list[str] = field(default_factory=list)
    worker_types: list[str] = field(default_factory=list)
    skipped: bool = False
    missing: bool = False


@dataclass
class BlockTypeInfo:
    """A registered block type and where it came from."""

    slug: str
    cls: type
    plugin: str | None
    dist: str | None
    dist_version: str | None


_lock = threading.RLock()
_pm: pluggy.PluginManager | None = None
_plugins: dict[str, PluginInfo] = {}
_loaded = False
_block_types: dict[str, BlockTypeInfo] = {}
_secret_backends: dict[str, tuple[str, Callable[[], Any]]] = {}
_task_runners: dict[str, tuple[str, type]] = {}
_worker_types: dict[str, tuple[str, type]] = {}
_conflicts: list[str] = []


def get_plugin_manager() -> pluggy.PluginManager:
    """The pluggy manager with the hook specifications added (plugins not loaded)."""
    global _pm
    if _pm is None:
        import pluggy

        from headwater import hookspecs

        pm = pluggy.PluginManager("headwater")
        pm.add_hookspecs(hookspecs)
        _pm = pm
    return _pm


def _core_version() -> str | None:
    from headwater import __version__

    return __version__


def load_plugins() -> dict[str, PluginInfo]:
    """Discover, import and register every allowed plugin (once per process)."""
    global _loaded
    if _loaded:
        return _plugins
    with _lock:
        if _loaded:
            return _plugins
        from importlib.metadata import entry_points

        pm = get_plugin_manager()
        from headwater import _core_plugin

        core = PluginInfo(CORE_PLUGIN, "headwater", _core_version(), _core_plugin.__name__, loaded=True)
        _plugins[CORE_PLUGIN] = core
        pm.register(_core_plugin, name=CORE_PLUGIN)
        allowed = get_settings().load_plugins
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == CORE_PLUGIN or ep.name in _plugins:
                continue
            dist = ep.dist.name if ep.dist else None
            version = ep.dist.version if ep.dist else None
            info = PluginInfo(ep.name, dist, version, ep.value)
            _plugins[ep.name] = info
            if allowed is not None and ep.name not in allowed:
                info.skipped = True
                continue
            try:
                module = ep.load()
                pm.register(module, name=ep.name)
            except (Exception, SystemExit) as exc:  # recorded, shown by `headwater plugin ls`
                info.error = f"{type(exc).__name__}: {exc}"
                continue
            info.loaded = True
        for name in allowed or ():
            if name not in _plugins:
                _plugins[name] = PluginInfo(
                    name, None, None, "", missing=True,
                    error=f"HEADWATER_LOAD_PLUGINS names {name!r}, but no installed package provides a plugin of that name",
                )
        for name, info in list(_plugins.items()):
            if info.loaded and name != CORE_PLUGIN:
                try:
                    _collect(name, info)
                except DuplicateBlockTypeError as exc:  # the others stay usable; block types say why
                    _drop(name, info, str(exc))
                    _conflicts.append(str(exc))
                except PluginError as exc:  # a hook that raises disables only its own plugin
                    _drop(name, info, str(exc))
            elif info.loaded:
                _collect(name, info)
        _loaded = True
    return _plugins


def _drop(name: str, info: PluginInfo, error: str) -> None:
    """Take back what a plugin whose hook failed registered, and record why."""
    for slug in info.block_types:
        if _block_types.get(slug) is not None and _block_types[slug].plugin == name:
            del _block_types[slug]
    for reg in (_secret_backends, _task_runners, _worker_types):
        for key in [k for k, (owner, _) in reg.items() if owner == name]:
            del reg[key]
    info.block_types, info.secret_backends, info.task_runners, info.worker_types = [], [], [], []
    pm = get_plugin_manager()
    if pm.get_plugin(name) is not None:
        pm.unregister(name=name)
    info.loaded = False
    info.error = error


def _collect(name: str, info: PluginInfo) -> None:
    pm = get_plugin_manager()
    plugin = pm.get_plugin(name)
    hooks: list[tuple[Any, Callable[..., None]]] = [
        (pm.hook.register_block_types, lambda cls, _i=info: _register_block_type(cls, _i)),
        (pm.hook.register_secret_backends, lambda n, f, _i=info: _register_secret_backend(n, f, _i)),
        (pm.hook.register_task_runners, lambda n, c, _i=info: _register_task_runner(n, c, _i)),
        (pm.hook.register_worker_types, lambda n, c, _i=info: _register_worker_type(n, c, _i)),
    ]
    for caller, register in hooks:
        for impl in caller.get_hookimpls():
            if impl.plugin is not plugin:
                continue
            try:
                impl.function(register=register)
            except (DuplicateBlockTypeError, PluginError):
                raise
            except (Exception, SystemExit) as exc:
                raise PluginError(f"its {caller.name} hook raised {type(exc).__name__}: {exc}") from exc


def _register_block_type(cls: type, info: PluginInfo) -> None:
    slug = cls.get_block_type_slug()  # type: ignore[attr-defined]
    existing = _block_types.get(slug)
    if existing is not None and existing.plugin is not None and existing.cls is not cls:
        raise DuplicateBlockTypeError(
            f"block type {slug!r} is registered by two plugins: {existing.plugin} ({existing.dist}) "
            f"and {info.name} ({info.dist}); uninstall one of them or set HEADWATER_LOAD_PLUGINS"
        )
    _block_types[slug] = BlockTypeInfo(slug, cls, info.name, info.dist, info.version)
    if slug not in info.block_types:
        info.block_types.append(slug)


def register_local_block_type(cls: type) -> None:
    """Record a block class defined outside any plugin (user code); plugins take precedence."""
    slug = cls.get_block_type_slug()  # type: ignore[attr-defined]
    with _lock:
        existing = _block_types.get(slug)
        if existing is not None and existing.plugin is not None:
            return  # a plugin's type is never shadowed by a class that merely shares its slug
        _block_types[slug] = BlockTypeInfo(slug, cls, None, None, None)


def _register_secret_backend(name: str, factory: Callable[[], Any], info: PluginInfo) -> None:
    if name in _secret_backends and _secret_backends[name][0] != info.name:
        raise PluginError(
            f"secret backend {name!r} is registered by two plugins: {_secret_backends[name][0]} and {info.name}"
        )
    _secret_backends[name] = (info.name, factory)
    info.secret_backends.append(name)


def _register_task_runner(name: str, cls: type, info: PluginInfo) -> None:
    if name in _task_runners and _task_runners[name][0] != info.name:
        raise PluginError(f"task runner {name!r} is registered by two plugins: {_task_runners[name][0]} and {info.name}")
    _task_runners[name] = (info.name, cls)
    info.task_runners.append(name)


def _register_worker_type(name: str, cls: type, info: PluginInfo) -> None:
    if name in _worker_types and _worker_types[name][0] != info.name:
        raise PluginError(f"worker type {name!r} is registered by two plugins: {_worker_types[name][0]} and {info.name}")
    _worker_types[name] = (info.name, cls)
    info.worker_types.append(name)


def block_type_registry(load: bool = True) -> dict[str, BlockTypeInfo]:
    """Registered block types by slug (loading plugins first unless ``load`` is False)."""
    if load:
        load_plugins()
        if _conflicts:
            raise DuplicateBlockTypeError(_conflicts[0])
    return _block_types


def secret_backend_factories() -> dict[str, tuple[str, Callable[[], Any]]]:
    load_plugins()
    return _secret_backends


def task_runner_classes() -> dict[str, tuple[str, type]]:
    load_plugins()
    return _task_runners


def worker_type_classes() -> dict[str, tuple[str, type]]:
    """Registered work-pool types: name -> (plugin, worker class)."""
    load_plugins()
    return _worker_types


def list_plugins() -> list[PluginInfo]:
    return list(load_plugins().values())


def find_plugin_for_dist(dist: str) -> PluginInfo | None:
    """The plugin provided by distribution ``dist``, if installed."""
    load_plugins()
    norm = _norm(dist)
    for info in _plugins.values():
        if info.dist and _norm(info.dist) == norm:
            return info
    return None


_module_dists: dict[str, Any] | None = None


def distribution_of_module(module: str) -> tuple[str | None, str | None]:
    """``(dist, version)`` of the Headwater plugin or core package that contains ``module``.

    Only ``headwater`` entry points are consulted, so classes from user code get
    ``(None, None)``. A script's own classes (``__main__``) never belong to a distribution
    and skip the scan; otherwise only the matching entry point's metadata is read.
    """
    global _module_dists
    top = module.split(".")[0]
    if top == "headwater":
        return "headwater", _core_version()
    if top in ("__main__", "__mp_main__"):
        return None, None
    if _module_dists is None:
        from importlib.metadata import entry_points

        _module_dists = {ep.value.split(":")[0].split(".")[0]: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    ep = _module_dists.get(top)
    if ep is None or ep.dist is None:
        return None, None
    return ep.dist.name, ep.dist.version


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _reset_for_tests() -> None:
    """Forget loaded plugins and plugin-registered types (tests that install plugins)."""
    global _pm, _loaded
    with _lock:
        _pm = None
        _loaded = False
        _plugins.clear()
        _secret_backends.clear()
        _task_runners.clear()
        _worker_types.clear()
        _conflicts.clear()
        for slug in [s for s, i in _block_types.items() if i.plugin is not None]:
            del _block_types[slug]
