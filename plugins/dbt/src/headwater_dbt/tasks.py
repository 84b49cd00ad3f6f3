"""Ready-made tasks for dbt commands: ``trigger_dbt_cli_command``, ``run_dbt_build``, ``run_dbt_model``, ...

Each runs its command through :class:`~headwater_dbt.DbtRunner`, so inside a flow every dbt
node it runs is also recorded as a task run of its own. Each has an async twin prefixed ``a``
(``arun_dbt_build``, ``atrigger_dbt_cli_command``) to ``await`` in async flows; it runs dbt in
a worker thread, as dbt itself is synchronous.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headwater.runtime.dispatching import dispatch_task

from headwater_dbt._invocation import DbtInvocation
from headwater_dbt.profiles import DbtCliProfile

logger = logging.getLogger("headwater_dbt")

__all__ = [
    "arun_dbt_build",
    "arun_dbt_model",
    "arun_dbt_seed",
    "arun_dbt_snapshot",
    "arun_dbt_source_freshness",
    "arun_dbt_test",
    "atrigger_dbt_cli_command",
    "run_dbt_build",
    "run_dbt_model",
    "run_dbt_seed",
    "run_dbt_snapshot",
    "run_dbt_source_freshness",
    "run_dbt_test",
    "trigger_dbt_cli_command",
]


def _as_task(name: str) -> Callable[[Callable[..., Any]], Any]:
    try:
        from headwater.runtime.tasks import task
    except ImportError:  # the flow runtime is not available: plain functions still work
        return lambda fn: fn
    return task(name=name)


def _run(
    command: list[str],
    project_dir: str | Path | None,
    profiles_dir: str | Path | None,
    dbt_cli_profile: DbtCliProfile | str | None,
    extra_command_args: list[str] | None,
    stream_output: bool,
    env: dict[str, str] | None,
    node_task_runs: bool,
) -> DbtInvocation:
    from headwater_dbt.runner import DbtRunner

    runner = DbtRunner(
        project_dir or Path.cwd(), dbt_cli_profile, profiles_dir=profiles_dir, env=env,
        stream_output=stream_output, record_task_runs=node_task_runs,
    )
    return runner.invoke([*command, *(extra_command_args or [])])


_DOC = """Run ``dbt {cmd}`` in a dbt project.

    The parameters (names and order) are prefect-dbt's, plus ``env`` and ``node_task_runs``.

    Args:
        profiles_dir: A folder with an existing profiles.yml (when no dbt_cli_profile is given).
        project_dir: The dbt project folder (default: the working directory).
        overwrite_profiles: Accepted for Prefect compatibility: a dbt_cli_profile is always
            written to a private temporary folder, never over an existing profiles.yml.
        dbt_cli_profile: A :class:`~headwater_dbt.DbtCliProfile`, or the name of a saved one.
        create_summary_artifact: Accepted for Prefect compatibility: Headwater records every
            node as a task run (and in ``.nodes``) instead of a markdown artifact.
        summary_artifact_key: Accepted for Prefect compatibility (see above).
        extra_command_args: More arguments, e.g. ``["--select", "tag:daily"]``.
        stream_output: Send dbt's log lines to the run logger.
        env: Environment variables set while dbt runs.
        node_task_runs: Record each dbt node as a task run of its own.

    Returns:
        The :class:`~headwater_dbt.DbtInvocation` (``.nodes`` holds every node's result).

    Raises:
        DbtRunError: the command failed; the message lists the failing nodes.
    """


def _options(
    create_summary_artifact: bool, overwrite_profiles: bool, summary_artifact_key: str | None
) -> None:
    del overwrite_profiles, summary_artifact_key  # Prefect compatibility only
    if create_summary_artifact:
        logger.debug("create_summary_artifact: the node results are recorded as task runs and in .nodes")


def _make(command: list[str], name: str, artifact_key: str) -> tuple[Any, Any]:
    """The task ``name`` running ``dbt <command>``, and its async twin ``a<name>``."""

    def run(
        profiles_dir: str | Path | None = None,
        project_dir: str | Path | None = None,
        overwrite_profiles: bool = False,
        dbt_cli_profile: DbtCliProfile | str | None = None,
        create_summary_artifact: bool = False,
        summary_artifact_key: str | None = artifact_key,
        extra_command_args: list[str] | None = None,
        stream_output: bool = True,
        env: dict[str, str] | None = None,
        node_task_runs: bool = True,
    ) -> DbtInvocation:
        _options(create_summary_artifact, overwrite_profiles, summary_artifact_key)
        return _run(
            command, project_dir, profiles_dir, dbt_cli_profile, extra_command_args, stream_output, env, node_task_runs
        )

    @functools.wraps(run)  # the same parameters, in a worker thread
    async def arun(*args: Any, **kwargs: Any) -> DbtInvocation:
        return await _in_thread(run, *args, **kwargs)

    doc = _DOC.format(cmd=" ".join(command))
    atask = _named(arun, "a" + name, f"Async twin of ``{name}``: ``await`` it in async flows.\n\n    " + doc)
    # Called from async code, the sync name returns its twin's coroutine (Prefect 3's dispatch).
    return dispatch_task(_named(run, name, doc), atask), atask


def _named(fn: Any, name: str, doc: str) -> Any:
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__module__ = __name__
    return _as_task(name)(fn)


async def _in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    from headwater.blocks.core import to_thread

    return await to_thread(fn, *args, **kwargs)


def _trigger(
    command: str,
    profiles_dir: str | Path | None = None,
    project_dir: str | Path | None = None,
    overwrite_profiles: bool = False,
    dbt_cli_profile: DbtCliProfile | str | None = None,
    create_summary_artifact: bool = False,
    summary_artifact_key: str | None = "dbt-cli-command-summary",
    extra_command_args: list[str] | None = None,
    stream_output: bool = True,
    env: dict[str, str] | None = None,
    node_task_runs: bool = True,
) -> DbtInvocation:
    """Run any dbt command, e.g. ``trigger_dbt_cli_command("dbt debug")``.

    The parameters (names and order) are prefect-dbt's, plus ``env`` and ``node_task_runs``;
    see :func:`run_dbt_build` for them.

    Args:
        command: The dbt command, ``"dbt <command> [options]"`` (``"build --select x"`` works too).

    Returns:
        The :class:`~headwater_dbt.DbtInvocation` (``.nodes`` holds every node's result).

    Raises:
        ConfigError: ``command`` is not a dbt command (dbt runs in this process, not in a shell).
        DbtRunError: the command failed; the message lists the failing nodes.
    """
    from headwater_dbt._invocation import split_command

    _options(create_summary_artifact, overwrite_profiles, summary_artifact_key)
    return _run(
        split_command(command), project_dir, profiles_dir, dbt_cli_profile, extra_command_args, stream_output, env,
        node_task_runs,
    )


@functools.wraps(_trigger)  # the same parameters, in a worker thread
async def _atrigger(*args: Any, **kwargs: Any) -> DbtInvocation:
    return await _in_thread(_trigger, *args, **kwargs)


atrigger_dbt_cli_command = _named(
    _atrigger, "atrigger_dbt_cli_command", "Async twin of ``trigger_dbt_cli_command``: ``await`` it in async flows."
)
trigger_dbt_cli_command = dispatch_task(
    _named(_trigger, "trigger_dbt_cli_command", _trigger.__doc__ or ""), atrigger_dbt_cli_command
)
run_dbt_build, arun_dbt_build = _make(["build"], "run_dbt_build", "dbt-build-task-summary")
run_dbt_model, arun_dbt_model = _make(["run"], "run_dbt_model", "dbt-run-task-summary")
run_dbt_test, arun_dbt_test = _make(["test"], "run_dbt_test", "dbt-test-task-summary")
run_dbt_seed, arun_dbt_seed = _make(["seed"], "run_dbt_seed", "dbt-seed-task-summary")
run_dbt_snapshot, arun_dbt_snapshot = _make(["snapshot"], "run_dbt_snapshot", "dbt-snapshot-task-summary")
run_dbt_source_freshness, arun_dbt_source_freshness = _make(
    ["source", "freshness"], "run_dbt_source_freshness", "dbt-source-freshness-task-summary"
)
