"""A deployment's runs in the store: creating, claiming, leasing, finishing, cancelling them.

Claims are atomic: on SQLite the claim is one ``BEGIN IMMEDIATE`` transaction (one writer at
a time, one host); on PostgreSQL candidate rows are taken with ``FOR UPDATE SKIP LOCKED`` so
that workers on many hosts never claim the same run, and when a concurrency limit applies the
pool's claims are serialised with a transaction-scoped advisory lock so that counting and
claiming are one step. A claimed run holds a lease its worker renews; a run whose lease
expires (its worker died) is marked Crashed, or scheduled again when its deployment asks for
crashed runs to be retried.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from typing import Any

from headwater.orchestration.errors import DeploymentError

__all__ = [
    "ACTIVE",
    "cancel_run",
    "claim_runs",
    "create_run",
    "finish_run",
    "get_run",
    "mark_late",
    "reap_expired",
    "renew_leases",
]

ACTIVE = ("PENDING", "RUNNING")
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
_ADJ = ("amber", "brisk", "calm", "eager", "gentle", "keen", "lucky", "mellow", "proud", "quiet", "rapid", "tidy")
_NOUN = ("otter", "heron", "falcon", "lynx", "osprey", "salmon", "trout", "kestrel", "wren", "ibis", "pike", "vole")


def _name(run_id: str) -> str:
    n = int(run_id[:8], 16)
    return f"{_ADJ[n % len(_ADJ)]}-{_NOUN[(n // 16) % len(_NOUN)]}-{run_id[:4]}"


def create_run(
    dep: Any,
    parameters: dict[str, Any] | None = None,
    scheduled_time: float | None = None,
    auto_key: str | None = None,
    tx: Any = None,
    tags: list[str] | None = None,
) -> str | None:
    """Queue one run of a saved deployment; returns its id (None when ``auto_key`` already exists)."""
    from headwater.store.engine import db_write

    run_id = os.urandom(16).hex()
    now = time.time()
    row = {
        "id": run_id,
        "deployment_id": dep.id,
        "deployment": dep.full_name,
        "flow_name": dep.flow_name,
        "name": _name(run_id),
        "auto_key": auto_key,
        "scheduled_time": now if scheduled_time is None else scheduled_time,
        "state_type": "SCHEDULED",
        "state": "Scheduled",
        "parameters": json.dumps({**dep.parameters, **(parameters or {})}),
        "tags": json.dumps(sorted({*dep.tags, *(tags or [])})),
        "work_pool": dep.work_pool_name,
        "crash_retries_left": int(dep.crash_retries),
        "created": now,
    }
    cols = ", ".join(row)
    marks = ", ".join(f":{c}" for c in row)
    sql = f"INSERT INTO scheduled_runs ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING"
    if tx is not None:
        tx.execute(sql, row)
        if tx.execute("SELECT id FROM scheduled_runs WHERE id = :id", {"id": run_id}):
            _run_created_event(dep, row)
        return run_id
    with db_write() as t:
        t.execute(sql, row)
        created = t.execute("SELECT id FROM scheduled_runs WHERE id = :id", {"id": run_id})
        if created:
            from headwater.orchestration.wakeup import notify

            notify(t)
    if created:
        _run_created_event(dep, row)
        _wake_after_commit()
    return run_id if created else None


def _run_created_event(dep: Any, row: dict[str, Any]) -> None:
    """Record ``headwater.deployment.run-created`` (queued; written by the history writer)."""
    try:
        from headwater.events.emit import emit_event

        emit_event(
            "headwater.deployment.run-created",
            resource={"headwater.resource.id": f"headwater.deployment.{dep.id}",
                      "headwater.resource.name": dep.full_name},
            related=[{"headwater.resource.id": f"headwater.flow-run.{row['id']}", "headwater.resource.role": "flow-run",
                      "headwater.resource.name": row["name"]},
                     {"headwater.resource.id": f"headwater.flow.{dep.flow_name}", "headwater.resource.role": "flow",
                      "headwater.resource.name": dep.flow_name}],
            payload={"scheduled_time": row["scheduled_time"], "auto_key": row["auto_key"]},
        )
    except Exception:  # noqa: BLE001  (the event log must not fail the run it describes)
        pass


def _wake_after_commit() -> None:
    from headwater.orchestration.wakeup import wake_local

    try:
        wake_local()
    except Exception:
        pass


def get_run(run_id: str) -> dict[str, Any]:
    """A queued or finished deployment run by id or unique id prefix."""
    from headwater.store.engine import db_read

    key = run_id.strip().lower()
    with db_read() as tx:
        rows = tx.execute("SELECT * FROM scheduled_runs WHERE id = :id", {"id": key})
        if not rows and key.isalnum():
            rows = tx.execute("SELECT * FROM scheduled_runs WHERE id LIKE :p LIMIT 2", {"p": key + "%"})
    if len(rows) != 1:
        from headwater.history.reader import RunNotFoundError

        raise RunNotFoundError(f"no deployment run with id {run_id!r}: see `headwater runs ls`")
    return dict(rows[0])


def _limits(tx: Any) -> dict[str, int]:
    return {
        r.tag: int(r.concurrency_limit) for r in tx.execute("SELECT tag, concurrency_limit FROM concurrency_limits")
    }


def claim_runs(
    worker: str,
    max_runs: int,
    *,
    pool: str | None = None,
    deployment_ids: list[str] | None = None,
    lease_seconds: float = 30.0,
    ahead_seconds: float = 0.0,
) -> list[dict[str, Any]]:
    """Atomically take up to ``max_runs`` due runs (due within ``ahead_seconds``) of a pool or of
    the given deployments, respecting pool, deployment and tag concurrency limits."""
    from headwater.store.engine import db_write

    if max_runs <= 0:
        return []
    now = time.time()
    claimed: list[dict[str, Any]] = []
    with db_write() as tx:
        pg = tx.dialect == "postgresql"
        pool_limit = None
        if pool is not None:
            p = tx.execute("SELECT concurrency_limit, paused FROM work_pools WHERE name = :p", {"p": pool})
            if not p or p[0].paused:
                return []
            pool_limit = p[0].concurrency_limit
        tag_limits = _limits(tx)
        where = ["s.state_type = 'SCHEDULED'", "s.scheduled_time <= :due", "d.paused = 0"]
        params: dict[str, Any] = {"due": now + ahead_seconds, "n": max(max_runs * 4, 16)}
        if pool is not None:
            where.append("s.work_pool = :pool")
            params["pool"] = pool
        else:
            marks = ", ".join(f":d{i}" for i in range(len(deployment_ids or [])))
            if not marks:
                return []
            where.append(f"s.deployment_id IN ({marks})")
            params.update({f"d{i}": d for i, d in enumerate(deployment_ids or [])})
        if pg and (pool_limit is not None or tag_limits or _has_deployment_limits(tx, pool, deployment_ids)):
            key = zlib.crc32((pool or ",".join(sorted(deployment_ids or []))).encode()) if not tag_limits else 0
            tx.execute("SELECT pg_advisory_xact_lock(4242100, :k)", {"k": key - (1 << 31)})
        lock = " FOR UPDATE OF s SKIP LOCKED" if pg else ""
        rows = tx.execute(
            "SELECT s.*, d.entrypoint, d.source, d.concurrency_limit AS dep_limit, d.collision_strategy, "
            "d.job_variables FROM scheduled_runs s JOIN deployments d ON d.id = s.deployment_id "
            f"WHERE {' AND '.join(where)} ORDER BY s.scheduled_time LIMIT :n{lock}",
            params,
        )
        if not rows:
            return []
        active_pool = active_tags = None
        dep_active: dict[str, int] = {}
        if pool_limit is not None:
            active_pool = int(
                tx.scalar(
                    "SELECT COUNT(*) FROM scheduled_runs WHERE work_pool = :p AND state_type IN ('PENDING', 'RUNNING')",
                    {"p": pool},
                )
                or 0
            )
        if tag_limits:
            active_tags = {}
            for r in tx.execute("SELECT tags FROM scheduled_runs WHERE state_type IN ('PENDING', 'RUNNING')"):
                for t in json.loads(r.tags or "[]"):
                    active_tags[t] = active_tags.get(t, 0) + 1
        for r in rows:
            if len(claimed) >= max_runs or (pool_limit is not None and active_pool >= pool_limit):
                break
            if r.dep_limit is not None:
                if r.deployment_id not in dep_active:
                    dep_active[r.deployment_id] = int(
                        tx.scalar(
                            "SELECT COUNT(*) FROM scheduled_runs WHERE deployment_id = :d "
                            "AND state_type IN ('PENDING', 'RUNNING')",
                            {"d": r.deployment_id},
                        )
                        or 0
                    )
                if dep_active[r.deployment_id] >= r.dep_limit:
                    if r.collision_strategy == "CANCEL_NEW":
                        _set_final(
                            tx,
                            r.id,
                            "CANCELLED",
                            "Cancelled",
                            now,
                            f"deployment {r.deployment} already has {r.dep_limit} run(s) running "
                            f"(concurrency limit, collision strategy CANCEL_NEW)",
                        )
                    elif r.state != "AwaitingConcurrencySlot":
                        tx.execute(
                            "UPDATE scheduled_runs SET state = 'AwaitingConcurrencySlot' WHERE id = :id", {"id": r.id}
                        )
                    continue
            tags = json.loads(r.tags or "[]")
            if active_tags is not None and any(
                t in tag_limits and active_tags.get(t, 0) >= tag_limits[t] for t in tags
            ):
                continue
            tx.execute(
                "UPDATE scheduled_runs SET state_type = 'PENDING', state = 'Pending', worker = :w, host = :h, "
                "lease_until = :l, attempts = attempts + 1, message = NULL WHERE id = :id AND state_type = 'SCHEDULED'",
                {"w": worker, "h": _host(), "l": now + lease_seconds, "id": r.id},
            )
            d = dict(r)
            d["parameters"] = json.loads(r.parameters or "{}")
            d["source"] = json.loads(r.source) if r.source else None
            d["job_variables"] = json.loads(r.job_variables) if r.job_variables else {}
            d["tags"] = tags
            claimed.append(d)
            if active_pool is not None:
                active_pool += 1
            if r.dep_limit is not None:
                dep_active[r.deployment_id] += 1
            if active_tags is not None:
                for t in tags:
                    active_tags[t] = active_tags.get(t, 0) + 1
    return claimed


def _has_deployment_limits(tx: Any, pool: str | None, deployment_ids: list[str] | None) -> bool:
    if pool is not None:
        return bool(
            tx.execute(
                "SELECT id FROM deployments WHERE work_pool = :p AND concurrency_limit IS NOT NULL LIMIT 1", {"p": pool}
            )
        )
    return True


def _host() -> str:
    from headwater.history.writer import host_name

    return host_name()


def _set_final(tx: Any, run_id: str, state_type: str, state: str, now: float, message: str | None) -> None:
    tx.execute(
        "UPDATE scheduled_runs SET state_type = :t, state = :s, ended = :now, message = :m, lease_until = NULL "
        "WHERE id = :id",
        {"t": state_type, "s": state, "now": now, "m": message, "id": run_id},
    )


def mark_started(run_id: str, worker: str, pid: int, then: Any = None) -> bool:
    """The run's process is about to call the flow; False when the claim was lost.

    ``then(tx)`` runs in the same transaction when the claim holds (one commit, not two).
    """
    from headwater.store.engine import db_write

    with db_write() as tx:
        rows = tx.execute(
            "UPDATE scheduled_runs SET state_type = 'RUNNING', state = 'Running', started = :t, pid = :pid "
            "WHERE id = :id AND worker = :w AND state_type = 'PENDING' AND cancel_requested = 0 RETURNING id",
            {"t": time.time(), "pid": pid, "id": run_id, "w": worker},
        )
        if rows and then is not None:
            then(tx)
    return bool(rows)


def finish_run(run_id: str, worker: str, state_type: str, state: str, message: str | None = None) -> bool:
    """Record a claimed run's final state; False when the claim was lost (lease expired)."""
    from headwater.store.engine import db_write

    with db_write() as tx:
        rows = tx.execute(
            "UPDATE scheduled_runs SET state_type = :t, state = :s, ended = :now, message = :m, lease_until = NULL "
            "WHERE id = :id AND worker = :w AND state_type IN ('PENDING', 'RUNNING') RETURNING id",
            {"t": state_type, "s": state, "now": time.time(), "m": message, "id": run_id, "w": worker},
        )
        if rows:
            from headwater.orchestration.wakeup import notify

            notify(tx)  # a slot was freed
    if rows:
        _wake_after_commit()
    return bool(rows)


