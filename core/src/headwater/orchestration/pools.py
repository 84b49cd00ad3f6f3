"""Work pools: named queues of deployment runs with a worker type and a concurrency limit."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from headwater.orchestration.errors import WorkPoolError, WorkPoolNotFoundError

__all__ = [
    "WorkPool",
    "create_work_pool",
    "delete_work_pool",
    "get_work_pool",
    "list_work_pools",
    "set_tag_limit",
    "update_work_pool",
    "worker_class",
]


@dataclass
class WorkPool:
    """A saved work pool."""

    name: str
    type: str
    description: str | None = None
    concurrency_limit: int | None = None
    paused: bool = False
    config: dict[str, Any] = field(default_factory=dict)


def worker_class(pool_type: str) -> type:
    """The worker class for a pool type (from core or a plugin).

    Raises:
        WorkPoolError: No installed plugin provides that type.
    """
    from headwater.plugins import worker_type_classes

    types = worker_type_classes()
    found = types.get(pool_type)
    if found is None:
        hint = " (pip install headwater-dask provides 'dask')" if pool_type == "dask" else ""
        raise WorkPoolError(
            f"unknown work pool type {pool_type!r}: installed types are {', '.join(sorted(types)) or 'none'}{hint}"
        )
    return found[1]


def _pool(row: Any) -> WorkPool:
    return WorkPool(
        row.name,
        row.type,
        row.description,
        row.concurrency_limit,
        bool(row.paused),
        json.loads(row.config) if row.config else {},
    )


def create_work_pool(
    name: str,
    type: str = "process",
    concurrency_limit: int | None = None,
    description: str | None = None,
    config: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> WorkPool:
    """Create (or with ``overwrite`` replace) a work pool.

    Raises:
        WorkPoolError: A bad name, type, limit or configuration, or the pool exists.
    """
    from headwater.store.engine import db_write

    if not name or "/" in name or name != name.strip():
        raise WorkPoolError(f"work pool name {name!r} must be non-empty text without '/' or surrounding spaces")
    if concurrency_limit is not None and int(concurrency_limit) < 1:
        raise WorkPoolError(f"concurrency limit must be 1 or more, got {concurrency_limit}")
    cls = worker_class(type)
    config = dict(config or {})
    check = getattr(cls, "validate_pool_config", None)
    if check is not None:
        config = check(config)
    now = time.time()
    with db_write() as tx:
        exists = tx.execute("SELECT name FROM work_pools WHERE name = :n", {"n": name})
        if exists and not overwrite:
            raise WorkPoolError(f"work pool {name!r} already exists: pass --overwrite to replace it")
        tx.execute("DELETE FROM work_pools WHERE name = :n", {"n": name})
        tx.execute(
            "INSERT INTO work_pools (name, type, description, concurrency_limit, paused, config, created, updated) "
            "VALUES (:n, :t, :d, :l, 0, :c, :now, :now)",
            {
                "n": name,
                "t": type,
                "d": description,
                "l": concurrency_limit,
                "c": json.dumps(config) if config else None,
                "now": now,
            },
        )
    return WorkPool(name, type, description, concurrency_limit, False, config)


def get_work_pool(name: str) -> WorkPool:
    from headwater.store.engine import db_read

    with db_read() as tx:
        rows = tx.execute("SELECT * FROM work_pools WHERE name = :n", {"n": name})
    if not rows:
        raise WorkPoolNotFoundError(
            f"work pool {name!r} does not exist: create it with `headwater work-pool create {name} --type process`"
        )
    return _pool(rows[0])


def list_work_pools() -> list[WorkPool]:
    from headwater.store.engine import db_read

    with db_read() as tx:
        return [_pool(r) for r in tx.execute("SELECT * FROM work_pools ORDER BY name")]


def update_work_pool(
    name: str, *, concurrency_limit: int | None | str = "keep", paused: bool | None = None
) -> WorkPool:
    from headwater.store.engine import db_write

    get_work_pool(name)
    with db_write() as tx:
        if concurrency_limit != "keep":
            tx.execute(
                "UPDATE work_pools SET concurrency_limit = :l, updated = :t WHERE name = :n",
                {"l": concurrency_limit, "t": time.time(), "n": name},
            )
        if paused is not None:
            tx.execute(
                "UPDATE work_pools SET paused = :p, updated = :t WHERE name = :n",
                {"p": int(paused), "t": time.time(), "n": name},
            )
    _wake()
    return get_work_pool(name)


def delete_work_pool(name: str) -> None:
    from headwater.store.engine import db_write

    with db_write() as tx:
        if not tx.execute("SELECT name FROM work_pools WHERE name = :n", {"n": name}):
            raise WorkPoolNotFoundError(f"work pool {name!r} does not exist: see `headwater work-pool ls`")
        used = tx.execute("SELECT flow_name, name FROM deployments WHERE work_pool = :n", {"n": name})
        if used:
            names = ", ".join(f"{r.flow_name}/{r.name}" for r in used[:5])
            raise WorkPoolError(f"work pool {name!r} is used by deployment(s) {names}: delete or move them first")
        tx.execute("DELETE FROM work_pools WHERE name = :n", {"n": name})


def set_tag_limit(tag: str, limit: int | None) -> None:
    """Limit how many runs carrying ``tag`` may run at once (``None`` removes the limit)."""
    from headwater.store.engine import db_write

    with db_write() as tx:
        tx.execute("DELETE FROM concurrency_limits WHERE tag = :t", {"t": tag})
        if limit is not None:
            if int(limit) < 0:
                raise WorkPoolError(f"concurrency limit must be 0 or more, got {limit}")
            tx.execute(
                "INSERT INTO concurrency_limits (tag, concurrency_limit, created) VALUES (:t, :l, :c)",
                {"t": tag, "l": int(limit), "c": time.time()},
            )
    _wake()


def _wake() -> None:
    try:
        from headwater.orchestration.wakeup import notify

        notify()
    except Exception:
        pass
