"""Global concurrency and rate limits kept in the store, so every process using it shares them.

A limit has ``slots``. ``concurrency(name, occupy=n)`` holds n slots while its block runs
(one holder row per acquisition, recording the process; rows of processes that died on this
host are reclaimed). ``rate_limit(name, occupy=n)`` takes n slots that drain away at
``slot_decay_per_second`` (a leaky bucket in the limit's row). A waiter in this process is
woken the moment a slot here is released; slots freed by other processes are seen within
:data:`POLL_SECONDS`.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

from headwater.errors import HeadwaterError, ObjectNotFound
from headwater.store import objects_schema as _tables  # noqa: F401 (registers the tables used here)

__all__ = [
    "AcquireConcurrencySlotTimeoutError",
    "ConcurrencySlotAcquisitionError",
    "create_limit",
    "delete_limit",
    "list_limits",
]

POLL_SECONDS = 0.05
_released = threading.Condition()


class ConcurrencySlotAcquisitionError(HeadwaterError):
    """Slots cannot be acquired: the limit does not exist (``strict=True``), asks for more slots
    than it has, or is not a rate limit."""


class AcquireConcurrencySlotTimeoutError(HeadwaterError, TimeoutError):
    """The slots were not acquired within ``timeout_seconds`` (a ``TimeoutError``, as in Prefect)."""


class ConcurrencyLimitNotFound(ObjectNotFound, ValueError):
    """No concurrency limit has that name."""


def _names(names: str | Sequence[str]) -> list[str]:
    return [names] if isinstance(names, str) else list(dict.fromkeys(names))


def create_limit(name: str, limit: int, slot_decay_per_second: float = 0.0, active: bool = True) -> None:
    """Create (or replace the settings of) the limit ``name`` with ``limit`` slots."""
    from headwater.store.engine import db_write

    if not name or len(name) > 200:
        raise ConcurrencySlotAcquisitionError(f"concurrency limit name {name!r} must be 1 to 200 characters")
    if int(limit) < 1:
        raise ConcurrencySlotAcquisitionError(f"concurrency limit {name!r}: limit must be at least 1, got {limit}")
    if float(slot_decay_per_second) < 0:
        raise ConcurrencySlotAcquisitionError(f"concurrency limit {name!r}: slot_decay_per_second cannot be negative")
    now = time.time()
    params = {"n": name, "s": int(limit), "a": bool(active), "d": float(slot_decay_per_second), "t": now}
    with db_write() as tx:
        if tx.execute("SELECT name FROM global_concurrency_limits WHERE name = :n", {"n": name}):
            tx.execute("UPDATE global_concurrency_limits SET slots = :s, active = :a, slot_decay_per_second = :d "
                       "WHERE name = :n", params)
        else:
            tx.execute(
                "INSERT INTO global_concurrency_limits "
                "(name, slots, active, slot_decay_per_second, decaying, decayed_at, created) "
                "VALUES (:n, :s, :a, :d, 0, :t, :t)", params)
    _wake()


def delete_limit(name: str) -> None:
    """Delete the limit and its holders.

    Raises:
        ConcurrencyLimitNotFound: There is no such limit.
    """
    from headwater.store.engine import db_write

    with db_write() as tx:
        if not tx.execute("SELECT name FROM global_concurrency_limits WHERE name = :n", {"n": name}):
            raise ConcurrencyLimitNotFound(
                f"no concurrency limit named {name!r} (see `headwater global-concurrency-limit ls`)")
        tx.execute("DELETE FROM global_concurrency_holders WHERE name = :n", {"n": name})
        tx.execute("DELETE FROM global_concurrency_limits WHERE name = :n", {"n": name})
    _wake()


def list_limits() -> list[dict[str, Any]]:
    """Every limit with its slots in use now."""
    from headwater.store.engine import db_write

    now = time.time()
    out = []
    with db_write() as tx:
        for r in tx.execute("SELECT * FROM global_concurrency_limits ORDER BY name"):
            out.append({"name": r.name, "limit": r.slots, "active": bool(r.active),
                        "slot_decay_per_second": r.slot_decay_per_second,
                        "active_slots": _occupied(tx, r, now)})
    return out


def _occupied(tx: Any, row: Any, now: float) -> float:
    """Slots in use: live holders' plus what is left of the rate-limit bucket."""
    from headwater.history.reader import _pid_alive
    from headwater.history.writer import host_name

    holders = tx.execute("SELECT id, occupy, pid FROM global_concurrency_holders WHERE name = :n AND host = :h",
                         {"n": row.name, "h": host_name()})
    dead = [h.id for h in holders if h.pid != os.getpid() and not _pid_alive(h.pid)]
    for holder_id in dead:  # a process that died holding slots gives them back
        tx.execute("DELETE FROM global_concurrency_holders WHERE id = :id", {"id": holder_id})
    held = tx.scalar("SELECT COALESCE(SUM(occupy), 0) AS s FROM global_concurrency_holders WHERE name = :n",
                     {"n": row.name})
    bucket = max(0.0, row.decaying - row.slot_decay_per_second * (now - row.decayed_at))
    return float(held or 0) + bucket