def renew_leases(worker: str, run_ids: list[str], lease_seconds: float) -> set[str]:
    """Extend the leases of a worker's runs; returns the ids whose cancellation was requested."""
    from headwater.store.engine import db_write

    if not run_ids:
        return set()
    marks = ", ".join(f":i{n}" for n in range(len(run_ids)))
    params = {f"i{n}": v for n, v in enumerate(run_ids)}
    with db_write() as tx:
        tx.execute(
            f"UPDATE scheduled_runs SET lease_until = :l WHERE worker = :w AND id IN ({marks}) "
            "AND state_type IN ('PENDING', 'RUNNING')",
            {**params, "l": time.time() + lease_seconds, "w": worker},
        )
        rows = tx.execute(f"SELECT id FROM scheduled_runs WHERE id IN ({marks}) AND cancel_requested = 1", params)
    return {r.id for r in rows}


def cancelled_among(run_ids: list[str]) -> set[str]:
    from headwater.store.engine import db_read

    if not run_ids:
        return set()
    marks = ", ".join(f":i{n}" for n in range(len(run_ids)))
    with db_read() as tx:
        rows = tx.execute(
            f"SELECT id FROM scheduled_runs WHERE id IN ({marks}) AND cancel_requested = 1",
            {f"i{n}": v for n, v in enumerate(run_ids)},
        )
    return {r.id for r in rows}


