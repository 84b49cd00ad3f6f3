"""Plugin discovery, and the one function through which every hook is called.

Plugins, core's own included, are modules named by ``importlib.metadata`` entry points in
the ``headwater`` group, imported on first need (never by ``import headwater``) and
registered with a pluggy ``PluginManager``. ``HEADWATER_LOAD_PLUGINS=a,b`` restricts which
are loaded. A plugin that fails to import, or whose hook raises, is recorded with its error
(shown by ``headwater plugin ls``, not printed) and takes back what it registered; the other
plugins keep working.

Two steps, so that a flow process pays only for what it uses: :func:`discover` imports the
plugins' hook modules (cheap by contract) and registers them with pluggy;
:func:`load_plugins` then calls their ``register_*`` hooks, which import their block
classes, and fills :mod:`headwater.registries`. Each discovery is written down
(:mod:`headwater._discovery_cache`) so that a flow process can learn which plugins implement
the run lifecycle hooks without scanning distributions, and register only those
(:func:`register_recorded`).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headwater import registries
from headwater.errors import DuplicateBlockTypeError, PluginError
from headwater.registries import BlockTypeInfo, Owner
from headwater.settings import get_settings

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    import pluggy

    from headwater import _discovery_cache

__all__ = [
    "REGISTRATION_HOOKS",
    "BlockTypeInfo",
    "PluginInfo",
    "block_type_registry",
    "call_hook",
    "discover",
    "get_plugin_manager",
    "hook_caller",
    "implementers",
    "list_plugins",
    "load_plugins",
    "manager_started",
    "register_recorded",
    "secret_backend_factories",
    "task_runner_classes",
    "worker_type_classes",
]

ENTRY_POINT_GROUP = "headwater"
CORE_PLUGIN = "core"
CORE_DIST = "headwater"

REGISTRATION_HOOKS: dict[str, Any] = {
    "register_block_types": registries.block_types,
    "register_secret_backends": registries.secret_backends,
    "register_task_runners": registries.task_runners,
    "register_worker_types": registries.worker_types,
}
"""Each ``register_*`` hook and the registry its ``register`` callback fills, called in this order."""


@dataclass
class PluginInfo:
    """What is known about one plugin (loaded or not)."""

    name: str
    dist: str | None
    version: str | None
    module: str
    loaded: bool = False
    error: str | None = None
    skipped: bool = False
    missing: bool = False

    @property
    def owner(self) -> Owner:
        return Owner(self.name, self.dist, self.version)

    def provides(self) -> dict[str, list[str]]:
        """What this plugin registered, by registry (``{"block_types": [...], ...}``)."""
        return {key: registry.names_of(self.name) for key, registry in registries.registries.items()}

    @property
    def block_types(self) -> list[str]:
        return registries.block_types.names_of(self.name)

    @property
    def secret_backends(self) -> list[str]:
        return registries.secret_backends.names_of(self.name)

    @property
    def task_runners(self) -> list[str]:
        return registries.task_runners.names_of(self.name)


_lock = threading.RLock()
_pm: pluggy.PluginManager | None = None
_plugins: dict[str, PluginInfo] = {}
_discovered = False
_loaded = False
_entry_points: list[EntryPoint] | None = None
_snapshot: _discovery_cache.Snapshot | None = None


def manager_started() -> bool:
    """Whether this process has a plugin manager yet (plugins, or objects tests registered, may be in it)."""
    return _pm is not None


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


def _headwater_entry_points() -> list[EntryPoint]:
    """Every installed ``headwater`` entry point, core's first (read once per process)."""
    global _entry_points, _snapshot
    if _entry_points is None:
        from importlib.metadata import entry_points

        from headwater import _discovery_cache

        _snapshot = _discovery_cache.Snapshot(get_settings().load_plugins)  # before the scan: a later install shows
        found = entry_points(group=ENTRY_POINT_GROUP)
        _entry_points = sorted(found, key=lambda ep: ep.name != CORE_PLUGIN)
    return _entry_points


