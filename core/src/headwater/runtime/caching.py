"""Cache policies: which inputs decide whether a task's earlier result can be reused.

``INPUTS`` (the task's arguments), ``TASK_SOURCE`` (the function's source code),
``FLOW_PARAMETERS`` (the enclosing flow run's parameters) and ``NO_CACHE``; combine them
with ``+``. A ``cache_key_fn(context, parameters)`` such as :func:`task_input_hash` can be
given instead. Cached results are persisted, so a new process reuses them.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import pickle
from typing import Any

__all__ = ["FLOW_PARAMETERS", "INPUTS", "NO_CACHE", "TASK_SOURCE", "CachePolicy", "hash_objects", "task_input_hash"]

_NOT_HASHABLE = object()


def hash_objects(*objects: Any) -> str | None:
    """A stable hex digest of ``objects`` (JSON when possible, else pickle); None when unhashable."""
    try:
        data = json.dumps(objects, sort_keys=True, default=_json_default).encode()
    except (TypeError, ValueError):
        try:
            data = pickle.dumps(objects, protocol=4)
        except Exception:
            try:
                import cloudpickle

                data = cloudpickle.dumps(objects)
            except Exception:
                return None
    return hashlib.sha256(data).hexdigest()


def _json_default(value: Any) -> Any:
    if hasattr(value, "get_secret_value"):
        return hashlib.sha256(str(value.get_secret_value()).encode()).hexdigest()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    raise TypeError


def _source_of(fn: Any) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        return repr(code.co_code) if code is not None else repr(fn)


class CachePolicy:
    """A rule that turns a task call into a cache key (or None: do not cache).

    Policies combine with ``+``: the key covers every part, and any ``NO_CACHE`` part
    disables caching.
    """

    def __init__(self, parts: tuple[str, ...]) -> None:
        self.parts = parts

    def __add__(self, other: CachePolicy) -> CachePolicy:
        if not isinstance(other, CachePolicy):
            return NotImplemented
        return CachePolicy(tuple(dict.fromkeys(self.parts + other.parts)))

    def compute_key(self, task: Any, parameters: dict[str, Any], flow_parameters: dict[str, Any] | None) -> str | None:
        """The cache key for this call, or None when the policy says not to cache."""
        if "no_cache" in self.parts or not self.parts:
            return None
        material: list[Any] = [getattr(task, "cache_identity", task.task_key)]
        for part in self.parts:
            if part == "inputs":
                material.append(hash_objects(parameters))
            elif part == "task_source":
                material.append(hashlib.sha256(_source_of(task.fn).encode()).hexdigest())
            elif part == "flow_parameters":
                material.append(hash_objects(flow_parameters or {}))
        if None in material:
            return None
        return hash_objects(material)

    def __repr__(self) -> str:
        return " + ".join(p.upper() for p in self.parts) or "NO_CACHE"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CachePolicy) and set(other.parts) == set(self.parts)

    __hash__ = object.__hash__


INPUTS = CachePolicy(("inputs",))
TASK_SOURCE = CachePolicy(("task_source",))
FLOW_PARAMETERS = CachePolicy(("flow_parameters",))
NO_CACHE = CachePolicy(("no_cache",))


class CacheKeyContext:
    """What a ``cache_key_fn`` gets as its first argument: Prefect's ``TaskRunContext`` shape
    (``.task_run``, ``.task``, ``.parameters``), and the task run's own attributes
    (``.task_key``, ``.flow_run_id``, ``.name``, ...) for key functions written against them."""

    __slots__ = ("parameters", "task", "task_run")

    def __init__(self, task_run: Any, task: Any, parameters: dict[str, Any]) -> None:
        self.task_run, self.task, self.parameters = task_run, task, parameters

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task_run, name)


def task_input_hash(context: Any, arguments: dict[str, Any]) -> str | None:
    """A ``cache_key_fn`` keyed on the task and its arguments (Prefect's ``task_input_hash``).

    Args:
        context: The task run (``headwater.runtime.task_run``-like object with ``task_key``).
        arguments: The call's arguments by name.
    """
    identity = getattr(getattr(context, "task", None), "cache_identity", None) or getattr(context, "task_key", None)
    return hash_objects(identity, arguments)
