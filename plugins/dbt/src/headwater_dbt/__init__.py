"""Headwater's dbt plugin: dbt profiles as blocks, in-process dbt runs, one task run per dbt node.

Names are imported lazily: importing ``headwater_dbt`` does not import dbt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.lazy import lazy_exports

__all__ = [
    "DbtAdapterNotInstalledError",
    "DbtCliProfile",
    "DbtCoreOperation",
    "DbtError",
    "DbtInvocation",
    "DbtNodeFailure",
    "DbtOperationResult",
    "DbtProfileError",
    "DbtProjectError",
    "DbtRunError",
    "DbtRunner",
    "DbtValidationError",
    "DuckDBTargetConfigs",
    "GlobalConfigs",
    "NodeResult",
    "PostgresTargetConfigs",
    "TargetConfigs",
    "arun_dbt_build",
    "arun_dbt_model",
    "arun_dbt_seed",
    "arun_dbt_snapshot",
    "arun_dbt_source_freshness",
    "arun_dbt_test",
    "atrigger_dbt_cli_command",
    "clear_manifest_cache",
    "run_dbt_build",
    "run_dbt_model",
    "run_dbt_seed",
    "run_dbt_snapshot",
    "run_dbt_source_freshness",
    "run_dbt_test",
    "trigger_dbt_cli_command",
]

_EXPORTS = {
    "DbtAdapterNotInstalledError": "headwater_dbt.errors",
    "DbtError": "headwater_dbt.errors",
    "DbtNodeFailure": "headwater_dbt.errors",
    "DbtProfileError": "headwater_dbt.errors",
    "DbtProjectError": "headwater_dbt.errors",
    "DbtRunError": "headwater_dbt.errors",
    "DbtValidationError": "headwater_dbt.errors",
    "DbtCliProfile": "headwater_dbt.profiles",
    "GlobalConfigs": "headwater_dbt.profiles",
    "TargetConfigs": "headwater_dbt.targets",
    "DuckDBTargetConfigs": "headwater_dbt.targets",
    "PostgresTargetConfigs": "headwater_dbt.targets",
    "DbtCoreOperation": "headwater_dbt.operation",
    "DbtOperationResult": "headwater_dbt.operation",
    "DbtInvocation": "headwater_dbt._invocation",
    "NodeResult": "headwater_dbt._invocation",
    "clear_manifest_cache": "headwater_dbt._invocation",
    "DbtRunner": "headwater_dbt.runner",
    "run_dbt_build": "headwater_dbt.tasks",
    "run_dbt_model": "headwater_dbt.tasks",
    "run_dbt_seed": "headwater_dbt.tasks",
    "run_dbt_snapshot": "headwater_dbt.tasks",
    "run_dbt_source_freshness": "headwater_dbt.tasks",
    "run_dbt_test": "headwater_dbt.tasks",
    "arun_dbt_build": "headwater_dbt.tasks",
    "arun_dbt_model": "headwater_dbt.tasks",
    "arun_dbt_seed": "headwater_dbt.tasks",
    "arun_dbt_snapshot": "headwater_dbt.tasks",
    "arun_dbt_source_freshness": "headwater_dbt.tasks",
    "arun_dbt_test": "headwater_dbt.tasks",
    "atrigger_dbt_cli_command": "headwater_dbt.tasks",
    "trigger_dbt_cli_command": "headwater_dbt.tasks",
}

if TYPE_CHECKING:
    from headwater_dbt._invocation import DbtInvocation, NodeResult, clear_manifest_cache
    from headwater_dbt.errors import (
        DbtAdapterNotInstalledError,
        DbtError,
        DbtNodeFailure,
        DbtProfileError,
        DbtProjectError,
        DbtRunError,
        DbtValidationError,
    )
    from headwater_dbt.operation import DbtCoreOperation, DbtOperationResult
    from headwater_dbt.profiles import DbtCliProfile, GlobalConfigs
    from headwater_dbt.runner import DbtRunner
    from headwater_dbt.targets import DuckDBTargetConfigs, PostgresTargetConfigs, TargetConfigs
    from headwater_dbt.tasks import (
        arun_dbt_build,
        arun_dbt_model,
        arun_dbt_seed,
        arun_dbt_snapshot,
        arun_dbt_source_freshness,
        arun_dbt_test,
        atrigger_dbt_cli_command,
        run_dbt_build,
        run_dbt_model,
        run_dbt_seed,
        run_dbt_snapshot,
        run_dbt_source_freshness,
        run_dbt_test,
        trigger_dbt_cli_command,
    )


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
