"""``flow.to_deployment``, ``flow.serve``, ``serve(*deployments)``, ``flow.deploy``, ``flow.from_source``.

``serve`` is one long-running process that saves its deployments, schedules their runs and
runs each one in a subprocess of its own: nothing else needs to be started. ``deploy`` saves
deployments for a work pool's workers to run (on this host or others sharing the store).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from headwater.orchestration.deployments import Deployment
from headwater.orchestration.errors import DeploymentError
from headwater.orchestration.schedules import Cron, Interval, RRule, Schedule, to_schedule

__all__ = ["deploy", "flow_deploy", "flow_from_source", "flow_serve", "serve", "to_deployment"]


def _many(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return list(value)
    return [value]


def _schedules(interval: Any, cron: Any, rrule: Any, schedule: Any, schedules: Any) -> list[Schedule]:
    given = [x for x in (interval, cron, rrule, schedule) if x is not None]
    if schedules is not None and given:
        raise DeploymentError("pass either schedules= or interval=/cron=/rrule=/schedule=, not both")
    out: list[Schedule] = []
    for i in _many(interval):
        out.append(i if isinstance(i, Schedule) else Interval(i if isinstance(i, timedelta) else float(i)))
    out += [c if isinstance(c, Schedule) else Cron(c) for c in _many(cron)]
    out += [r if isinstance(r, Schedule) else RRule(r) for r in _many(rrule)]
    out += [to_schedule(s) for s in _many(schedule)]
    out += [to_schedule(s) for s in _many(schedules)]
    return out


def _limit(concurrency_limit: Any) -> tuple[int | None, str]:
    if concurrency_limit is None:
        return None, "ENQUEUE"
    if isinstance(concurrency_limit, dict):
        return concurrency_limit.get("limit"), str(concurrency_limit.get("collision_strategy") or "ENQUEUE")
    if hasattr(concurrency_limit, "limit"):
        strategy = getattr(concurrency_limit, "collision_strategy", None)
        return concurrency_limit.limit, str(getattr(strategy, "value", strategy) or "ENQUEUE")
    return int(concurrency_limit), "ENQUEUE"


def to_deployment(
    flow: Any,
    name: str | None = None,
    interval: Any = None,
    cron: Any = None,
    rrule: Any = None,
    paused: bool | None = None,
    schedule: Any = None,
    schedules: Iterable[Any] | None = None,
    concurrency_limit: Any = None,
    parameters: dict[str, Any] | None = None,
    description: str | None = None,
    tags: Iterable[str] | None = None,
    version: str | None = None,
    enforce_parameter_schema: bool = True,
    work_pool_name: str | None = None,
    job_variables: dict[str, Any] | None = None,
    crash_retries: int = 0,
    **_ignored: Any,
) -> Deployment:
    """A :class:`Deployment` of ``flow`` (not saved yet: ``serve``/``deploy``/``apply`` save it)."""
    source = getattr(flow, "_hw_source", None)
    entrypoint = getattr(flow, "_hw_entrypoint", None)
    if entrypoint is None:
        from headwater.orchestration.entrypoints import entrypoint_of
        from headwater.orchestration.sources import to_source

        entrypoint, folder = entrypoint_of(flow)
        source = to_source(str(folder))
    limit, strategy = _limit(concurrency_limit)
    return Deployment(
        name=name or flow.name,
        flow_name=flow.name,
        entrypoint=entrypoint,
        source=source,
        parameters=dict(parameters or {}),
        tags=list(tags or []),
        description=description if description is not None else flow.description,
        version=version if version is not None else flow.version,
        work_pool_name=work_pool_name,
        schedules=_schedules(interval, cron, rrule, schedule, schedules),
        concurrency_limit=limit,
        collision_strategy=strategy,
        crash_retries=crash_retries,
        paused=bool(paused),
        enforce_parameter_schema=enforce_parameter_schema,
        job_variables=dict(job_variables or {}),
        flow=flow,
    )


def serve(
    *deployments: Deployment,
    pause_on_shutdown: bool = True,
    print_starting_message: bool = True,
    limit: int | None = None,
    **_ignored: Any,
) -> None:
    """Save the deployments and run their schedules and runs in this process until stopped.

    Each run happens in a subprocess of its own. Ctrl-C or SIGTERM stop it cleanly: runs it
    started end Cancelled (or Crashed if they ignore the request), never stay Running; with
    ``pause_on_shutdown`` the deployments' schedules are paused so runs do not pile up as Late.
    """
    from headwater.history.writer import host_name
    from headwater.orchestration.deployments import save_deployment, set_paused
    from headwater.orchestration.workers import ProcessWorker

    if not deployments:
        raise DeploymentError("serve() needs at least one deployment: serve(my_flow.to_deployment(name='...'))")
    for dep in deployments:
        if dep.work_pool_name:
            raise DeploymentError(
                f"deployment {dep.full_name} names work pool {dep.work_pool_name!r}: served "
                f"deployments run in the serve process; use flow.deploy() for a work pool"
            )
        dep.validate()
    import os

    served_by = f"{host_name()}:{os.getpid()}"
    for dep in deployments:
        save_deployment(dep, served_by=served_by)
    ids = [d.id for d in deployments if d.id]
    if print_starting_message:
        names = ", ".join(repr(d.full_name) for d in deployments)
        print(
            f"Serving {names}. Stop with Ctrl-C. "
            f"Start a run with: headwater deployment run '{deployments[0].full_name}'",
            file=sys.stderr,
            flush=True,
        )
    worker = ProcessWorker(None, limit=limit, deployment_ids=ids)
    try:
        worker.start()
    finally:
        if pause_on_shutdown:
            for dep in deployments:
                try:
                    set_paused(dep.full_name, True)
                except Exception:
                    pass


def deploy(
    *deployments: Deployment, work_pool_name: str | None = None, print_next_steps: bool = True, **_ignored: Any
) -> list[str]:
    """Save deployments for a work pool's workers; returns their ids."""
    ids = []
    for dep in deployments:
        dep.work_pool_name = work_pool_name or dep.work_pool_name
        if not dep.work_pool_name:
            raise DeploymentError(
                f"deployment {dep.full_name} needs a work pool: pass work_pool_name= (create one with "
                f"`headwater work-pool create NAME --type process`), or use flow.serve() to run it here"
            )
    for dep in deployments:
        dep.validate()
    for dep in deployments:
        from headwater.orchestration.deployments import save_deployment

        ids.append(save_deployment(dep))
        if print_next_steps:
            print(
                f"Deployment '{dep.full_name}' saved. Start a worker: headwater worker start --pool "
                f"'{dep.work_pool_name}'; run it now: headwater deployment run '{dep.full_name}'",
                file=sys.stderr,
                flush=True,
            )
    return ids


