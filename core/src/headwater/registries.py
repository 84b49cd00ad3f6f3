"""What plugins registered: block types, secret backends and task runners, each with its owner.

Plain data. :mod:`headwater.plugins` fills these registries when it loads plugins; ``blocks/``
and ``runtime/`` read them without importing any plugin machinery (no pluggy, no entry points).
A lookup here sees only what has been registered so far: the functions of the same name in
:mod:`headwater.plugins` (``block_type_registry()``, ``task_runner_classes()``, ...) load the
plugins first.

Adding a kind of registration (worker types, say) is a :class:`Registry` here with its entry in
``registries``, a ``register_*`` hook in ``hookspecs.py``, and one line in
``plugins.REGISTRATION_HOOKS``; ``headwater plugin ls`` lists it without further change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from headwater.errors import DuplicateBlockTypeError, PluginError

__all__ = [
    "BlockTypeInfo",
    "BlockTypes",
    "Owner",
    "Registry",
    "block_types",
    "registries",
    "secret_backends",
    "task_runners",
    "worker_types",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Owner:
    """The plugin that made a registration, and the distribution that ships it."""

    name: str
    dist: str | None = None
    version: str | None = None


class Registry(Generic[T]):
    """Objects registered by name (``register(name, obj)`` in a hook), each with its plugin.

    Args:
        kind: What is registered, for messages and ``headwater plugin ls`` (``"task runner"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._lock = threading.RLock()
        self._entries: dict[str, tuple[str, T]] = {}

    def registrar(self, owner: Owner) -> Callable[..., None]:
        """The ``register`` callback handed to ``owner``'s hook."""
        return lambda name, value: self.add(name, value, owner)

    def add(self, name: str, value: T, owner: Owner) -> None:
        """Record ``value`` as ``name``; a name another plugin already holds is a PluginError naming both."""
        with self._lock:
            held = self._entries.get(name)
            if held is not None and held[0] != owner.name:
                raise PluginError(f"{self.kind} {name!r} is registered by two plugins: {held[0]} and {owner.name}")
            self._entries[name] = (owner.name, value)

    def get(self, name: str) -> T | None:
        entry = self._entries.get(name)
        return entry[1] if entry is not None else None

    def entries(self) -> dict[str, tuple[str, T]]:
        """``{name: (plugin, value)}`` in registration order (the live mapping: do not modify it)."""
        return self._entries

    def names_of(self, plugin: str) -> list[str]:
        """The names ``plugin`` registered, in the order it registered them."""
        return [name for name, (owner, _) in self._entries.items() if owner == plugin]

    def drop(self, plugin: str) -> None:
        """Take back everything ``plugin`` registered."""
        with self._lock:
            for name in self.names_of(plugin):
                del self._entries[name]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class BlockTypeInfo:
    """A registered block type and where it came from (``plugin`` is None for user code)."""

    slug: str
    cls: type
    plugin: str | None
    dist: str | None
    dist_version: str | None


class BlockTypes:
    """Block classes by slug. ``register(BlockClass)``: the slug comes from the class.

    Classes defined outside any plugin (a user's own blocks) are recorded too, with no
    plugin; a plugin's class is never shadowed by one that merely shares its slug.
    """

    kind = "block type"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._by_slug: dict[str, BlockTypeInfo] = {}
        self.conflicts: list[str] = []
        """Duplicate-slug errors met while loading plugins; using block types raises the first."""

    def registrar(self, owner: Owner) -> Callable[..., None]:
        return lambda cls: self.add(cls, owner)

    def add(self, cls: type, owner: Owner) -> None:
        """Record ``cls`` for ``owner``; two plugins with one slug is a DuplicateBlockTypeError naming both."""
        slug = cls.get_block_type_slug()  # type: ignore[attr-defined]
        with self._lock:
            existing = self._by_slug.get(slug)
            if existing is not None and existing.plugin is not None and existing.cls is not cls:
                raise DuplicateBlockTypeError(
                    f"block type {slug!r} is registered by two plugins: {existing.plugin} ({existing.dist}) "
                    f"and {owner.name} ({owner.dist}); uninstall one of them or set HEADWATER_LOAD_PLUGINS"
                )
            self._by_slug.pop(slug, None)  # listed in the order its plugin registered it
            self._by_slug[slug] = BlockTypeInfo(slug, cls, owner.name, owner.dist, owner.version)

    def add_local(self, cls: type) -> None:
        """Record a block class defined outside any plugin (user code); plugins take precedence."""
        slug = cls.get_block_type_slug()  # type: ignore[attr-defined]
        with self._lock:
            existing = self._by_slug.get(slug)
            if existing is not None and existing.plugin is not None:
                return
            self._by_slug[slug] = BlockTypeInfo(slug, cls, None, None, None)

    def get(self, slug: str) -> BlockTypeInfo | None:
        return self._by_slug.get(slug)

    def entries(self) -> dict[str, BlockTypeInfo]:
        """``{slug: BlockTypeInfo}`` (the live mapping: do not modify it)."""
        return self._by_slug

    def names_of(self, plugin: str) -> list[str]:
        return [slug for slug, info in self._by_slug.items() if info.plugin == plugin]

    def drop(self, plugin: str) -> None:
        with self._lock:
            for slug in self.names_of(plugin):
                del self._by_slug[slug]

    def clear(self) -> None:
        """Forget plugin registrations, keep user-defined classes (tests that reinstall plugins)."""
        with self._lock:
            for slug in [s for s, i in self._by_slug.items() if i.plugin is not None]:
                del self._by_slug[slug]
            self.conflicts.clear()


block_types = BlockTypes()
secret_backends: Registry[Callable[[], Any]] = Registry("secret backend")
task_runners: Registry[type] = Registry("task runner")
worker_types: Registry[type] = Registry("worker type")

registries: dict[str, Registry[Any] | BlockTypes] = {
    "block_types": block_types,
    "secret_backends": secret_backends,
    "task_runners": task_runners,
    "worker_types": worker_types,
}
"""Every registry by the name ``headwater plugin ls`` shows its entries under."""