def reap_expired(now: float | None = None) -> int:
    """Runs whose worker stopped renewing their lease: Crashed, or scheduled again when the
    deployment retries crashed runs. Returns how many were settled."""
    from headwater.store.engine import db_write

    now = time.time() if now is None else now
    with db_write() as tx:
        lock = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
        rows = tx.execute(
            "SELECT id, worker, crash_retries_left, cancel_requested FROM scheduled_runs WHERE state_type IN "
            f"('PENDING', 'RUNNING') AND lease_until < :now{lock}",
            {"now": now},
        )
        for r in rows:
            why = f"its worker {r.worker} stopped renewing the run's lease (killed or lost)"
            if r.cancel_requested:
                _set_final(tx, r.id, "CANCELLED", "Cancelled", now, f"cancelled; {why}")
            elif r.crash_retries_left > 0:
                tx.execute(
                    "UPDATE scheduled_runs SET state_type = 'SCHEDULED', state = 'AwaitingRetry', worker = NULL, "
                    "lease_until = NULL, pid = NULL, scheduled_time = :now, "
                    "crash_retries_left = crash_retries_left - 1, "
                    "message = :m WHERE id = :id",
                    {"now": now, "m": f"crashed ({why}); retrying", "id": r.id},
                )
            else:
                _set_final(tx, r.id, "CRASHED", "Crashed", now, why)
            tx.execute(
                "UPDATE flow_runs SET state_type = 'CRASHED', state = 'Crashed', message = :m, "
                "ended = COALESCE(ended, :now) WHERE id = :id AND state_type IN ('PENDING', 'RUNNING')",
                {"m": why, "now": now, "id": r.id},
            )
    return len(rows)


