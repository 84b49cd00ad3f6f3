"""Emitting events: ``emit_event`` queues, the history writer's thread records.

The caller pays for a tuple and a queue append (a few microseconds); the row is written in
the next batch with the run history, so a burst of events costs one transaction per batch.
Flow-run and task-run state changes become events in the same writer, from the transitions it
records anyway (see :func:`state_event_rows`).
"""

from __future__ import annotations

import json
import random
import time
import uuid
from typing import Any

from headwater.errors import HeadwaterError

__all__ = ["EVENT", "Event", "EventError", "emit_event", "record_event_now", "state_event_rows"]

EVENT = 4  # queue kind next to the history writer's FLOW, TASK, LOG, EDGE
RESOURCE_ID = "headwater.resource.id"
_dumps = json.dumps
_getrandbits = random.getrandbits
_PREFECT_PREFIX = "prefect."


class EventError(HeadwaterError, ValueError):
    """An event, trigger or webhook template is not valid."""


def _new_id() -> str:
    """A random UUID-4-shaped id. Event ids need to be unique, not unguessable: the Mersenne
    Twister (reseeded in forked children) costs ~0.3 µs where ``os.urandom`` took ~12 µs on a VM."""
    h = f"{_getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


class Event:
    """One event: what happened (``event``), to what (``resource``), when, and with what else.

    ``resource`` and each of ``related`` are label dicts with at least ``headwater.resource.id``
    (related resources also carry ``headwater.resource.role``).
    """

    __slots__ = ("event", "id", "occurred", "payload", "related", "resource", "seq")

    def __init__(self, event: str, resource: dict[str, str], occurred: float | None = None,
                 related: list[dict[str, str]] | None = None, payload: dict[str, Any] | None = None,
                 id: str | None = None, seq: int | None = None) -> None:
        self.event = event
        self.resource = resource
        self.occurred = time.time() if occurred is None else occurred
        self.related = related if related is not None else []
        self.payload = payload if payload is not None else {}
        self.id = id or _new_id()
        self.seq = seq

    @property
    def resource_id(self) -> str:
        return self.resource[RESOURCE_ID]

    def __repr__(self) -> str:
        return f"Event(event={self.event!r}, resource_id={self.resource_id!r}, id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        from datetime import datetime, timezone

        return {
            "id": self.id, "seq": self.seq, "event": self.event,
            "occurred": datetime.fromtimestamp(self.occurred, tz=timezone.utc).isoformat(),
            "resource": self.resource, "related": self.related, "payload": self.payload,
        }


def _labels(labels: Any, what: str) -> dict[str, str]:
    if not isinstance(labels, dict):
        raise EventError(f"{what} must be a dict of labels with 'headwater.resource.id'")
    out = {  # code written for Prefect says prefect.resource.*
        ("headwater." + key[8:] if key[:8] == _PREFECT_PREFIX else key) if type(key) is str else str(key):
            value if type(value) is str else str(value)
        for key, value in labels.items()
    }
    if not out.get(RESOURCE_ID):
        raise EventError(f"{what} has no 'headwater.resource.id' label")
    return out


def emit_event(
    event: str,
    resource: dict[str, str],
    occurred: float | None = None,
    related: list[dict[str, str]] | None = None,
    payload: dict[str, Any] | None = None,
    id: str | None = None,
) -> Event:
    """Record a custom event, as Prefect's ``emit_event``.

    Args:
        event: Its name, dotted (``"acme.file.landed"``).
        resource: Labels of the resource it is about; ``headwater.resource.id`` is required.
        occurred: When (epoch seconds); now if unset.
        related: Other resources involved, each with ``headwater.resource.id`` and
            ``headwater.resource.role``.
        payload: Any JSON-serialisable details.
        id: The event's id (a UUID is made if unset); an id recorded before is ignored.

    Returns:
        The event as it will be recorded.

    Raises:
        EventError: a missing name or resource id, or a payload that is not JSON.

    Example:
        >>> emit_event("acme.file.landed", resource={"headwater.resource.id": "s3://raw/a.csv"},
        ...            payload={"size": 12})  # doctest: +SKIP
    """
    if not isinstance(event, str) or not event.strip():
        raise EventError("an event needs a name, e.g. emit_event(event='acme.file.landed', resource=...)")
    labels = _labels(resource, "resource")
    others = [_labels(r, "each related resource") for r in related] if related else []
    payload_json = None
    if payload:
        if not isinstance(payload, dict):
            raise EventError("payload must be a dict")
        try:
            payload_json = _dumps(payload)  # the shared encoder: json.dumps(default=...) builds one per call
        except (TypeError, ValueError):
            try:
                payload_json = json.dumps(payload, default=str)
            except (TypeError, ValueError) as exc:
                raise EventError(f"event payload is not JSON-serialisable: {exc}") from None
    elif payload is not None and not isinstance(payload, dict):
        raise EventError("payload must be a dict")
    ev = Event(event, labels, occurred, others, payload or {}, id)
    from headwater.history.writer import get_writer

    # labels are serialised by the writer's thread (they are this call's own copies)
    get_writer().put((EVENT, (ev.id, ev.occurred, event, labels[RESOURCE_ID], labels, others or None, payload_json)))
    return ev


