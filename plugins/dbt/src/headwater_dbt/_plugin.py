"""headwater-dbt's hook implementations (entry point ``dbt`` in the ``headwater`` group)."""

from __future__ import annotations

from headwater import hookimpl


@hookimpl
def register_block_types(register):  # type: ignore[no-untyped-def]
    from headwater_dbt.operation import DbtCoreOperation
    from headwater_dbt.profiles import DbtCliProfile, GlobalConfigs
    from headwater_dbt.targets import DuckDBTargetConfigs, PostgresTargetConfigs, TargetConfigs

    for cls in (DbtCliProfile, GlobalConfigs, TargetConfigs, DuckDBTargetConfigs, PostgresTargetConfigs,
                DbtCoreOperation):
        register(cls)