def mark_late(late_after_seconds: float = 15.0, now: float | None = None) -> int:
    """Scheduled runs not started ``late_after_seconds`` after their time are marked Late."""
    from headwater.store.engine import db_write

    now = time.time() if now is None else now
    with db_write() as tx:
        rows = tx.execute(
            "UPDATE scheduled_runs SET state = 'Late' WHERE state_type = 'SCHEDULED' AND state = 'Scheduled' "
            "AND scheduled_time < :t RETURNING id",
            {"t": now - late_after_seconds},
        )
    return len(rows)


def cancel_run(run_id: str) -> dict[str, Any]:
    """Cancel a deployment run: a queued one ends Cancelled now; a running one is asked to stop
    (its worker sends SIGTERM, then SIGKILL after the grace period) and ends Cancelled.

    Raises:
        RunNotFoundError: No such deployment run.
        DeploymentError: The run has already finished.
    """
    from headwater.store.engine import db_write

    run = get_run(run_id)
    now = time.time()
    with db_write() as tx:
        if run["state_type"] == "SCHEDULED":
            rows = tx.execute(
                "UPDATE scheduled_runs SET state_type = 'CANCELLED', state = 'Cancelled', ended = :now, "
                "message = 'cancelled before it started' WHERE id = :id AND state_type = 'SCHEDULED' "
                "RETURNING id",
                {"now": now, "id": run["id"]},
            )
            if rows:
                return {**run, "state_type": "CANCELLED", "state": "Cancelled"}
        if run["state_type"] in FINAL:
            raise DeploymentError(f"run {run['id'][:8]} has already finished ({run['state']}): nothing to cancel")
        tx.execute(
            "UPDATE scheduled_runs SET cancel_requested = 1, state = 'Cancelling' WHERE id = :id "
            "AND state_type IN ('PENDING', 'RUNNING')",
            {"id": run["id"]},
        )
        from headwater.orchestration.wakeup import notify

        notify(tx)
    _wake_after_commit()
    return {**run, "state": "Cancelling"}


