"""Store migration 3: artifacts, variables, global concurrency limits, and pause/resume requests.

The tables behind Prefect 3's ``prefect.artifacts``, ``prefect.variables``,
``prefect.concurrency`` and ``pause_flow_run``/``resume_flow_run``; plain SQL that SQLite
and PostgreSQL both accept. Registered when imported: the modules that use these tables
import this one first.
"""

from __future__ import annotations

from headwater.store.migrations import Migration, register_migrations

__all__ = ["MIGRATIONS"]

OBJECTS_V3 = Migration(
    3,
    "artifacts, variables, concurrency limits, flow run resumes",
    (
        """CREATE TABLE artifacts (
            id VARCHAR(36) PRIMARY KEY,
            key VARCHAR(200),
            type VARCHAR(40) NOT NULL,
            description TEXT,
            data TEXT NOT NULL,
            flow_run_id VARCHAR(36),
            task_run_id VARCHAR(36),
            created DOUBLE PRECISION NOT NULL,
            updated DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX ix_artifacts_flow_run ON artifacts (flow_run_id)",
        "CREATE INDEX ix_artifacts_key ON artifacts (key)",
        """CREATE TABLE variables (
            name VARCHAR(200) PRIMARY KEY,
            value TEXT NOT NULL,
            tags TEXT,
            created DOUBLE PRECISION NOT NULL,
            updated DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE global_concurrency_limits (
            name VARCHAR(200) PRIMARY KEY,
            slots INTEGER NOT NULL,
            active BOOLEAN NOT NULL,
            slot_decay_per_second DOUBLE PRECISION NOT NULL,
            decaying DOUBLE PRECISION NOT NULL,
            decayed_at DOUBLE PRECISION NOT NULL,
            created DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE global_concurrency_holders (
            id VARCHAR(36) PRIMARY KEY,
            name VARCHAR(200) NOT NULL,
            occupy INTEGER NOT NULL,
            pid INTEGER NOT NULL,
            host VARCHAR(200) NOT NULL,
            acquired DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX ix_global_concurrency_holders_name ON global_concurrency_holders (name)",
        """CREATE TABLE flow_run_resumes (
            flow_run_id VARCHAR(36) PRIMARY KEY,
            requested DOUBLE PRECISION NOT NULL
        )""",
    ),
)

MIGRATIONS: list[Migration] = [OBJECTS_V3]

register_migrations(*MIGRATIONS)
