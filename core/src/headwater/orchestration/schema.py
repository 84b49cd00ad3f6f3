"""Store migration for orchestration: work pools, deployments, their schedules, queued runs.

``scheduled_runs`` holds a deployment's runs from the moment they are scheduled until they
finish; a run's history (task runs, logs) is in ``flow_runs`` under the same id once it
starts. ``UNIQUE (deployment_id, auto_key)`` makes scheduling idempotent: ``auto_key`` is
the scheduled instant for runs a schedule created (NULL for ad-hoc runs, which never clash).
"""

from __future__ import annotations

import headwater.history.schema  # noqa: F401  (flow_runs, which this migration extends, is history's)
from headwater.store.migrations import Migration, register_migrations

__all__ = ["MIGRATIONS", "ORCHESTRATION_VERSION"]

ORCHESTRATION_VERSION = 10  # versions are one sequence across Headwater (3: compatibility, 12: events)

ORCHESTRATION_V10 = Migration(
    ORCHESTRATION_VERSION,
    "orchestration: work pools, deployments, schedules, scheduled runs, concurrency limits",
    (
        """CREATE TABLE work_pools (
            name VARCHAR(200) PRIMARY KEY,
            type VARCHAR(100) NOT NULL,
            description TEXT,
            concurrency_limit INTEGER,
            paused INTEGER NOT NULL DEFAULT 0,
            config TEXT,
            created DOUBLE PRECISION NOT NULL,
            updated DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE deployments (
            id VARCHAR(36) PRIMARY KEY,
            flow_name VARCHAR(200) NOT NULL,
            name VARCHAR(200) NOT NULL,
            entrypoint VARCHAR(1000) NOT NULL,
            source TEXT,
            parameters TEXT,
            tags TEXT,
            description TEXT,
            version VARCHAR(200),
            work_pool VARCHAR(200),
            concurrency_limit INTEGER,
            collision_strategy VARCHAR(20) NOT NULL DEFAULT 'ENQUEUE',
            crash_retries INTEGER NOT NULL DEFAULT 0,
            paused INTEGER NOT NULL DEFAULT 0,
            enforce_parameter_schema INTEGER NOT NULL DEFAULT 1,
            job_variables TEXT,
            parameter_schema TEXT,
            served_by VARCHAR(300),
            created DOUBLE PRECISION NOT NULL,
            updated DOUBLE PRECISION NOT NULL,
            CONSTRAINT uq_deployments_flow_name UNIQUE (flow_name, name)
        )""",
        """CREATE TABLE deployment_schedules (
            id VARCHAR(36) PRIMARY KEY,
            deployment_id VARCHAR(36) NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            schedule TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            scheduled_until DOUBLE PRECISION
        )""",
        "CREATE INDEX ix_deployment_schedules_deployment ON deployment_schedules (deployment_id)",
        """CREATE TABLE scheduled_runs (
            id VARCHAR(36) PRIMARY KEY,
            deployment_id VARCHAR(36) NOT NULL,
            deployment VARCHAR(401) NOT NULL,
            flow_name VARCHAR(200) NOT NULL,
            name VARCHAR(200) NOT NULL,
            auto_key VARCHAR(40),
            scheduled_time DOUBLE PRECISION NOT NULL,
            state_type VARCHAR(20) NOT NULL,
            state VARCHAR(40) NOT NULL,
            message TEXT,
            parameters TEXT,
            tags TEXT,
            work_pool VARCHAR(200),
            worker VARCHAR(300),
            host VARCHAR(200),
            pid INTEGER,
            lease_until DOUBLE PRECISION,
            attempts INTEGER NOT NULL DEFAULT 0,
            crash_retries_left INTEGER NOT NULL DEFAULT 0,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            created DOUBLE PRECISION NOT NULL,
            started DOUBLE PRECISION,
            ended DOUBLE PRECISION,
            CONSTRAINT uq_scheduled_runs_auto UNIQUE (deployment_id, auto_key)
        )""",
        "CREATE INDEX ix_scheduled_runs_due ON scheduled_runs (state_type, scheduled_time)",
        "CREATE INDEX ix_scheduled_runs_pool ON scheduled_runs (work_pool, state_type)",
        """CREATE TABLE concurrency_limits (
            tag VARCHAR(200) PRIMARY KEY,
            concurrency_limit INTEGER NOT NULL,
            created DOUBLE PRECISION NOT NULL
        )""",
        "ALTER TABLE flow_runs ADD COLUMN deployment VARCHAR(401)",
        "ALTER TABLE flow_runs ADD COLUMN scheduled_time DOUBLE PRECISION",
        "ALTER TABLE flow_runs ADD COLUMN worker VARCHAR(300)",
        "ALTER TABLE flow_runs ADD COLUMN work_pool VARCHAR(200)",
    ),
)

MIGRATIONS: list[Migration] = [ORCHESTRATION_V10]

register_migrations(*MIGRATIONS)
