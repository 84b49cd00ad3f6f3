"""``headwater work-pool ...``, ``headwater worker start`` and ``headwater concurrency-limit ...``."""

from __future__ import annotations

import json

import click

from headwater.cli._output import emit, emit_object, output_option

__all__ = ["concurrency_limit", "work_pool", "worker"]


@click.group("work-pool")
def work_pool() -> None:
    """Create, list, inspect and delete work pools."""


@work_pool.command("create")
@click.argument("name")
@click.option(
    "--type",
    "pool_type",
    default="process",
    show_default=True,
    help="Worker type: process, or one a plugin adds (dask).",
)
@click.option(
    "--limit",
    "--concurrency-limit",
    "limit",
    type=int,
    default=None,
    help="At most this many runs of the pool at once.",
)
@click.option(
    "--set", "settings", multiple=True, metavar="KEY=VALUE", help="Pool configuration (e.g. cluster=dask-cluster/prod)."
)
@click.option("--description", default=None)
@click.option("--overwrite", is_flag=True, help="Replace an existing pool of that name.")
def create(
    name: str, pool_type: str, limit: int | None, settings: tuple[str, ...], description: str | None, overwrite: bool
) -> None:
    """Create a work pool: headwater work-pool create NAME --type process"""
    from headwater.orchestration.pools import create_work_pool

    config = {}
    for pair in settings:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="--set")
        config[key.strip()] = value
    pool = create_work_pool(name, pool_type, limit, description, config, overwrite=overwrite)
    click.echo(
        f"created work pool {pool.name!r} (type {pool.type}); start a worker: headwater worker start --pool {pool.name}"
    )


@work_pool.command("ls")
@output_option
def ls(output: str) -> None:
    """List work pools."""
    from headwater.orchestration.pools import list_work_pools
    from headwater.store.engine import db_read

    with db_read() as tx:
        counts = {
            (r.work_pool, r.state_type): r.n
            for r in tx.execute(
                "SELECT work_pool, state_type, COUNT(*) AS n FROM scheduled_runs WHERE state_type IN "
                "('SCHEDULED', 'PENDING', 'RUNNING') GROUP BY work_pool, state_type"
            )
        }
    rows = [
        {
            "name": p.name,
            "type": p.type,
            "limit": p.concurrency_limit,
            "paused": p.paused,
            "queued": counts.get((p.name, "SCHEDULED"), 0),
            "running": counts.get((p.name, "RUNNING"), 0) + counts.get((p.name, "PENDING"), 0),
            "config": p.config,
        }
        for p in list_work_pools()
    ]
    emit(
        rows,
        ["name", "type", "limit", "paused", "queued", "running"],
        output,
        empty="no work pools: headwater work-pool create NAME --type process",
    )


@work_pool.command("inspect")
@click.argument("name")
@output_option
def inspect(name: str, output: str) -> None:
    """Show a work pool."""
    from dataclasses import asdict

    from headwater.orchestration.pools import get_work_pool

    emit_object(asdict(get_work_pool(name)), output)


@work_pool.command("delete")
@click.argument("name")
def delete(name: str) -> None:
    """Delete a work pool no deployment uses."""
    from headwater.orchestration.pools import delete_work_pool

    delete_work_pool(name)
    click.echo(f"deleted work pool {name!r}")


@work_pool.command("pause")
@click.argument("name")
def pause(name: str) -> None:
    """Pause a pool: its workers claim no runs."""
    from headwater.orchestration.pools import update_work_pool

    update_work_pool(name, paused=True)
    click.echo(f"paused work pool {name!r}")


@work_pool.command("resume")
@click.argument("name")
def resume(name: str) -> None:
    """Resume a paused pool."""
    from headwater.orchestration.pools import update_work_pool

    update_work_pool(name, paused=False)
    click.echo(f"resumed work pool {name!r}")


@work_pool.command("set-concurrency-limit")
@click.argument("name")
@click.argument("limit", type=int)
def set_limit(name: str, limit: int) -> None:
    """Set how many runs of the pool may run at once (0 removes the limit)."""
    from headwater.orchestration.pools import update_work_pool

    update_work_pool(name, concurrency_limit=limit or None)
    click.echo(f"work pool {name!r}: concurrency limit {limit or 'none'}")


@click.group("worker")
def worker() -> None:
    """Start a worker that runs a work pool's flow runs."""


@worker.command("start")
@click.option("--pool", "-p", "pool_name", required=True, help="The work pool to take runs from.")
@click.option("--limit", "-l", type=int, default=None, help="At most this many runs at once from this worker.")
@click.option("--name", "-n", default=None, help="The worker's name (default: type-host-pid-random).")
@click.option("--run-once", is_flag=True, help="Exit when no run is due or running.")
@click.option("--no-scheduler", is_flag=True, help="Do not create scheduled runs from this worker.")
def start(pool_name: str, limit: int | None, name: str | None, run_once: bool, no_scheduler: bool) -> None:
    """Run a work pool's flow runs until Ctrl-C/SIGTERM (then stop cleanly)."""
    from headwater.orchestration.pools import get_work_pool, worker_class

    pool = get_work_pool(pool_name)
    cls = worker_class(pool.type)
    w = cls(pool.name, name=name, limit=limit, run_scheduler=not no_scheduler, pool_config=pool.config)
    click.echo(f"worker {w.name} started on pool {pool.name!r} (type {pool.type}); stop with Ctrl-C", err=True)
    w.start(run_once=run_once)
    click.echo(f"worker {w.name} stopped", err=True)


@click.group("concurrency-limit")
def concurrency_limit() -> None:
    """Limit how many runs carrying a tag may run at once."""


@concurrency_limit.command("create")
@click.argument("tag")
@click.argument("limit", type=int)
def cl_create(tag: str, limit: int) -> None:
    """At most LIMIT runs tagged TAG at once."""
    from headwater.orchestration.pools import set_tag_limit

    set_tag_limit(tag, limit)
    click.echo(f"runs tagged {tag!r}: at most {limit} at once")


@concurrency_limit.command("delete")
@click.argument("tag")
def cl_delete(tag: str) -> None:
    """Remove a tag's limit."""
    from headwater.orchestration.pools import set_tag_limit

    set_tag_limit(tag, None)
    click.echo(f"removed the limit on tag {tag!r}")


@concurrency_limit.command("ls")
@output_option
def cl_ls(output: str) -> None:
    """List tag concurrency limits."""
    from headwater.store.engine import db_read

    with db_read() as tx:
        rows = [
            dict(r) for r in tx.execute("SELECT tag, concurrency_limit AS limit_ FROM concurrency_limits ORDER BY tag")
        ]
    for r in rows:
        r["limit"] = r.pop("limit_")
    if output == "json":
        click.echo(json.dumps(rows))
        return
    emit(rows, ["tag", "limit"], output, empty="no tag concurrency limits")
