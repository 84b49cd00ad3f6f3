"""Ready-made tasks for the common dbt commands (``run_dbt_build``, ``run_dbt_model``, ...).

Each runs its command through :class:`~headwater_dbt.DbtRunner`, so inside a flow every dbt
node it runs is also recorded as a task run of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headwater_dbt._engine import DbtInvocation
from headwater_dbt.profiles import DbtCliProfile

logger = logging.getLogger("headwater_dbt")

__all__ = [
    "run_dbt_build",
    "run_dbt_model",
    "run_dbt_seed",
    "run_dbt_snapshot",
    "run_dbt_source_freshness",
    "run_dbt_test",
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


def _make(command: list[str], name: str) -> Any:
    def run(
        profiles_dir: str | Path | None = None,
        project_dir: str | Path | None = None,
        overwrite_profiles: bool = False,
        dbt_cli_profile: DbtCliProfile | str | None = None,
        create_summary_artifact: bool = False,
        summary_artifact_key: str | None = None,
        extra_command_args: list[str] | None = None,
        stream_output: bool = True,
        env: dict[str, str] | None = None,
        node_task_runs: bool = True,
    ) -> DbtInvocation:
        del overwrite_profiles, summary_artifact_key  # Prefect compatibility only
        if create_summary_artifact:
            logger.debug("create_summary_artifact: the node results are recorded as task runs and in .nodes")
        return _run(command, project_dir, profiles_dir, dbt_cli_profile, extra_command_args, stream_output, env,
                    node_task_runs)

    run.__name__ = run.__qualname__ = name.replace("-", "_")
    run.__doc__ = _DOC.format(cmd=" ".join(command))
    run.__module__ = __name__
    return _as_task(name)(run)


run_dbt_build = _make(["build"], "run_dbt_build")
run_dbt_model = _make(["run"], "run_dbt_model")
run_dbt_test = _make(["test"], "run_dbt_test")
run_dbt_seed = _make(["seed"], "run_dbt_seed")
run_dbt_snapshot = _make(["snapshot"], "run_dbt_snapshot")
run_dbt_source_freshness = _make(["source", "freshness"], "run_dbt_source_freshness")