def discover() -> dict[str, PluginInfo]:
    """Import every allowed plugin's hook module and register it with pluggy (no hook is called)."""
    global _discovered
    if _discovered:
        return _plugins
    with _lock:
        if _discovered:
            return _plugins
        pm = get_plugin_manager()
        allowed = get_settings().load_plugins
        for ep in _headwater_entry_points():
            dist = ep.dist.name if ep.dist else None
            if ep.name in _plugins or (ep.name == CORE_PLUGIN and dist != CORE_DIST):
                continue  # first on sys.path wins; the name "core" belongs to headwater itself
            info = PluginInfo(ep.name, dist, ep.dist.version if ep.dist else None, ep.value)
            _plugins[ep.name] = info
            if allowed is not None and ep.name not in allowed and ep.name != CORE_PLUGIN:
                info.skipped = True
                continue
            try:
                pm.register(ep.load(), name=ep.name)
            except (Exception, SystemExit) as exc:  # recorded, shown by `headwater plugin ls`
                info.error = f"{type(exc).__name__}: {exc}"
                continue
            info.loaded = True
        if CORE_PLUGIN not in _plugins:
            raise PluginError(
                f"the installed headwater has no {CORE_PLUGIN!r} entry point in the {ENTRY_POINT_GROUP!r} group "
                "(its metadata predates this version): reinstall it, e.g. `pip install -e ./core` or `make setup`"
            )
        for name in allowed or ():
            if name not in _plugins:
                _plugins[name] = PluginInfo(
                    name, None, None, "", missing=True,
                    error=f"HEADWATER_LOAD_PLUGINS names {name!r}, but no installed package provides a plugin of that "
                          "name",
                )
        _discovered = True
        _record_discovery(pm)
    return _plugins


def _record_discovery(pm: pluggy.PluginManager) -> None:
    """Write down what :func:`discover` found, with the hooks each plugin implements and the files holding them."""
    from headwater import _discovery_cache

    if _snapshot is None or _snapshot.load_plugins != get_settings().load_plugins:
        return  # the scan was made under other settings (tests that change HEADWATER_LOAD_PLUGINS)
    records, files = [], set()
    for name, info in _plugins.items():
        if info.missing:
            continue
        hooks: set[str] = set()
        plugin = pm.get_plugin(name) if info.loaded else None
        if plugin is not None:
            module = sys.modules.get(info.module.split("[")[0].partition(":")[0].strip())
            if getattr(module, "__file__", None):
                files.add(module.__file__)  # type: ignore[union-attr]
            for caller in pm.get_hookcallers(plugin) or ():
                for impl in caller.get_hookimpls():
                    if impl.plugin is plugin:
                        hooks.add(caller.name)
                        code = getattr(impl.function, "__code__", None)
                        if code is not None:
                            files.add(code.co_filename)
        records.append({"name": name, "value": info.module, "dist": info.dist, "version": info.version,
                        "hooks": sorted(hooks), "error": info.error, "skipped": info.skipped})
    _discovery_cache.write(_snapshot, records, files)


def register_recorded(records: list[dict[str, Any]]) -> None:
    """Import and register the plugins of a discovery record (:func:`headwater._discovery_cache.read`) with pluggy.

    For a flow process, whose valid record says which plugins implement the lifecycle hooks:
    only those are imported, and no distribution is scanned. A later :func:`discover` adds the
    others. A plugin that fails to import is recorded with its error, as :func:`discover` does.
    """
    with _lock:
        pm = get_plugin_manager()
        for record in records:
            name = record["name"]
            if name in _plugins:
                continue
            info = PluginInfo(name, record["dist"], record["version"], record["value"])
            _plugins[name] = info
            try:
                pm.register(_load(record["value"]), name=name)
            except (Exception, SystemExit) as exc:
                info.error = f"{type(exc).__name__}: {exc}"
                continue
            info.loaded = True


def _load(value: str) -> Any:
    """What the entry point ``value`` (``module``, ``module:attr.attr``, either with ``[extras]``) names."""
    import importlib

    module, _, attrs = value.split("[")[0].partition(":")
    target = importlib.import_module(module.strip())
    for attr in attrs.strip().split(".") if attrs.strip() else ():
        target = getattr(target, attr)
    return target


def load_plugins() -> dict[str, PluginInfo]:
    """Discover every allowed plugin and call its ``register_*`` hooks (once per process)."""
    global _loaded
    if _loaded:
        return _plugins
    with _lock:
        if _loaded:
            return _plugins
        for name, info in list(discover().items()):
            if not info.loaded:
                continue
            try:
                for hook, registry in REGISTRATION_HOOKS.items():
                    call_hook(hook, name, register=registry.registrar(info.owner))
            except PluginError as exc:  # the others stay usable; a duplicate slug also makes block types say why
                if name == CORE_PLUGIN:
                    raise
                _drop(name, info, str(exc))
                if isinstance(exc, DuplicateBlockTypeError):
                    registries.block_types.conflicts.append(str(exc))
        _loaded = True
    return _plugins


