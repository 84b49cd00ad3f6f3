"""Store migration for events, automations and webhooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.store.migrations import Migration, register_migrations

if TYPE_CHECKING:
    from headwater.store._db import Tx

__all__ = ["MIGRATIONS"]


def _tables(tx: Tx) -> None:
    key = "INTEGER PRIMARY KEY AUTOINCREMENT" if tx.dialect == "sqlite" else "BIGSERIAL PRIMARY KEY"
    tx.execute(
        f"""CREATE TABLE events (
            seq {key},
            id VARCHAR(80) NOT NULL UNIQUE,
            occurred DOUBLE PRECISION NOT NULL,
            event VARCHAR(300) NOT NULL,
            resource_id VARCHAR(300) NOT NULL,
            resource TEXT NOT NULL,
            related TEXT,
            payload TEXT
        )"""
    )
    # No index but the id's: every task run writes three events, and each index costs each of them
    # a B-tree insert. Readers scan newest first by seq; retention finds its cut-off by seq.
    tx.execute(
        f"""CREATE TABLE automation_actions (
            seq {key},
            fire_key VARCHAR(300) NOT NULL UNIQUE,
            automation_id VARCHAR(36) NOT NULL,
            action_index INTEGER NOT NULL,
            created DOUBLE PRECISION NOT NULL,
            context TEXT NOT NULL,
            status VARCHAR(20) NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt DOUBLE PRECISION NOT NULL,
            claimed_by VARCHAR(200),
            finished DOUBLE PRECISION,
            error TEXT
        )"""
    )
    tx.execute("CREATE INDEX ix_automation_actions_due ON automation_actions (status, next_attempt)")


EVENTS_V12 = Migration(
    12,
    "events, automations, webhooks",
    (
        """CREATE TABLE automations (
            id VARCHAR(36) PRIMARY KEY,
            name VARCHAR(200) NOT NULL UNIQUE,
            enabled INTEGER NOT NULL,
            spec TEXT NOT NULL,
            created DOUBLE PRECISION NOT NULL,
            updated DOUBLE PRECISION NOT NULL,
            cursor_seq BIGINT NOT NULL DEFAULT 0,
            trigger_state TEXT
        )""",
        """CREATE TABLE webhooks (
            id VARCHAR(36) PRIMARY KEY,
            name VARCHAR(200) NOT NULL UNIQUE,
            token_hash VARCHAR(100) NOT NULL,
            template TEXT NOT NULL,
            enabled INTEGER NOT NULL,
            created DOUBLE PRECISION NOT NULL
        )""",
    ),
    _tables,
)

MIGRATIONS: list[Migration] = [EVENTS_V12]
register_migrations(*MIGRATIONS)