def settle_exited(run_id: str, worker: str, exit_code: int | None, stopped: bool) -> None:
    """A run's process ended: if it did not record a final state, record one (Cancelled when it
    was asked to stop, otherwise Crashed, or scheduled again when crashed runs are retried)."""
    from headwater.store.engine import db_write

    now = time.time()
    with db_write() as tx:
        rows = tx.execute(
            "SELECT state_type, crash_retries_left, cancel_requested FROM scheduled_runs "
            "WHERE id = :id AND worker = :w",
            {"id": run_id, "w": worker},
        )
        if not rows or rows[0].state_type not in ACTIVE:
            return
        r = rows[0]
        if stopped or r.cancel_requested:
            state_type, state, msg = (
                "CANCELLED",
                "Cancelled",
                f"cancelled; its process was stopped (exit code {exit_code})",
            )
            _set_final(tx, run_id, state_type, state, now, msg)
        elif r.crash_retries_left > 0:
            state_type, state, msg = "CRASHED", "Crashed", f"its process exited with code {exit_code}; retrying"
            tx.execute(
                "UPDATE scheduled_runs SET state_type = 'SCHEDULED', state = 'AwaitingRetry', worker = NULL, "
                "lease_until = NULL, pid = NULL, scheduled_time = :now, "
                "crash_retries_left = crash_retries_left - 1, "
                "message = :m WHERE id = :id",
                {"now": now, "m": msg, "id": run_id},
            )
        else:
            state_type, state = "CRASHED", "Crashed"
            msg = f"its process exited with code {exit_code} without recording a final state"
            _set_final(tx, run_id, state_type, state, now, msg)
        tx.execute(
            "UPDATE flow_runs SET state_type = :t, state = :s, message = :m, ended = COALESCE(ended, :now) "
            "WHERE id = :id AND state_type IN ('PENDING', 'RUNNING')",
            {"t": state_type, "s": state, "m": msg, "now": now, "id": run_id},
        )
        from headwater.orchestration.wakeup import notify

        notify(tx)
    _wake_after_commit()


def release_unstarted(worker: str, run_ids: list[str]) -> set[str]:
    """Hand claimed runs that have not started back to the queue; returns their ids."""
    from headwater.store.engine import db_write

    if not run_ids:
        return set()
    marks = ", ".join(f":i{n}" for n in range(len(run_ids)))
    with db_write() as tx:
        rows = tx.execute(
            "UPDATE scheduled_runs SET state_type = 'SCHEDULED', state = 'Scheduled', worker = NULL, "
            "lease_until = NULL, "
            f"attempts = attempts - 1 WHERE worker = :w AND id IN ({marks}) AND state_type = 'PENDING' RETURNING id",
            {"w": worker, **{f"i{n}": v for n, v in enumerate(run_ids)}},
        )
    return {r.id for r in rows}
