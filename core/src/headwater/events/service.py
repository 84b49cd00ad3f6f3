"""The automation service: evaluates triggers against new events and carries out actions.

Exactly once across restarts: firing records the actions (a row each, keyed by automation,
triggering event or window, and action) in the same transaction that advances the
automation's event cursor, so a restart neither skips an event nor fires it again. Actions
are claimed atomically, carried out, and marked done; a claim left by a process that died is
released and carried out by the next service. Failures are retried with backoff and then
recorded as failed; nothing an automation does can stop the service.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from typing import Any

from headwater.events.automations import Automation, EventTrigger, ProactiveTrigger, _cron_next, list_automations
from headwater.events.emit import Event
from headwater.events.reader import matches, row_to_events

__all__ = ["AutomationService", "serve", "start_in_background"]

BATCH = 500
MAX_ATTEMPTS = 5
GRACE = 1.0  # seconds after a window closes before it is judged (its events are being flushed)
LEASE = 600.0  # a claim by a process on another host is released after this long


def _labels_match(labels: dict[str, str], wanted: dict[str, str | list[str]]) -> bool:
    return all(key in labels and matches(pattern, labels[key]) for key, pattern in wanted.items())


def event_matches(trigger: EventTrigger | ProactiveTrigger, event: Event, names: list[str] | None = None) -> bool:
    if not matches(names if names is not None else trigger.expect, event.event):
        return False
    if trigger.match and not _labels_match(event.resource, trigger.match):
        return False
    if trigger.match_related and not any(_labels_match(r, trigger.match_related) for r in event.related):
        return False
    return True


def _me() -> str:
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


class AutomationService:
    """Evaluate once with :meth:`tick`; :func:`serve` calls it in a loop."""

    def __init__(self) -> None:
        self.me = _me()
        self._automations: list[tuple[str, Automation]] = []
        self._loaded = 0.0
        self.fired = 0
        self.done = 0
        self._recovered = False

    # -- evaluation --------------------------------------------------------------------------

    def automations(self) -> list[Automation]:
        now = time.time()
        if now - self._loaded > 2.0:
            self._automations = [(a.id or "", a) for a in list_automations() if a.enabled]
            self._loaded = now
        return [a for _, a in self._automations]

    def tick(self, now: float | None = None) -> int:
        """Evaluate every enabled automation, then carry out due actions; returns actions done."""
        from headwater.history.writer import flush

        flush()
        now = time.time() if now is None else now
        if not self._recovered:
            self.release_dead_claims()
            self._recovered = True
        for automation in self.automations():
            try:
                self.evaluate(automation, now)
            except Exception as exc:  # one broken automation must not stop the others
                _warn(f"automation {automation.name!r} could not be evaluated: {exc}")
        return self.run_due_actions(now)

    def evaluate(self, automation: Automation, now: float) -> None:
        from headwater.store.engine import db_write

        trigger = automation.event_trigger()
        with db_write() as tx:  # one transaction: read the cursor, fire, advance it
            row = tx.execute("SELECT cursor_seq, trigger_state, created FROM automations WHERE id = :id",
                             {"id": automation.id})
            if not row:
                return
            cursor, created = int(row[0].cursor_seq), float(row[0].created)
            state = json.loads(row[0].trigger_state or "{}")
            rows = tx.execute("SELECT * FROM events WHERE seq > :c ORDER BY seq LIMIT :n", {"c": cursor, "n": BATCH})
            events = [e for r in rows for e in row_to_events(r)]
            fires: list[tuple[str, Event | None, dict[str, Any] | None]] = []
            if isinstance(trigger, EventTrigger):
                self._reactive(trigger, events, state, fires, automation)
            else:
                self._proactive(trigger, events, state, fires, automation, now, created, tx)
            for key, event, window in fires:
                self._fire(tx, automation, key, event, window, now)
            new_cursor = events[-1].seq if events else cursor
            tx.execute("UPDATE automations SET cursor_seq = :c, trigger_state = :s WHERE id = :id",
                       {"c": new_cursor, "s": json.dumps(state), "id": automation.id})
        if os.environ.get("HEADWATER_TEST_AUTOMATION_EXIT") == "after-fire" and fires:
            os._exit(17)  # tests: die between recording the actions and carrying them out

    def _reactive(self, trigger: EventTrigger, events: list[Event], state: dict[str, Any], fires: list[Any],
                  automation: Automation) -> None:
        groups = state.setdefault("groups", {})
        for event in events:
            if not event_matches(trigger, event):
                continue
            if trigger.threshold == 1:
                fires.append((f"{automation.id}:{event.id}", event, None))
                continue
            key = "|".join(event.resource.get(label, "") for label in trigger.for_each) or "*"
            times = [t for t in groups.get(key, []) if not trigger.within or t >= event.occurred - trigger.within]
            times.append(event.occurred)
            if len(times) >= trigger.threshold:
                fires.append((f"{automation.id}:{event.id}", event, None))
                times = []
            groups[key] = times[-trigger.threshold:]

    def _proactive(self, trigger: ProactiveTrigger, events: list[Event], state: dict[str, Any], fires: list[Any],
                   automation: Automation, now: float, created: float, tx: Any) -> None:
        windows = state.setdefault("windows", [])  # [key, start, end]
        if trigger.after:
            for event in events:
                if event_matches(trigger, event, trigger.after):
                    windows.append([event.id, event.occurred, event.occurred + trigger.within])
        else:
            end = state.get("next_end")
            if end is None:
                end = (_cron_next(trigger.cron, trigger.timezone, created) if trigger.cron
                       else created + trigger.within)
            while end + GRACE <= now:
                windows.append([f"w{end:.3f}", end - trigger.within, end])
                end = (_cron_next(trigger.cron, trigger.timezone, end) if trigger.cron else end + trigger.within)
            state["next_end"] = end
        still_open = []
        for key, start, end in windows:
            if end + GRACE > now:
                still_open.append([key, start, end])
                continue
            seen = sum(1 for e in self._window_events(tx, start, end) if event_matches(trigger, e))
            if seen < trigger.threshold:
                fires.append((f"{automation.id}:{key}", None, {"start": start, "end": end, "seen": seen}))
        state["windows"] = still_open

    @staticmethod
    def _window_events(tx: Any, start: float, end: float) -> list[Event]:
        rows = tx.execute("SELECT * FROM events WHERE occurred >= :s AND occurred <= :e ORDER BY seq",
                          {"s": start - 60, "e": end})  # a row starts at its first state
        return [e for r in rows for e in row_to_events(r) if start <= e.occurred <= end]

    def _fire(self, tx: Any, automation: Automation, key: str, event: Event | None, window: dict[str, Any] | None,
              now: float) -> None:
        from headwater.events.actions import build_context
        from headwater.history.writer import _insert

        context = build_context(automation, event, window, tx)
        style = "qmark" if tx.dialect == "sqlite" else "named"
        columns = ("fire_key", "automation_id", "action_index", "created", "context", "status", "next_attempt")
        sql = _insert("automation_actions", columns, style, ignore=True)
        rows = []
        for index in range(len(automation.actions)):
            fire_key = f"{key}:{index}"
            values = (fire_key, automation.id, index, now, json.dumps({**context, "fire_key": fire_key}, default=str),
                      "pending", now)
            rows.append(values if style == "qmark" else dict(zip(columns, values, strict=True)))
        tx.executemany(sql, rows)
        self.fired += 1

    # -- actions -----------------------------------------------------------------------------

    def release_dead_claims(self) -> int:
        """Put actions claimed by dead processes (this host) or expired claims back to pending."""
        from headwater.store.engine import db_write

        host = self.me.rsplit(":", 1)[0]
        released = 0
        with db_write() as tx:
            for row in tx.execute("SELECT seq, claimed_by, next_attempt FROM automation_actions "
                                  "WHERE status = 'running'"):
                owner_host, _, pid = (row.claimed_by or "").rpartition(":")
                dead = (owner_host == host and not _alive(int(pid or 0))) or (
                    owner_host != host and time.time() - float(row.next_attempt) > LEASE)
                if dead:
                    tx.execute("UPDATE automation_actions SET status = 'pending' WHERE seq = :s", {"s": row.seq})
                    released += 1
        return released

    def claim(self, now: float, limit: int = 20) -> list[Any]:
        from headwater.store.engine import db_write

        with db_write() as tx:
            lock = " FOR UPDATE SKIP LOCKED" if tx.dialect != "sqlite" else ""
            rows = tx.execute("SELECT * FROM automation_actions WHERE status = 'pending' AND next_attempt <= :now "
                              f"ORDER BY seq LIMIT :n{lock}", {"now": now, "n": limit})
            for row in rows:
                tx.execute("UPDATE automation_actions SET status = 'running', claimed_by = :me, attempts = "
                           "attempts + 1, next_attempt = :now WHERE seq = :s",
                           {"me": self.me, "now": now, "s": row.seq})
        return rows

    def run_due_actions(self, now: float) -> int:
        from headwater.events.actions import execute
        from headwater.store.engine import db_write

        done = 0
        by_id = {a.id: a for a in self.automations()}
        for row in self.claim(now):
            automation = by_id.get(row.automation_id)
            status, error, next_attempt = "done", None, now
            try:
                if automation is None:
                    from headwater.events.automations import get_automation

                    automation = get_automation(row.automation_id)
                execute(automation.actions[row.action_index], json.loads(row.context))
                done += 1
            except Exception as exc:
                attempts = int(row.attempts) + 1
                error = str(exc)
                status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
                next_attempt = time.time() + min(300.0, 2.0 ** attempts)
                _warn(f"automation action {row.fire_key} failed (attempt {attempts}): {error}")
            with db_write() as tx:
                tx.execute("UPDATE automation_actions SET status = :st, error = :e, next_attempt = :n, "
                           "finished = :f WHERE seq = :s",
                           {"st": status, "e": error, "n": next_attempt, "f": time.time() if status != "pending"
                            else None, "s": row.seq})
        self.done += done
        return done


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _warn(message: str) -> None:
    from headwater.redaction import redact

    sys.stderr.write(f"headwater automations: {redact(message)}\n")


def serve(interval: float = 0.1, stop: threading.Event | None = None, once: bool = False) -> AutomationService:
    """Run the automation service until SIGINT/SIGTERM (or ``stop`` is set)."""
    service = AutomationService()
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        try:
            service.tick()
        except Exception as exc:  # the store was unreachable for a moment: keep serving
            _warn(str(exc))
        if once:
            break
        stop.wait(interval)
    return service


def start_in_background(interval: float = 0.5) -> threading.Thread:
    """Evaluate automations in a daemon thread of a long-running process (a worker, ``serve``,
    ``headwater scheduler``); idle while no automation is enabled (one cheap query every 5 s)."""

    def loop() -> None:
        service = AutomationService()
        while True:
            try:
                if service.automations():
                    service.tick()
                    time.sleep(interval)
                    continue
            except Exception as exc:  # the store was unreachable for a moment: keep going
                _warn(str(exc))
            time.sleep(5.0)

    thread = threading.Thread(target=loop, name="headwater-automations", daemon=True)
    thread.start()
    return thread