def _drop(name: str, info: PluginInfo, error: str) -> None:
    """Take back what a plugin whose hook failed registered, and record why."""
    for registry in registries.registries.values():
        registry.drop(name)
    pm = get_plugin_manager()
    if pm.get_plugin(name) is not None:
        pm.unregister(name=name)
    info.loaded = False
    info.error = error


def implementers(hook: str) -> list[str]:
    """Names of the registered plugins that implement ``hook``, in the order pluggy calls them."""
    pm = get_plugin_manager()
    names = (pm.get_name(impl.plugin) for impl in reversed(getattr(pm.hook, hook).get_hookimpls()))
    return [name for name in names if name is not None]


def _only(hook: str, plugin: str) -> Any:
    """A pluggy caller of ``hook`` that reaches ``plugin``'s implementation alone."""
    pm = get_plugin_manager()
    target = pm.get_plugin(plugin)
    return pm.subset_hook_caller(hook, remove_plugins=[p for p in pm.get_plugins() if p is not target])


def _call(hook: str, plugin: str, caller: Any, kwargs: dict[str, Any]) -> list[Any]:
    try:
        return caller(**kwargs)  # type: ignore[no-any-return]
    except PluginError:  # a registration refused (duplicate name): already names both plugins
        raise
    except (Exception, SystemExit) as exc:
        raise PluginError(f"its {hook} hook raised {type(exc).__name__}: {exc}") from exc


def call_hook(hook: str, plugin: str, **kwargs: Any) -> list[Any]:
    """Call ``hook`` on ``plugin`` alone, through pluggy; returns its results (empty if it has no such hook).

    Every hook call in Headwater goes through here (or :func:`hook_caller`, built on it), so a
    failure is always the plugin's own and says which hook failed.

    Raises:
        PluginError: the hook raised; the message reads ``its <hook> hook raised <Error>: <message>``.
    """
    return _call(hook, plugin, _only(hook, plugin), kwargs)


def hook_caller(hook: str) -> Callable[..., None] | None:
    """A function that calls ``hook`` on every plugin implementing it now, or None if none does.

    For hooks on hot paths (run lifecycle): the per-plugin callers are built once. One plugin's
    failure is reported on stderr with its name and does not stop the others.
    """
    callers = [(name, _only(hook, name)) for name in implementers(hook)]
    if not callers:
        return None

    def call(**kwargs: Any) -> None:
        for name, caller in callers:
            try:
                _call(hook, name, caller, kwargs)
            except PluginError as exc:
                sys.stderr.write(f"headwater: plugin {name!r}: {exc}\n")

    return call


def block_type_registry(load: bool = True) -> dict[str, BlockTypeInfo]:
    """Registered block types by slug (loading plugins first unless ``load`` is False)."""
    if load:
        load_plugins()
        if registries.block_types.conflicts:
            raise DuplicateBlockTypeError(registries.block_types.conflicts[0])
    return registries.block_types.entries()


def secret_backend_factories() -> dict[str, tuple[str, Callable[[], Any]]]:
    """``{name: (plugin, factory)}`` of every registered secret backend (plugins loaded first)."""
    load_plugins()
    return registries.secret_backends.entries()


def task_runner_classes() -> dict[str, tuple[str, type]]:
    """``{name: (plugin, runner class)}`` of every registered task runner (plugins loaded first)."""
    load_plugins()
    return registries.task_runners.entries()


def worker_type_classes() -> dict[str, tuple[str, type]]:
    """``{name: (plugin, worker class)}`` of every registered work-pool type (plugins loaded first)."""
    load_plugins()
    return registries.worker_types.entries()


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


def distribution_of_module(module: str) -> tuple[str | None, str | None]:
    """``(dist, version)`` of the Headwater plugin or core package that contains ``module``.

    Only ``headwater`` entry points are consulted, so classes from user code get
    ``(None, None)``. A script's own classes (``__main__``) never belong to a distribution
    and skip the scan.
    """
    top = module.split(".")[0]
    if top == CORE_DIST:  # core's own classes: no entry-point scan on a first save
        from headwater import __version__

        return CORE_DIST, __version__
    if top in ("__main__", "__mp_main__"):
        return None, None
    for ep in _headwater_entry_points():
        if ep.dist is not None and ep.value.split(":")[0].split(".")[0] == top:
            return ep.dist.name, ep.dist.version
    return None, None


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _reset_for_tests() -> None:
    """Forget loaded plugins and plugin-registered types (tests that install plugins)."""
    global _pm, _discovered, _loaded, _entry_points, _snapshot
    with _lock:
        _pm = None
        _discovered = _loaded = False
        _entry_points = _snapshot = None
        _plugins.clear()
        for registry in registries.registries.values():
            registry.clear()
