"""Reading the event log: filters by name (with ``*`` wildcards), resource and time; retention."""

from __future__ import annotations

import fnmatch
import json
import os
import time
from typing import Any

from headwater.events.emit import RESOURCE_ID, Event, EventError

__all__ = [
    "DEFAULT_RETENTION_DAYS", "list_events", "matches", "prune_events", "retention_seconds", "row_to_events",
]

DEFAULT_RETENTION_DAYS = 7.0
_TASK_RUN = "headwater.task-run."


def matches(pattern: str | list[str] | None, name: str) -> bool:
    """Whether ``name`` matches a pattern (``*`` any text) or any of a list of them."""
    if pattern is None:
        return True
    patterns = [pattern] if isinstance(pattern, str) else pattern
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _like(pattern: str) -> str | None:
    """A LIKE prefix that every match of ``pattern`` has (None if it starts with a wildcard)."""
    head = pattern.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0]
    if not head:
        return None
    if head.startswith(_TASK_RUN):  # a task run's row is named after the last state it holds
        head = _TASK_RUN
    return head.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def row_to_events(row: Any) -> list[Event]:
    """The events one stored row holds: one, or (a task run's row) each state it entered in a batch."""
    resource = json.loads(row.resource)
    resource.setdefault(RESOURCE_ID, row.resource_id)  # task-run rows leave the id to its column
    related = json.loads(row.related or "[]")
    payload = json.loads(row.payload or "{}")
    states = payload.pop("states", None) if row.event.startswith(_TASK_RUN) else None
    if not states:
        return [Event(row.event, resource, float(row.occurred), related, payload, row.id, int(row.seq))]
    run_id, _, base = row.id.rpartition(".")
    last = len(states) - 1
    return [
        Event(f"{_TASK_RUN}{state}", resource, float(ts), related, payload if k == last else {},
              f"{run_id}.{int(base) + k}", int(row.seq))
        for k, (state, ts) in enumerate(states)
    ]


def row_to_event(row: Any) -> Event:
    """The last event a stored row holds."""
    return row_to_events(row)[-1]


def list_events(
    pattern: str | None = None,
    resource: str | None = None,
    since: float | None = None,
    after_seq: int | None = None,
    limit: int = 100,
    newest_first: bool = True,
) -> list[Event]:
    """Events, newest first (or oldest first after ``after_seq``, for following).

    Args:
        pattern: Event name pattern (``headwater.flow-run.*``).
        resource: Resource id pattern (``headwater.flow-run.3f2*``).
        since: Only events that occurred at or after this epoch time.
        after_seq: Only events recorded after this sequence number.
        limit: At most this many.
    """
    from headwater.history.writer import flush
    from headwater.store.engine import db_read

    flush()
    where, params = [], {"limit": int(limit)}
    for column, value in (("event", pattern), ("resource_id", resource)):
        prefix = _like(value) if value else None
        if prefix:
            where.append(f"{column} LIKE :{column} ESCAPE '\\'")
            params[column] = prefix
    if since is not None:
        where.append("occurred >= :since")
        params["since"] = since
    if after_seq is not None:
        where.append("seq > :after")
        params["after"] = after_seq
    order = "DESC" if newest_first and after_seq is None else "ASC"
    sql = "SELECT * FROM events" + (" WHERE " + " AND ".join(where) if where else "")
    picked: list[Event] = []
    offset = 0
    with db_read() as tx:
        while len(picked) < limit:  # wildcards inside a name are checked here, page by page
            rows = tx.execute(f"{sql} ORDER BY seq {order} LIMIT :limit OFFSET {offset}", params)
            for row in rows:
                if not matches(resource, row.resource_id):
                    continue
                events = row_to_events(row)
                picked += [e for e in (events if order == "ASC" else reversed(events)) if matches(pattern, e.event)]
            if len(rows) < limit:
                break
            offset += len(rows)
    return picked[:limit]


def retention_seconds() -> float:
    """``HEADWATER_EVENTS_RETENTION_DAYS`` (default 7) in seconds."""
    raw = os.environ.get("HEADWATER_EVENTS_RETENTION_DAYS", "")
    try:
        days = float(raw) if raw else DEFAULT_RETENTION_DAYS
    except ValueError:
        days = -1.0
    if not days > 0 or days == float("inf"):
        raise EventError(f"HEADWATER_EVENTS_RETENTION_DAYS={raw!r} is not a positive number of days")
    return days * 86400.0


def prune_events(older_than: float | None = None) -> int:
    """Delete events older than the retention (or ``older_than`` seconds); returns how many."""
    from headwater.store.engine import db_write

    cutoff = time.time() - (older_than if older_than is not None else retention_seconds())
    with db_write() as tx:
        n = int(tx.scalar("SELECT COUNT(*) AS n FROM events WHERE occurred < :c", {"c": cutoff}) or 0)
        if n:
            tx.execute("DELETE FROM events WHERE occurred < :c", {"c": cutoff})
    return n  # one scan a minute at most (the history writer's cap interval), off the hot path
