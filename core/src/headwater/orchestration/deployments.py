"""Deployments: a flow, where its code lives, how and when to run it, saved in the store.

A deployment is named ``flow-name/deployment-name``. Everything about it is checked when it is
created (schedules, work pool, source, entrypoint, parameters): a bad deployment is refused
with one line and nothing is written.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from headwater.orchestration.errors import DeploymentError, DeploymentNotFoundError
from headwater.orchestration.schedules import Schedule, schedule_from_dict, to_schedule

__all__ = [
    "COLLISION_STRATEGIES",
    "Deployment",
    "delete_deployment",
    "get_deployment",
    "list_deployments",
    "save_deployment",
    "set_paused",
    "set_schedule_active",
]

COLLISION_STRATEGIES = ("ENQUEUE", "CANCEL_NEW")


@dataclass
class Deployment:
    """A flow packaged to run on a schedule or on demand (Prefect's ``RunnerDeployment``).

    Built by ``flow.to_deployment(...)``, ``flow.from_source(...).to_deployment(...)`` or read
    from ``headwater.yaml``; saved by :meth:`apply` (``flow.deploy`` and ``serve`` call it).
    """

    name: str
    flow_name: str
    entrypoint: str
    source: dict[str, Any] | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    version: str | None = None
    work_pool_name: str | None = None
    schedules: list[Schedule] = field(default_factory=list)
    concurrency_limit: int | None = None
    collision_strategy: str = "ENQUEUE"
    crash_retries: int = 0
    paused: bool = False
    enforce_parameter_schema: bool = True
    job_variables: dict[str, Any] = field(default_factory=dict)
    parameter_schema: dict[str, Any] | None = field(default=None, repr=False)
    flow: Any = field(default=None, repr=False, compare=False)
    id: str | None = None
    schedule_ids: list[str] = field(default_factory=list, repr=False)
    schedule_active: list[bool] = field(default_factory=list, repr=False)

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"

    def validate(self) -> None:
        """Check everything that can be checked before the first run.

        Raises:
            DeploymentError: A bad name, strategy, source, entrypoint or parameter.
            WorkPoolNotFoundError: The work pool does not exist.
        """
        if not self.name or "/" in self.name:
            raise DeploymentError(f"deployment name {self.name!r} must be non-empty text without '/'")
        self.collision_strategy = str(self.collision_strategy or "ENQUEUE").upper().replace("-", "_")
        if self.collision_strategy not in COLLISION_STRATEGIES:
            raise DeploymentError(
                f"collision strategy {self.collision_strategy!r} is not one of {', '.join(COLLISION_STRATEGIES)}"
            )
        if self.concurrency_limit is not None and int(self.concurrency_limit) < 1:
            raise DeploymentError(f"concurrency_limit must be 1 or more, got {self.concurrency_limit!r}")
        if int(self.crash_retries) < 0:
            raise DeploymentError(f"crash_retries must be 0 or more, got {self.crash_retries!r}")
        self.schedules = [to_schedule(s) for s in self.schedules]
        if self.work_pool_name:
            from headwater.orchestration.pools import get_work_pool

            get_work_pool(self.work_pool_name)
        flow = self.flow
        if flow is None:
            from headwater.orchestration.entrypoints import load_flow
            from headwater.orchestration.sources import pull

            flow = load_flow(self.entrypoint, pull(self.source))
            self.flow = flow
        if flow.name != self.flow_name:
            self.flow_name = flow.name
        from headwater.orchestration.entrypoints import check_parameters, parameter_schema

        self.parameter_schema = parameter_schema(flow)
        from headwater.orchestration.entrypoints import refuse_secret_values

        refuse_secret_values(self.parameter_schema, self.parameters)
        for s in self.schedules:
            refuse_secret_values(self.parameter_schema, s.parameters)
        if self.enforce_parameter_schema:
            check_parameters(flow, self.parameters)
            for s in self.schedules:
                check_parameters(flow, {**self.parameters, **s.parameters})
        else:
            json.dumps(self.parameters)

    def apply(self) -> str:
        """Validate and save (create or update) the deployment; returns its id."""
        self.validate()
        return save_deployment(self)


def _row_to_deployment(row: Any, schedules: list[Any]) -> Deployment:
    dep = Deployment(
        name=row.name,
        flow_name=row.flow_name,
        entrypoint=row.entrypoint,
        source=json.loads(row.source) if row.source else None,
        parameters=json.loads(row.parameters) if row.parameters else {},
        tags=json.loads(row.tags) if row.tags else [],
        description=row.description,
        version=row.version,
        work_pool_name=row.work_pool,
        concurrency_limit=row.concurrency_limit,
        collision_strategy=row.collision_strategy,
        crash_retries=row.crash_retries,
        paused=bool(row.paused),
        enforce_parameter_schema=bool(row.enforce_parameter_schema),
        job_variables=json.loads(row.job_variables) if row.job_variables else {},
        id=row.id,
        parameter_schema=json.loads(row.parameter_schema) if row.parameter_schema else None,
    )
    for s in sorted(schedules, key=lambda s: s.position):
        dep.schedules.append(schedule_from_dict(json.loads(s.schedule)))
        dep.schedule_ids.append(s.id)
        dep.schedule_active.append(bool(s.active))
    return dep


def save_deployment(dep: Deployment, served_by: str | None = None) -> str:
    """Write a validated deployment (create, or replace the one with the same full name)."""
    from headwater.store.engine import db_write

    now = time.time()
    values = {
        "flow_name": dep.flow_name,
        "name": dep.name,
        "entrypoint": dep.entrypoint,
        "source": json.dumps(dep.source) if dep.source else None,
        "parameters": json.dumps(dep.parameters) if dep.parameters else None,
        "tags": json.dumps(list(dep.tags)) if dep.tags else None,
        "description": dep.description,
        "version": dep.version,
        "work_pool": dep.work_pool_name,
        "concurrency_limit": dep.concurrency_limit,
        "collision_strategy": dep.collision_strategy,
        "crash_retries": int(dep.crash_retries),
        "paused": int(bool(dep.paused)),
        "enforce_parameter_schema": int(bool(dep.enforce_parameter_schema)),
        "job_variables": json.dumps(dep.job_variables) if dep.job_variables else None,
        "served_by": served_by,
        "parameter_schema": json.dumps(dep.parameter_schema) if dep.parameter_schema else None,
        "updated": now,
    }
    with db_write() as tx:
        existing = tx.execute(
            "SELECT id FROM deployments WHERE flow_name = :f AND name = :n", {"f": dep.flow_name, "n": dep.name}
        )
        kept: dict[str, str] = {}
        if existing:
            dep_id = existing[0].id
            sets = ", ".join(f"{k} = :{k}" for k in values)
            tx.execute(f"UPDATE deployments SET {sets} WHERE id = :id", {**values, "id": dep_id})
            # a schedule saved again unchanged keeps its id (and its runs); the others' future runs go
            old = tx.execute("SELECT id, schedule FROM deployment_schedules WHERE deployment_id = :id", {"id": dep_id})
            for o in old:
                kept.setdefault(o.schedule, o.id)
            wanted = {json.dumps(s.to_dict()) for s in dep.schedules}
            for o in old:
                if o.schedule not in wanted:
                    tx.execute(
                        "DELETE FROM scheduled_runs WHERE deployment_id = :d AND auto_key LIKE :k "
                        "AND state_type = 'SCHEDULED'",
                        {"d": dep_id, "k": f"{o.id[:8]}:%"},
                    )
            tx.execute("DELETE FROM deployment_schedules WHERE deployment_id = :id", {"id": dep_id})
        else:
            dep_id = str(uuid.uuid4())
            cols = ", ".join(["id", "created", *values])
            marks = ", ".join(f":{c}" for c in ["id", "created", *values])
            tx.execute(f"INSERT INTO deployments ({cols}) VALUES ({marks})", {**values, "id": dep_id, "created": now})
        dep.schedule_ids = []
        for i, s in enumerate(dep.schedules):
            doc = json.dumps(s.to_dict())
            sid = kept.pop(doc, None) or str(uuid.uuid4())
            dep.schedule_ids.append(sid)
            tx.execute(
                "INSERT INTO deployment_schedules (id, deployment_id, position, schedule, active) "
                "VALUES (:id, :d, :p, :s, :a)",
                {"id": sid, "d": dep_id, "p": i, "s": doc, "a": int(s.active)},
            )
    dep.id = dep_id
    _notify()
    return dep_id


def _notify() -> None:
    try:
        from headwater.orchestration.wakeup import notify

        notify()
    except Exception:
        pass


def _find(tx: Any, name: str) -> Any:
    flow_name, sep, dep_name = name.partition("/")
    if sep:
        rows = tx.execute(
            "SELECT * FROM deployments WHERE flow_name = :f AND name = :n", {"f": flow_name, "n": dep_name}
        )
    else:
        rows = tx.execute("SELECT * FROM deployments WHERE name = :n OR id = :n", {"n": name})
    if not rows:
        raise DeploymentNotFoundError(f"no deployment named {name!r}: list them with `headwater deployment ls`")
    if len(rows) > 1:
        names = ", ".join(sorted(f"{r.flow_name}/{r.name}" for r in rows))
        raise DeploymentNotFoundError(
            f"deployment name {name!r} is ambiguous ({names}): use 'flow-name/deployment-name'"
        )
    return rows[0]


def get_deployment(name: str) -> Deployment:
    """A saved deployment by ``flow/name``, unique ``name`` or id."""
    from headwater.store.engine import db_read

    with db_read() as tx:
        row = _find(tx, name)
        schedules = tx.execute("SELECT * FROM deployment_schedules WHERE deployment_id = :id", {"id": row.id})
    return _row_to_deployment(row, schedules)


def list_deployments(work_pool: str | None = None) -> list[Deployment]:
    from headwater.store.engine import db_read

    with db_read() as tx:
        if work_pool:
            rows = tx.execute(
                "SELECT * FROM deployments WHERE work_pool = :p ORDER BY flow_name, name", {"p": work_pool}
            )
        else:
            rows = tx.execute("SELECT * FROM deployments ORDER BY flow_name, name")
        by_dep: dict[str, list[Any]] = {}
        for s in tx.execute("SELECT * FROM deployment_schedules"):
            by_dep.setdefault(s.deployment_id, []).append(s)
    return [_row_to_deployment(r, by_dep.get(r.id, [])) for r in rows]


def delete_deployment(name: str) -> str:
    """Delete a deployment, its schedules and its runs that have not started; returns its full name."""
    from headwater.store.engine import db_write

    with db_write() as tx:
        row = _find(tx, name)
        tx.execute("DELETE FROM deployment_schedules WHERE deployment_id = :id", {"id": row.id})
        tx.execute("DELETE FROM scheduled_runs WHERE deployment_id = :id AND state_type = 'SCHEDULED'", {"id": row.id})
        tx.execute("DELETE FROM deployments WHERE id = :id", {"id": row.id})
    return f"{row.flow_name}/{row.name}"


def set_paused(name: str, paused: bool) -> str:
    from headwater.store.engine import db_write

    with db_write() as tx:
        row = _find(tx, name)
        tx.execute(
            "UPDATE deployments SET paused = :p, updated = :t WHERE id = :id",
            {"p": int(paused), "t": time.time(), "id": row.id},
        )
        if paused:
            tx.execute(
                "DELETE FROM scheduled_runs WHERE deployment_id = :id AND auto_key IS NOT NULL "
                "AND state_type = 'SCHEDULED'",
                {"id": row.id},
            )
    return f"{row.flow_name}/{row.name}"


def set_schedule_active(name: str, schedule: str | None, active: bool) -> list[str]:
    """Pause or resume one schedule (by id, id prefix or 1-based position) or all; returns the ids changed."""
    from headwater.store.engine import db_write

    with db_write() as tx:
        row = _find(tx, name)
        rows = sorted(
            tx.execute("SELECT * FROM deployment_schedules WHERE deployment_id = :id", {"id": row.id}),
            key=lambda s: s.position,
        )
        if schedule is not None:
            chosen = [s for i, s in enumerate(rows) if s.id.startswith(schedule) or str(i + 1) == schedule]
            if len(chosen) != 1:
                raise DeploymentError(
                    f"deployment {row.flow_name}/{row.name} has no schedule {schedule!r}: "
                    f"see `headwater deployment schedule ls {row.flow_name}/{row.name}`"
                )
            rows = chosen
        if not rows:
            raise DeploymentError(f"deployment {row.flow_name}/{row.name} has no schedules")
        for s in rows:
            doc = json.loads(s.schedule)
            doc["active"] = active
            tx.execute(
                "UPDATE deployment_schedules SET active = :a, schedule = :s WHERE id = :id",
                {"a": int(active), "s": json.dumps(doc), "id": s.id},
            )
        if not active:
            for s in rows:
                tx.execute(
                    "DELETE FROM scheduled_runs WHERE deployment_id = :d AND auto_key LIKE :k "
                    "AND state_type = 'SCHEDULED'",
                    {"d": row.id, "k": f"{s.id[:8]}:%"},
                )
    return [s.id for s in rows]
