"""The scheduler: turns deployments' schedules into queued runs ahead of time.

Any number of schedulers may run at once (inside ``serve``, inside workers, or
``headwater scheduler``): each run is keyed by its schedule and instant, and inserting an
existing key does nothing, so the same run is never created twice. Each schedule remembers
how far ahead it was scheduled, so a tick only computes new instants.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["Scheduler", "SchedulerSettings", "backfill", "auto_key"]


@dataclass
class SchedulerSettings:
    """How far ahead runs are created: at least ``min_runs`` and ``horizon_seconds`` ahead,
    at most ``max_runs`` per schedule and ``max_days`` ahead (Prefect's defaults)."""

    horizon_seconds: float = 3600.0
    min_runs: int = 3
    max_runs: int = 100
    max_days: float = 100.0
    late_after_seconds: float = 15.0
    refill_fraction: float = 0.9  # a schedule is topped up once less than this part of the horizon is left

    @classmethod
    def from_env(cls) -> SchedulerSettings:
        env = os.environ
        return cls(
            horizon_seconds=float(env.get("HEADWATER_SCHEDULER_HORIZON_SECONDS", 3600)),
            min_runs=int(env.get("HEADWATER_SCHEDULER_MIN_RUNS", 3)),
            max_runs=int(env.get("HEADWATER_SCHEDULER_MAX_RUNS", 100)),
            max_days=float(env.get("HEADWATER_SCHEDULER_MAX_DAYS", 100)),
            late_after_seconds=float(env.get("HEADWATER_LATE_AFTER_SECONDS", 15)),
        )


def auto_key(schedule_id: str, ts: float) -> str:
    return f"{schedule_id[:8]}:{ts:.3f}"


class Scheduler:
    """Creates the runs of active schedules of unpaused deployments (optionally only some)."""

    def __init__(self, settings: SchedulerSettings | None = None, deployment_ids: list[str] | None = None) -> None:
        self.settings = settings or SchedulerSettings.from_env()
        self.deployment_ids = deployment_ids
        self._stop = threading.Event()

    def tick(self, now: float | None = None) -> int:
        """Create the runs now due to be created; returns how many rows were inserted (or skipped as existing)."""
        from headwater.store.engine import db_read, db_write

        now = time.time() if now is None else now
        s = self.settings
        want_until = now + s.horizon_seconds
        with db_read() as tx:
            sql = (
                "SELECT sc.id, sc.deployment_id, sc.schedule, sc.scheduled_until, d.flow_name, d.name, d.parameters, "
                "d.tags, d.work_pool, d.crash_retries FROM deployment_schedules sc JOIN deployments d "
                "ON d.id = sc.deployment_id WHERE sc.active = 1 AND d.paused = 0 "
                "AND (sc.scheduled_until IS NULL OR sc.scheduled_until < :refill)"
            )
            params: dict[str, Any] = {"refill": now + s.horizon_seconds * s.refill_fraction}
            if self.deployment_ids is not None:
                if not self.deployment_ids:
                    return 0
                marks = ", ".join(f":d{i}" for i in range(len(self.deployment_ids)))
                sql += f" AND sc.deployment_id IN ({marks})"
                params.update({f"d{i}": d for i, d in enumerate(self.deployment_ids)})
            rows = tx.execute(sql, params)
        if not rows:
            return 0
        from headwater.orchestration.schedules import schedule_from_dict

        inserts: list[dict[str, Any]] = []
        untils: list[dict[str, Any]] = []
        for r in rows:
            sched = schedule_from_dict(json.loads(r.schedule))
            start = max(now, r.scheduled_until or 0.0)
            dates = sched.dates(start, want_until, limit=s.max_runs)
            if r.scheduled_until is None and len(dates) < s.min_runs:
                dates = sched.dates(now, now + s.max_days * 86400, limit=s.min_runs)
            until = max([want_until if len(dates) < s.max_runs else 0.0, *(dates[-1:] or [])])
            untils.append({"id": r.id, "u": until})
            base = json.loads(r.parameters) if r.parameters else {}
            merged = json.dumps({**base, **sched.parameters})
            tags = r.tags or "[]"
            for ts in dates:
                run_id = os.urandom(16).hex()
                from headwater.orchestration.queue import _name

                inserts.append(
                    {
                        "id": run_id,
                        "deployment_id": r.deployment_id,
                        "deployment": f"{r.flow_name}/{r.name}",
                        "flow_name": r.flow_name,
                        "name": _name(run_id),
                        "auto_key": auto_key(r.id, ts),
                        "scheduled_time": ts,
                        "state_type": "SCHEDULED",
                        "state": "Scheduled",
                        "parameters": merged,
                        "tags": tags,
                        "work_pool": r.work_pool,
                        "crash_retries_left": int(r.crash_retries),
                        "created": now,
                    }
                )
        with db_write() as tx:
            if inserts:
                cols = list(inserts[0])
                sql = (
                    f"INSERT INTO scheduled_runs ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)}) "
                    "ON CONFLICT DO NOTHING"
                )
                if tx.dialect == "sqlite":
                    sql = sql.replace("INSERT INTO", "INSERT OR IGNORE INTO").replace(" ON CONFLICT DO NOTHING", "")
                tx.executemany(sql, inserts)
            tx.executemany("UPDATE deployment_schedules SET scheduled_until = :u WHERE id = :id", untils)
        return len(inserts)

    def run(self, interval: float = 10.0, on_tick: Any = None) -> None:
        """Tick every ``interval`` seconds (marking late runs too) until :meth:`stop`."""
        from headwater.orchestration.queue import mark_late, reap_expired

        while not self._stop.is_set():
            try:
                self.tick()
                mark_late(self.settings.late_after_seconds)
                reap_expired()
            except Exception as exc:  # a store hiccup must not end a long-running scheduler
                from headwater.redaction import redact

                print(f"headwater scheduler: {redact(str(exc))}", flush=True)
            if on_tick is not None:
                on_tick()
            self._stop.wait(interval)

    def stop(self) -> None:
        self._stop.set()


def backfill(name: str, start: float, end: float, limit: int = 10000) -> int:
    """Create the runs a deployment's active schedules would have made between ``start`` and
    ``end`` (idempotent: runs that exist are kept). Returns how many runs were created."""
    from headwater.orchestration.deployments import get_deployment
    from headwater.orchestration.errors import DeploymentError
    from headwater.store.engine import db_write

    dep = get_deployment(name)
    if end <= start:
        raise DeploymentError("backfill needs --from earlier than --to")
    if not dep.schedules:
        raise DeploymentError(f"deployment {dep.full_name} has no schedules to backfill")
    created = 0
    from headwater.orchestration.queue import create_run

    with db_write() as tx:
        for sid, sched, active in zip(dep.schedule_ids, dep.schedules, dep.schedule_active, strict=True):
            if not active:
                continue
            for ts in sched.dates(start - 1e-6, end, limit=limit):
                before = tx.scalar(
                    "SELECT COUNT(*) FROM scheduled_runs WHERE deployment_id = :d AND auto_key = :k",
                    {"d": dep.id, "k": auto_key(sid, ts)},
                )
                if not before:
                    create_run(dep, sched.parameters, ts, auto_key(sid, ts), tx=tx)
                    created += 1
    return created
