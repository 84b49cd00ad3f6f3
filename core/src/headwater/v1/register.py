"""Prefect 0.15's ``flow.register()``: save a deployment of a ``with Flow(...)`` graph.

0.15 registered a flow with its server, and an agent ran it on the flow's schedule. Here the
flow becomes a Headwater deployment: its entrypoint is ``file.py:variable`` (the module file
and the variable that holds the flow, found in the caller's globals), its source the file's
folder, its schedule the flow's 0.15 schedule, its parameters the ``Parameter`` defaults. A
worker runs it through the same engine as
``flow.run()``. Without ``work_pool_name=`` the deployment goes to the work pool ``default``
(a process pool, created if missing): ``headwater worker start --pool default`` runs it.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from headwater.v1.graph import GraphError

__all__ = ["DEFAULT_POOL", "register_flow", "to_schedules"]

DEFAULT_POOL = "default"


def to_schedules(schedule: Any, active: bool = True) -> list[Any]:
    """The orchestration's schedules for a 0.15 ``IntervalSchedule``/``CronSchedule``/``Schedule``.

    Raises:
        GraphError: A clock of a kind the orchestration cannot express.
    """
    from headwater.orchestration.schedules import Cron, Interval
    from headwater.v1.schedules import CronClock, IntervalClock

    if schedule is None:
        return []
    out: list[Any] = []
    for clock in getattr(schedule, "clocks", None) or [schedule]:
        if isinstance(clock, IntervalClock):
            out.append(Interval(clock.interval, anchor_date=clock.start_date.astimezone(dt.timezone.utc),
                                active=active))
        elif isinstance(clock, CronClock):
            tz = getattr(getattr(clock.start_date, "tzinfo", None), "key", None)
            out.append(Cron(clock.cron, timezone=tz, active=active))
        else:
            raise GraphError(f"flow.register(): schedule clock {clock!r} is not an IntervalClock or CronClock; "
                             "give the deployment its schedule with `headwater deployment schedule`")
    return out


def _where(flow: Any, depth: int) -> tuple[Path, str]:
    """The file that defines ``flow`` and the module-level variable holding it (the caller's)."""
    frame = sys._getframe(depth)
    while frame is not None:
        names = [k for k, v in frame.f_globals.items() if v is flow and not k.startswith("__")]
        file = frame.f_globals.get("__file__")
        if names and file:
            return Path(file).resolve(), names[0]
        frame = frame.f_back  # type: ignore[assignment]
    raise GraphError(f"flow.register() of {flow.name!r}: the flow must be held by a module-level variable of a "
                     "saved .py file (a worker imports that file to run it), e.g. `with Flow(...) as flow:` at the "
                     "top level of flows.py")


def _defaults(flow: Any) -> dict[str, Any]:
    out = {}
    for name, p in flow._parameters.items():
        if p.required or p.default is None:
            continue
        try:
            json.dumps(p.default)
        except (TypeError, ValueError):
            continue  # not storable: the flow's own default applies at run time
        out[name] = p.default
    return out


def register_flow(flow: Any, project_name: str | None, labels: Any, set_schedule_active: bool,
                  options: dict[str, Any], depth: int = 3) -> str:
    """Save the deployment ``flow.register()`` stands for and print how to run it; its id."""
    from headwater.orchestration.deployments import Deployment, save_deployment
    from headwater.orchestration.sources import to_source
    from headwater.v1.engine import as_headwater_flow

    path, variable = _where(flow, depth)
    name = options.pop("name", None) or project_name or flow.name
    pool = options.pop("work_pool_name", None) or DEFAULT_POOL
    params = {**_defaults(flow), **dict(options.pop("parameters", None) or {})}
    dep = Deployment(
        name=str(name).replace("/", "-"),
        flow_name=flow.name,
        entrypoint=f"{path.name}:{variable}",
        source=to_source(str(path.parent)),
        parameters=params,
        tags=sorted({labels} if isinstance(labels, str) else set(labels or ())),
        description=options.pop("description", None),
        version=options.pop("version", None),
        schedules=to_schedules(flow.schedule, active=set_schedule_active),
        flow=as_headwater_flow(flow),
    )
    dep.validate()  # everything but the pool, before anything is written
    created = _ensure_pool(pool)
    dep.work_pool_name = pool
    dep_id = save_deployment(dep)
    made = f" (work pool {pool!r} created, type process)" if created else ""
    print(f"Flow {flow.name!r} registered as deployment '{dep.full_name}' ({dep.entrypoint} in {path.parent}) "
          f"for work pool {pool!r}{made}. Start a worker: headwater worker start --pool '{pool}'; "
          f"run it now: headwater deployment run '{dep.full_name}'", file=sys.stderr, flush=True)
    return dep_id


def _ensure_pool(pool: str) -> bool:
    """0.15 registered with a server any agent served: the default pool is made on first use."""
    from headwater.orchestration.errors import WorkPoolNotFoundError
    from headwater.orchestration.pools import create_work_pool, get_work_pool

    try:
        get_work_pool(pool)
        return False
    except WorkPoolNotFoundError:
        if pool != DEFAULT_POOL:
            raise
    create_work_pool(pool, "process")
    return True