def flow_serve(flow: Any, name: str | None = None, **kwargs: Any) -> None:
    serve_opts = {k: kwargs.pop(k) for k in ("pause_on_shutdown", "print_starting_message", "limit") if k in kwargs}
    serve(to_deployment(flow, name=name, **kwargs), **serve_opts)


def flow_deploy(flow: Any, name: str, work_pool_name: str | None = None, **kwargs: Any) -> str:
    opts = {k: kwargs.pop(k) for k in ("print_next_steps",) if k in kwargs}
    for unsupported in ("image", "build", "push"):
        if kwargs.pop(unsupported, None):
            raise DeploymentError(f"{unsupported}= (Docker images) is not supported: use a process or dask work pool")
    dep = to_deployment(flow, name=name, work_pool_name=work_pool_name, **kwargs)
    return deploy(dep, work_pool_name=work_pool_name, **opts)[0]


def flow_from_source(source: Any, entrypoint: str) -> Any:
    """Load the flow ``entrypoint`` names from ``source`` (folder, git URL, storage block).

    The returned flow remembers where it came from: its ``to_deployment``/``deploy``/``serve``
    record that source, so workers on other hosts pull the same code.
    """
    from headwater.orchestration.entrypoints import load_flow
    from headwater.orchestration.sources import pull, to_source

    doc = to_source(source)
    flow = load_flow(entrypoint, pull(doc))
    flow._hw_source = doc
    flow._hw_entrypoint = entrypoint
    return flow
