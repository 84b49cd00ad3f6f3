"""The background history writer: run events go into a queue, a thread writes them in batches.

The hot path only appends a tuple to a ``deque`` (atomic, no lock, no I/O). The writer thread
wakes every ``_INTERVAL`` seconds and stores the batch in one transaction; run rows are upserted,
so the newest snapshot of a run wins and a task that starts and ends inside one batch costs a
single row write. The batch's console lines go to a separate console thread: a console that
does not take output (a full pipe, a terminal stopped with Ctrl-S) delays what is printed, never
what is recorded, nor the heartbeat that tells other processes the run is alive. ``flush()``
drains the queue synchronously (flow end, exit, settings reset) and waits for the console.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import time
from collections import deque
from functools import cache
from typing import Any

from headwater import _state

__all__ = ["FLOW", "LOG", "TASK", "EDGE", "HistoryWriter", "flush", "get_writer", "host_name"]

FLOW, TASK, LOG, EDGE = 0, 1, 2, 3
_INTERVAL = 0.1
_BACKLOG = 3000
HEARTBEAT_SECONDS = 2.0  # also bounds the error of a killed run's end time (its last heartbeat)
_CONSOLE_BACKLOG = 16 << 20  # characters of console output held while the console takes none; older are dropped
_CAP_SECONDS = 60.0  # a process that finished flow runs re-checks the history caps this often at most...


def _cap_every() -> int:
    """...or after this many finished flow runs (a tenth of the cap, at most 100)."""
    from headwater.settings import get_settings

    return max(1, min(100, get_settings().history_max_flow_runs // 10))


_LEVEL_NAMES = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}

FLOW_COLUMNS = (
    "id", "name", "flow_name", "parent_flow_run_id", "parent_task_run_id", "state_type", "state", "message",
    "parameters", "tags", "run_count", "created", "started", "ended", "pid", "host", "heartbeat", "transitions",
)
TASK_COLUMNS = (
    "id", "flow_run_id", "name", "task_key", "state_type", "state", "message", "parameters", "tags", "run_count",
    "created", "started", "ended", "cache_key", "metadata", "transitions",
)
_LOG_COLUMNS = ("flow_run_id", "task_run_id", "ts", "level", "logger", "message")
_EDGE_COLUMNS = ("upstream_id", "downstream_id", "flow_run_id")
_EVENT_COLUMNS = ("id", "occurred", "event", "resource_id", "resource", "related", "payload")

_host: str | None = None


def host_name() -> str:
    global _host
    if _host is None:
        _host = os.uname().nodename if hasattr(os, "uname") else __import__("socket").gethostname()
    return _host


@cache
def _upsert(table: str, columns: tuple[str, ...], style: str) -> str:
    marks = ", ".join("?" for _ in columns) if style == "qmark" else ", ".join(f":{c}" for c in columns)
    updates = ", ".join(
        f"{c} = excluded.{c}" for c in columns if c not in ("id", "created", "parameters", "pid", "host")
    )
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT (id) DO UPDATE SET {updates}"


@cache
def _insert(table: str, columns: tuple[str, ...], style: str, ignore: bool = False) -> str:
    marks = ", ".join("?" for _ in columns) if style == "qmark" else ", ".join(f":{c}" for c in columns)
    tail = " ON CONFLICT DO NOTHING" if ignore else ""
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){tail}"


def _json_default(value: Any) -> Any:
    if hasattr(value, "get_secret_value"):
        from headwater.redaction import remember

        remember(value)
        return "**********"
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return repr(value)


def encode_parameters(params: dict[str, Any] | None) -> str | None:
    """Parameters as JSON with secret values masked; long values are shortened."""
    if not params:
        return None
    from headwater.redaction import redact

    out = {}
    for key, value in params.items():
        try:
            text = json.dumps(value, default=_json_default)
        except (TypeError, ValueError):
            text = json.dumps(repr(value))
        text = redact(text)  # before shortening, which could cut a secret where no mask matches
        if len(text) > 500:
            text = json.dumps(text[:480] + "...")
        try:
            out[key] = json.loads(text)
        except ValueError:  # a mask that cut through an escape: keep the text
            out[key] = text
    return json.dumps(out, separators=(",", ":"))  # each value was redacted above


class HistoryWriter:
    """Owns the event queue and the thread that writes it (one per process)."""

    def __init__(self) -> None:
        self.queue: deque[tuple[int, Any]] = deque()
        self.put = self.queue.append
        self._drain_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self.active_flow_runs: dict[str, float] = {}
        self._last_heartbeat = time.time()
        self._time_cache: tuple[int, str] = (0, "")
        self._console_level: int | None = None
        self._warned = False
        self._finished = 0  # flow runs finished since the cap was last enforced
        self._last_cap = time.time()
        self._emitted: dict[str, int] = {}  # run id -> transitions already recorded as events
        self._state_events = (
            os.environ.get("HEADWATER_EVENTS_STATE_CHANGES", "true").lower() not in ("0", "false", "no")
        )
        self._console_lines: deque[str] = deque()
        self._console_cv = threading.Condition()
        self._console_queued = self._console_written = self._console_dropped = self._console_chars = 0
        self._console_thread: threading.Thread | None = None
        from headwater.redaction import install_log_redaction

        install_log_redaction()  # runs are starting in this process: third-party loggers' output too
        self._thread = threading.Thread(target=self._loop, name="headwater-history", daemon=True)
        self._thread.start()

    # -- thread -----------------------------------------------------------------------------

    def _loop(self) -> None:
        try:  # open (and on first use create) the store while the flow runs, not at its end
            from headwater.history.retention import enforce_cap
            from headwater.store.engine import get_database

            get_database()
            enforce_cap()  # retention's default cap, applied once per process, off the hot path
        except Exception:
            pass  # reported by the first write
        while not self._stop:
            if len(self.queue) < _BACKLOG:  # a large backlog is written at once, bounding memory
                self._wake.wait(_INTERVAL)
                self._wake.clear()
            if self.queue:
                self.drain()
            now = time.time()
            if self._finished and (self._finished >= _cap_every() or now - self._last_cap >= _CAP_SECONDS):
                self._enforce_cap(now)
            if self.active_flow_runs and now - self._last_heartbeat >= HEARTBEAT_SECONDS:
                self._heartbeat(now)

    def _enforce_cap(self, now: float) -> None:
        """A long-lived process keeps the history within its caps, not only its first flow run."""
        self._finished, self._last_cap = 0, now
        try:
            from headwater.history.retention import enforce_cap

            enforce_cap()
        except Exception:
            pass
        try:
            from headwater.events.reader import prune_events

            prune_events()  # events older than HEADWATER_EVENTS_RETENTION_DAYS
        except Exception:
            pass

    def stop(self) -> None:
        self._stop = True
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)
        self.drain()

    # -- draining ---------------------------------------------------------------------------

    def drain(self) -> None:
        """Write everything queued so far (safe to call from any thread); outside the writer
        thread, also wait until its console lines are printed."""
        self._drain()
        if threading.current_thread() is not self._thread:
            self._wait_console()

    def _drain(self) -> None:
        with self._drain_lock:
            queue = self.queue
            n = len(queue)
            if not n:
                return
            popleft = queue.popleft
            flows: dict[str, tuple[Any, ...]] = {}
            tasks: dict[str, tuple[Any, ...]] = {}
            logs: list[tuple[Any, ...]] = []
            edges: list[tuple[Any, ...]] = []
            events: list[tuple[Any, ...]] = []
            for _ in range(n):
                kind, payload = popleft()
                if kind == TASK:
                    tasks[payload.id] = payload
                elif kind == LOG:
                    logs.append(payload)
                elif kind == FLOW:
                    flows[payload[0]] = payload
                    if payload[13] is not None:  # ended
                        self._finished += 1
                elif kind == EDGE:
                    edges.append(payload)
                else:
                    events.append(payload)
            try:
                self._store(flows, tasks, logs, edges, events)
            except Exception as exc:  # the run must not die because its history could not be written
                if not self._warned:
                    self._warned = True
                    from headwater.redaction import redact

                    self._print(f"headwater: could not record run history: {redact(str(exc))}\n")
            if logs:
                self._console(logs)

    def _console(self, logs: list[tuple[Any, ...]]) -> None:
        level = self._console_level
        if level is None:
            from headwater.settings import get_settings

            level = self._console_level = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}[
                get_settings().logging_level
            ]
        from headwater.redaction import redact

        lines = []
        cache_sec, cache_txt = self._time_cache
        for _flow_id, task_id, ts, lvl, name, message, _console in logs:
            if lvl < level or not _console:  # 0: store only, 1: console and store, 2: console only
                continue
            sec = int(ts)
            if sec != cache_sec:
                cache_sec, cache_txt = sec, time.strftime("%H:%M:%S", time.localtime(sec))
            kind = "Task" if task_id else "Flow"
            lines.append(f"{cache_txt} {_LEVEL_NAMES.get(lvl, lvl)} | {kind} {name!r} - {message}\n")
        self._time_cache = (cache_sec, cache_txt)
        if lines:
            self._print(redact("".join(lines)))

    # -- console ----------------------------------------------------------------------------

    def _print(self, text: str) -> None:
        """Hand ``text`` to the console thread (started on first use); never blocks."""
        with self._console_cv:
            self._console_lines.append(text)
            self._console_queued += 1
            self._console_chars += len(text)
            while self._console_chars > _CONSOLE_BACKLOG and len(self._console_lines) > 1:
                old = self._console_lines.popleft()
                self._console_chars -= len(old)
                self._console_written += 1
                self._console_dropped += old.count("\n")
            if self._console_thread is None:
                self._console_thread = threading.Thread(
                    target=self._console_loop, name="headwater-console", daemon=True
                )
                self._console_thread.start()
            self._console_cv.notify_all()

    def _console_loop(self) -> None:
        cv = self._console_cv
        while True:
            with cv:
                while not self._console_lines:
                    cv.wait()
                texts = list(self._console_lines)
                self._console_lines.clear()
                self._console_chars = 0
                dropped, self._console_dropped = self._console_dropped, 0
            if dropped:
                texts.insert(0, f"headwater: {dropped} console line(s) were not printed while the console took no "
                                "output; the run history has every log line (headwater runs logs)\n")
            try:
                stream = sys.stderr
                stream.write("".join(texts))
                stream.flush()
            except Exception:  # a closed or replaced stderr: the lines are in the run history
                pass
            with cv:
                self._console_written += len(texts) - (1 if dropped else 0)
                cv.notify_all()

    def _wait_console(self) -> None:
        """Wait until every console line queued so far is printed (the console thread is alive)."""
        with self._console_cv:
            target = self._console_queued
            thread = self._console_thread
            while self._console_written < target and thread is not None and thread.is_alive():
                self._console_cv.wait(0.5)

    def _store(
        self, flows: dict[str, Any], tasks: dict[str, Any], logs: list[Any], edges: list[Any], events: list[Any]
    ) -> None:
        from headwater.events.emit import state_event_rows
        from headwater.redaction import redact
        from headwater.store.engine import db_write

        host, pid = host_name(), os.getpid()
        flow_rows = []
        for (id_, name, flow_name, parent_fr, parent_tr, stype, sname, message, params, tags, run_count, created,
             started, ended, transitions) in flows.values():
            flow_rows.append((
                id_, redact(name), flow_name, parent_fr, parent_tr, stype, sname, redact(message) if message else None,
                encode_parameters(params), json.dumps(list(tags)) if tags else None, run_count, created, started,
                ended, pid, host, time.time(), _transitions(transitions),
            ))
        task_rows = []
        for tr in tasks.values():
            transitions = tuple(tr.transitions)
            message, params, tags, metadata = tr.message, tr.hparams, tr.tags, tr.metadata
            task_rows.append((
                tr.id, tr.flow_run_id, redact(tr.name), tr.task_key, tr.state_type, tr.state_name,
                redact(message) if message else None, encode_parameters(params) if params else None,
                json.dumps(list(tags)) if tags else None, tr.run_count,
                transitions[0][1] if transitions else (tr.started or time.time()), tr.started, tr.ended, tr.cache_key,
                redact(json.dumps(metadata, default=_json_default)) if metadata else None, _transitions(transitions),
            ))
        log_rows = [(f, t, ts, lvl, redact(name), redact(msg)) for f, t, ts, lvl, name, msg, keep in logs if keep != 2]
        event_rows = state_event_rows(flows, tasks, self._emitted) if self._state_events else []
        event_rows += [(i, ts, ev, rid, redact(json.dumps(res)), redact(json.dumps(rel)) if rel else None,
                        redact(body) if body else None) for i, ts, ev, rid, res, rel, body in events]
        if len(event_rows) > 1:
            event_rows.sort(key=lambda row: row[1])  # sequence numbers follow time within a batch
        now = time.time()
        # any event of a live flow run renews its heartbeat: a killed run's end is its last sign of life
        alive = [i for i in list(self.active_flow_runs) if i not in flows] if task_rows or log_rows else []
        with db_write() as tx:
            for id_ in alive:
                tx.execute("UPDATE flow_runs SET heartbeat = :now WHERE id = :id", {"now": now, "id": id_})
            style = "qmark" if tx.dialect == "sqlite" else "named"
            for columns, rows, sql in (
                (FLOW_COLUMNS, flow_rows, _upsert("flow_runs", FLOW_COLUMNS, style)),
                (TASK_COLUMNS, task_rows, _upsert("task_runs", TASK_COLUMNS, style)),
                (_LOG_COLUMNS, log_rows, _insert("run_logs", _LOG_COLUMNS, style)),
                (_EDGE_COLUMNS, edges, _insert("run_edges", _EDGE_COLUMNS, style, ignore=True)),
                (_EVENT_COLUMNS, event_rows, _insert("events", _EVENT_COLUMNS, style, ignore=True)),
            ):
                if not rows:
                    continue
                if style == "named":
                    rows = [dict(zip(columns, r, strict=True)) for r in rows]
                tx.executemany(sql, rows)

    def _heartbeat(self, now: float) -> None:
        self._last_heartbeat = now
        ids = list(self.active_flow_runs)
        if not ids:
            return
        try:
            from headwater.store.engine import db_write

            with db_write() as tx:
                for id_ in ids:
                    tx.execute("UPDATE flow_runs SET heartbeat = :now WHERE id = :id", {"now": now, "id": id_})
        except Exception:
            pass


_PLAIN = ("Pending", "Running", "Completed")


def _transitions(transitions: Any) -> str | None:
    """JSON of the transitions, or None for the usual Pending -> Running [-> Completed] (the
    reader rebuilds those from created/started/ended: most task runs store nothing here)."""
    if not transitions or (len(transitions) <= 3 and all(t[0] == p for t, p in zip(transitions, _PLAIN, strict=False))):
        return None
    return "[" + ",".join([f'["{name}",{ts:.3f}]' for name, ts in transitions]) + "]"


_writer: HistoryWriter | None = None
_lock = threading.Lock()


def get_writer() -> HistoryWriter:
    """The process's history writer (started on first use)."""
    global _writer
    w = _writer
    if w is None:
        with _lock:
            if _writer is None:
                _writer = HistoryWriter()
            w = _writer
    return w


def flush() -> None:
    """Write every queued history event now (no-op when nothing was recorded)."""
    if _writer is not None:
        _writer.drain()


@atexit.register
def _at_exit() -> None:
    global _writer
    if _writer is not None:
        w, _writer = _writer, None
        w.stop()


@_state.on_reset
def _on_reset() -> None:
    _at_exit()


def _after_fork() -> None:
    global _writer
    _writer = None


os.register_at_fork(after_in_child=_after_fork)