def record_event_now(event: str, resource: dict[str, str], payload: dict[str, Any] | None = None) -> None:
    """Record an event in its own small transaction, without starting the history writer
    (block saves and deletes: a process that only saves a block starts no thread).
    Never raises: the event log must not fail the change it describes."""
    from headwater.store.engine import db_write

    try:
        with db_write() as tx:
            tx.execute(
                "INSERT INTO events (id, occurred, event, resource_id, resource, related, payload) "
                "VALUES (:id, :ts, :ev, :rid, :res, NULL, :body)",
                {"id": str(uuid.uuid4()), "ts": time.time(), "ev": event, "rid": resource[RESOURCE_ID],
                 "res": json.dumps(resource), "body": json.dumps(payload) if payload else None},
            )
    except Exception:  # noqa: BLE001
        pass


def _name(text: str) -> str:
    return json.dumps(text) if ('"' in text or "\\" in text or not text.isprintable()) else f'"{text}"'


def state_event_rows(flows: dict[str, Any], tasks: dict[str, Any], emitted: dict[str, int]) -> list[tuple[Any, ...]]:
    """Event rows for the state transitions in a writer batch not turned into events before.

    ``emitted`` maps a run id to how many of its transitions were emitted; ended runs leave it.
    """
    from headwater.redaction import redact

    rows: list[tuple[Any, ...]] = []
    for payload in flows.values():
        (id_, name, flow_name, _pf, _pt, _stype, _sname, message, _params, tags, _rc, _created, _started, ended,
         transitions) = payload
        done = emitted.get(id_, 0)
        transitions = tuple(transitions or ())
        if len(transitions) > done:
            rid = f"headwater.flow-run.{id_}"
            resource = f'{{"headwater.resource.id":"{rid}","headwater.resource.name":{_name(redact(name))}}}'
            related = [f'{{"headwater.resource.id":"headwater.flow.{flow_name}","headwater.resource.role":"flow",'
                       f'"headwater.resource.name":{_name(flow_name)}}}']
            related += [f'{{"headwater.resource.id":"headwater.tag.{t}","headwater.resource.role":"tag"}}'
                        for t in tags or ()]
            related_json = "[" + ",".join(related) + "]"
            for i in range(done, len(transitions)):
                state, ts = transitions[i]
                body = json.dumps({"message": redact(message)}) if message and i == len(transitions) - 1 else None
                rows.append((f"{id_}.{i}", ts, f"headwater.flow-run.{state}", rid, resource, related_json,
                             body))
        if ended is not None:
            emitted.pop(id_, None)
        else:
            emitted[id_] = len(transitions)
    related_of: dict[Any, str | None] = {None: None}  # one string per flow run, shared by its task runs' rows
    names: dict[str, str] = {}
    for tr in tasks.values():  # one row per task run and batch (most task runs: one row for all three states)
        id_ = tr.id
        transitions = tuple(tr.transitions)
        done = emitted.get(id_, 0)
        if len(transitions) > done:
            new = transitions[done:]
            related_json = related_of.get(tr.flow_run_id)
            if related_json is None and tr.flow_run_id:
                related_json = related_of[tr.flow_run_id] = (
                    f'[{{"headwater.resource.id":"headwater.flow-run.{tr.flow_run_id}",'
                    f'"headwater.resource.role":"flow-run"}}]'
                )
            last = new[-1][0]
            event_name = names.get(last) or names.setdefault(last, f"headwater.task-run.{last}")
            parts = []  # built by hand: json.dumps with options costs ~10 µs a call, on every task run
            if len(new) > 1:  # state names are plain words
                parts.append('"states":[' + ",".join([f'["{state}",{ts:.6f}]' for state, ts in new]) + "]")
            if tr.message:
                parts.append(f'"message":{json.dumps(redact(tr.message))}')
            rows.append((f"{id_}.{done}", new[0][1], event_name, f"headwater.task-run.{id_}",
                         f'{{"headwater.resource.name":{_name(redact(tr.name))}}}', related_json,
                         "{" + ",".join(parts) + "}" if parts else None))
        if tr.ended is not None:
            emitted.pop(id_, None)
        else:
            emitted[id_] = len(transitions)
    return rows