def try_acquire(names: list[str], occupy: int, rate: bool, strict: bool) -> tuple[list[str] | None, float]:
    """One attempt in one transaction: the holder ids taken (``[]`` when nothing limits the
    call) and 0.0, or None and how long to wait before the next attempt."""
    from headwater.store.engine import db_write

    now = time.time()
    with db_write() as tx:
        rows = []
        for name in names:
            found = tx.execute("SELECT * FROM global_concurrency_limits WHERE name = :n", {"n": name})
            if not found:
                if strict:
                    raise ConcurrencySlotAcquisitionError(
                        f"no concurrency limit named {name!r}: create it with "
                        f"`headwater global-concurrency-limit create {name} --limit N`")
                continue
            row = found[0]
            if not row.active:
                continue
            if occupy > row.slots:
                raise ConcurrencySlotAcquisitionError(
                    f"occupy={occupy} is more than the {row.slots} slot(s) of concurrency limit {name!r}")
            if rate and row.slot_decay_per_second <= 0:
                raise ConcurrencySlotAcquisitionError(
                    f"rate_limit({name!r}) needs a limit with slot_decay_per_second > 0: `headwater "
                    f"global-concurrency-limit create {name} --limit {row.slots} --slot-decay-per-second 1`")
            used = _occupied(tx, row, now)
            if used + occupy > row.slots:
                wait = POLL_SECONDS
                if row.slot_decay_per_second > 0 and not rate:
                    wait = min(1.0, max(POLL_SECONDS, (used + occupy - row.slots) / row.slot_decay_per_second))
                elif rate:
                    wait = max(0.001, (used + occupy - row.slots) / row.slot_decay_per_second)
                return None, wait
            rows.append(row)
        taken = []
        for row in rows:
            if rate:
                bucket = max(0.0, row.decaying - row.slot_decay_per_second * (now - row.decayed_at))
                tx.execute("UPDATE global_concurrency_limits SET decaying = :b, decayed_at = :t WHERE name = :n",
                           {"b": bucket + occupy, "t": now, "n": row.name})
            else:
                holder = uuid.uuid4().hex
                from headwater.history.writer import host_name

                tx.execute("INSERT INTO global_concurrency_holders (id, name, occupy, pid, host, acquired) "
                           "VALUES (:id, :n, :o, :p, :h, :t)",
                           {"id": holder, "n": row.name, "o": occupy, "p": os.getpid(), "h": host_name(), "t": now})
                taken.append(holder)
    return taken, 0.0


def release(holders: list[str]) -> None:
    """Give back the slots of these holder rows and wake this process's waiters."""
    if not holders:
        return
    from headwater.store.engine import db_write

    with db_write() as tx:
        for holder in holders:
            tx.execute("DELETE FROM global_concurrency_holders WHERE id = :id", {"id": holder})
    _wake()


def _wake() -> None:
    with _released:
        _released.notify_all()


def _attempt(wanted: list[str], occupy: int, rate: bool, strict: bool, deadline: float | None,
             timeout_seconds: float | None) -> tuple[list[str] | None, float]:
    """One try: ``(holder ids, 0)`` when acquired, else ``(None, seconds to wait)``; past the
    deadline, the timeout error."""
    taken, wait = try_acquire(wanted, occupy, rate, strict)
    if taken is not None or deadline is None:
        return taken, wait
    left = deadline - time.monotonic()
    if left <= 0:
        raise AcquireConcurrencySlotTimeoutError(
            f"could not acquire {occupy} slot(s) of {', '.join(wanted)} within {timeout_seconds:g} seconds")
    return None, min(wait, left)


def _start(names: str | Sequence[str], occupy: int, timeout_seconds: float | None) -> tuple[list[str], float | None]:
    wanted = _names(names)
    if occupy < 1:
        raise ConcurrencySlotAcquisitionError(f"occupy must be at least 1, got {occupy}")
    return wanted, None if timeout_seconds is None else time.monotonic() + timeout_seconds


def acquire(names: str | Sequence[str], occupy: int, timeout_seconds: float | None, rate: bool,
            strict: bool) -> list[str]:
    """Wait until the slots are acquired; returns the holder ids to release."""
    wanted, deadline = _start(names, occupy, timeout_seconds)
    while True:
        taken, wait = _attempt(wanted, occupy, rate, strict, deadline, timeout_seconds)
        if taken is not None:
            return taken
        with _released:
            _released.wait(wait)


async def aacquire(names: str | Sequence[str], occupy: int, timeout_seconds: float | None, rate: bool,
                   strict: bool) -> list[str]:
    """:func:`acquire` for async code (waits with ``asyncio.sleep``)."""
    import asyncio

    wanted, deadline = _start(names, occupy, timeout_seconds)
    while True:
        taken, wait = _attempt(wanted, occupy, rate, strict, deadline, timeout_seconds)
        if taken is not None:
            return taken
        await asyncio.sleep(min(wait, POLL_SECONDS))
