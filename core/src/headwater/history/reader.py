"""Reading run history: flow runs, their task runs and logs; crash detection; retention.

Readers first settle runs whose process is gone: a flow run still marked Running whose
process no longer exists on this host (a stopped or busy process is alive and is left alone),
or, for a run of another host, whose heartbeat lease has expired, is recorded as Crashed (with
its unfinished task runs), ending at its last sign of life.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

from headwater.errors import HeadwaterError
from headwater.history.retention import delete_flow_runs, enforce_cap
from headwater.history.writer import HEARTBEAT_SECONDS, flush, host_name
from headwater.settings import DEFAULT_HISTORY_MAX_FLOW_RUNS
from headwater.store.engine import db_read, db_write

__all__ = [
    "DEFAULT_MAX_FLOW_RUNS",
    "RunNotFoundError",
    "enforce_cap",
    "get_flow_run",
    "list_flow_runs",
    "list_logs",
    "list_task_runs",
    "parse_age",
    "prune",
    "settle_crashed",
]

# The lease of a run on another host: its process renews the heartbeat every HEARTBEAT_SECONDS
# from the history thread (not behind console output); this is long enough to survive a busy
# or briefly stopped process. Runs on this host are judged by their process alone.
STALE_SECONDS = max(300.0, HEARTBEAT_SECONDS * 60)
DEFAULT_MAX_FLOW_RUNS = DEFAULT_HISTORY_MAX_FLOW_RUNS  # the caps' defaults live with the other settings
_UNFINISHED = ("PENDING", "RUNNING", "SCHEDULED")


class RunNotFoundError(HeadwaterError, LookupError):
    """No run with that id (or id prefix)."""


def _pid_alive(pid: int, since: float | None = None) -> bool:
    """Whether process ``pid`` runs; with ``since``, also that it started no later than that
    time (a process that started after the run was created only reuses the run's pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return True
    if fields[0] == "Z":  # a zombie (killed, not yet reaped by its parent) is not running
        return False
    boot = _boot_time()
    if since is not None and boot is not None:
        started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return started <= since + 60.0  # slack: whole-second btime, and a wall clock set forward since
    return True


_boot: list[float | None] = []


def _boot_time() -> float | None:
    if not _boot:
        try:
            with open("/proc/stat") as fh:
                _boot.append(next(float(line.split()[1]) for line in fh if line.startswith("btime ")))
        except (OSError, StopIteration, ValueError):
            _boot.append(None)
    return _boot[0]


def settle_crashed(now: float | None = None) -> int:
    """Mark flow runs whose process is gone as Crashed; returns how many were marked."""
    now = time.time() if now is None else now
    flush()
    with db_read() as tx:
        rows = tx.execute(
            "SELECT id, pid, host, heartbeat, created, started FROM flow_runs "
            "WHERE state_type IN ('PENDING', 'RUNNING', 'SCHEDULED', 'PAUSED')"
        )
    me = host_name()
    dead = []
    for r in rows:
        if r.host == me and r.pid is not None:
            gone = not _pid_alive(r.pid, r.created)  # alive here: never Crashed, however long it is silent
        else:
            gone = r.heartbeat is None or r.heartbeat < now - STALE_SECONDS
        if gone:
            dead.append(r)
    if not dead:
        return 0
    with db_write() as tx:
        for r in dead:
            ended = _last_sign_of_life(tx, r)
            msg = (
                f"the flow run's process (pid {r.pid} on {r.host}) stopped without finishing the run: "
                "it was killed or crashed"
            )
            tx.execute(
                "UPDATE flow_runs SET state_type = 'CRASHED', state = 'Crashed', message = :m, "
                "ended = COALESCE(ended, :ended) WHERE id = :id AND state_type IN ('PENDING', 'RUNNING', "
                "'SCHEDULED', 'PAUSED')",
                {"m": msg, "id": r.id, "ended": ended},
            )
            tx.execute(
                "UPDATE task_runs SET state_type = 'CRASHED', state = 'Crashed', message = :m, "
                "ended = COALESCE(ended, :ended) "
                "WHERE flow_run_id = :id AND state_type IN ('PENDING', 'RUNNING', 'SCHEDULED', 'PAUSED')",
                {"m": "the flow run's process stopped while this task run was unfinished", "id": r.id, "ended": ended},
            )
    return len(dead)


def _last_sign_of_life(tx: Any, r: Any) -> float | None:
    """When a dead run was last seen alive: its last heartbeat, or a later task run or log line."""
    times = [r.heartbeat, r.started]
    for sql in ("SELECT MAX(ended) AS t FROM task_runs WHERE flow_run_id = :id",
                "SELECT MAX(started) AS t FROM task_runs WHERE flow_run_id = :id",
                "SELECT MAX(ts) AS t FROM run_logs WHERE flow_run_id = :id"):
        times.append(tx.scalar(sql, {"id": r.id}))
    known = [float(t) for t in times if t is not None]
    return max(known) if known else None


def _duration(started: float | None, ended: float | None) -> float | None:
    if started is None or ended is None:
        return None
    return round(ended - started, 6)


def _flow_dict(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "flow_name": r.flow_name,
        "state": r.state,
        "state_type": r.state_type,
        "message": r.message,
        "parameters": json.loads(r.parameters) if r.parameters else {},
        "tags": json.loads(r.tags) if r.tags else [],
        "run_count": r.run_count,
        "parent_flow_run_id": r.parent_flow_run_id,
        "started": r.started,
        "ended": r.ended,
        "duration": _duration(r.started, r.ended),
        "pid": r.pid,
        "host": r.host,
        "transitions": json.loads(r.transitions) if r.transitions else _plain_transitions(r),
        # set for runs of deployments (orchestration's migration adds the columns)
        "deployment": r.get("deployment"),
        "scheduled_time": r.get("scheduled_time"),
        "worker": r.get("worker"),
        "work_pool": r.get("work_pool"),
    }


def list_flow_runs(limit: int = 20, flow_name: str | None = None, state: str | None = None,
                   parent_id: str | None = None, deployment: str | None = None) -> list[dict[str, Any]]:
    """The newest flow runs first, with their task-run counts (``parent_id``: its subflow runs;
    ``deployment``: runs of that deployment, ``flow/name``)."""
    settle_crashed()
    where, params = [], {"limit": int(limit)}
    if deployment:
        where.append("deployment = :deployment")
        params["deployment"] = deployment
    if parent_id:
        where.append("parent_flow_run_id = :parent")
        params["parent"] = parent_id
    if flow_name:
        where.append("flow_name = :flow")
        params["flow"] = flow_name
    if state:
        where.append("LOWER(state) = :state")
        params["state"] = state.lower()
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    with db_read() as tx:
        rows = tx.execute(f"SELECT * FROM flow_runs {clause} ORDER BY created DESC LIMIT :limit", params)
        out = []
        for r in rows:
            d = _flow_dict(r)
            d["task_runs"] = tx.scalar("SELECT COUNT(*) AS n FROM task_runs WHERE flow_run_id = :id", {"id": r.id})
            out.append(d)
    return out


def get_flow_run(id_or_prefix: str) -> dict[str, Any]:
    """One flow run by id or unique id prefix.

    Raises:
        RunNotFoundError: No flow run matches, or the prefix is ambiguous.
    """
    settle_crashed()
    key = id_or_prefix.strip()
    with db_read() as tx:
        rows = tx.execute("SELECT * FROM flow_runs WHERE id = :id", {"id": key})
        if not rows and key:
            # ids are lower-case hex; % and _ in what was typed are characters, not LIKE wildcards
            like = key.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            rows = tx.execute(
                "SELECT * FROM flow_runs WHERE id LIKE :p ESCAPE '\\' ORDER BY created DESC LIMIT 2", {"p": like + "%"}
            )
    if not rows:
        raise RunNotFoundError(f"no flow run with id {key!r}: see `headwater runs ls` for run ids")
    if len(rows) > 1:
        raise RunNotFoundError(f"flow run id prefix {key!r} is ambiguous: give more characters of the id")
    return _flow_dict(rows[0])


def list_task_runs(flow_run_id: str | None) -> list[dict[str, Any]]:
    """Task runs of a flow run in start order (``None``: standalone task runs), with upstream ids."""
    with db_read() as tx:
        if flow_run_id is None:
            rows = tx.execute("SELECT * FROM task_runs WHERE flow_run_id IS NULL ORDER BY created")
            edges = []
        else:
            rows = tx.execute("SELECT * FROM task_runs WHERE flow_run_id = :id ORDER BY created", {"id": flow_run_id})
            edges = tx.execute("SELECT upstream_id, downstream_id FROM run_edges WHERE flow_run_id = :id",
                               {"id": flow_run_id})
    upstream: dict[str, list[str]] = {}
    for e in edges:
        upstream.setdefault(e.downstream_id, []).append(e.upstream_id)
    return [
        {
            "id": r.id,
            "name": r.name,
            "task_key": r.task_key,
            "state": r.state,
            "state_type": r.state_type,
            "message": r.message,
            "run_count": r.run_count,
            "started": r.started,
            "ended": r.ended,
            "duration": _duration(r.started, r.ended),
            "tags": json.loads(r.tags) if r.tags else [],
            "parameters": json.loads(r.parameters) if r.parameters else None,
            "metadata": json.loads(r.metadata) if r.metadata else None,
            "cache_key": r.cache_key,
            "upstream": upstream.get(r.id, []),
            "transitions": json.loads(r.transitions) if r.transitions else _plain_transitions(r),
        }
        for r in rows
    ]


def _plain_transitions(r: Any) -> list[list[Any]]:
    out: list[list[Any]] = [["Pending", r.created]]
    if r.started is not None:
        out.append(["Running", r.started])
    if r.ended is not None:
        out.append([r.state, r.ended])
    return out


def list_logs(flow_run_id: str, after_id: int | None = None) -> list[dict[str, Any]]:
    """Log lines of a flow run and its task runs, oldest first (``after_id``: only lines
    recorded after that line's ``id``, for following a run)."""
    flush()
    where, params = "flow_run_id = :id", {"id": flow_run_id}
    if after_id is not None:
        where += " AND id > :after"
        params["after"] = after_id
    with db_read() as tx:
        rows = tx.execute(
            f"SELECT id, task_run_id, ts, level, logger, message FROM run_logs WHERE {where} ORDER BY ts, id", params,
        )
    return [dict(r) for r in rows]


def parse_age(text: str) -> float:
    """``30d``, ``12h``, ``45m``, ``90s``, ``2w`` -> seconds.

    Raises:
        HeadwaterError: The text is not a duration.
    """
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    t = text.strip().lower()
    try:
        seconds = float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t) * 86400
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:  # -1d would prune every finished run, nan none
        raise HeadwaterError(f"{text!r} is not a duration: use a number (0 or more) with s, m, h, d or w, e.g. 30d")
    return seconds


def prune(older_than_seconds: float, dry_run: bool = False) -> dict[str, int]:
    """Delete finished runs (and their task runs, logs, edges) that ended before now - ``older_than_seconds``
    (``dry_run``: only count them)."""
    flush()
    cutoff = time.time() - older_than_seconds
    with db_write() as tx:
        ids = [r.id for r in tx.execute(
            "SELECT id FROM flow_runs WHERE created < :c AND state_type NOT IN ('PENDING', 'RUNNING', 'SCHEDULED')",
            {"c": cutoff},
        )]
        n_tasks = 0
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ", ".join(f":i{n}" for n in range(len(chunk)))
            n_tasks += int(tx.scalar(f"SELECT COUNT(*) AS n FROM task_runs WHERE flow_run_id IN ({marks})",
                                     {f"i{n}": v for n, v in enumerate(chunk)}) or 0)
        standalone = int(tx.scalar("SELECT COUNT(*) AS n FROM task_runs WHERE flow_run_id IS NULL AND created < :c",
                                   {"c": cutoff}) or 0)
        if dry_run:
            return {"flow_runs": len(ids), "task_runs": n_tasks + standalone}
        delete_flow_runs(tx, ids)
        tx.execute("DELETE FROM run_logs WHERE flow_run_id IS NULL AND ts < :c", {"c": cutoff})
        tx.execute("DELETE FROM task_runs WHERE flow_run_id IS NULL AND created < :c", {"c": cutoff})
    return {"flow_runs": len(ids), "task_runs": n_tasks + standalone}
