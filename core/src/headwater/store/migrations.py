"""Versioned schema migrations for the store.

Migrations are numbered and applied once, in order, inside one write transaction that
also records them; concurrent processes serialise on that transaction and the later ones
find nothing left to do. DDL is plain SQL that SQLite and PostgreSQL both accept. A store
written by a newer Headwater is refused with a clear message, never half-understood.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from headwater.errors import StoreError

if TYPE_CHECKING:
    from headwater.store._db import Database, Tx

__all__ = ["Migration", "all_migrations", "migrate"]


@dataclass(frozen=True)
class Migration:
    """One schema step: ``statements`` (portable SQL) and/or ``apply(tx)`` for anything else."""

    version: int
    name: str
    statements: tuple[str, ...] = ()
    apply: Callable[[Tx], None] | None = field(default=None)


BLOCKS_V1 = Migration(
    1,
    "block documents and secrets",
    (
        """CREATE TABLE block_documents (
            id VARCHAR(36) PRIMARY KEY,
            slug VARCHAR(200) NOT NULL,
            name VARCHAR(200) NOT NULL,
            data TEXT NOT NULL,
            schema_version INTEGER NOT NULL,
            schema_checksum VARCHAR(80) NOT NULL,
            checksum VARCHAR(80) NOT NULL,
            dist VARCHAR(200),
            dist_version VARCHAR(100),
            module VARCHAR(300),
            class_name VARCHAR(200),
            secrets_backend VARCHAR(100),
            created DOUBLE PRECISION NOT NULL,
            updated DOUBLE PRECISION NOT NULL,
            CONSTRAINT uq_block_documents_slug_name UNIQUE (slug, name)
        )""",
        "CREATE INDEX ix_block_documents_name ON block_documents (name)",
        """CREATE TABLE block_secrets (
            document_id VARCHAR(36) NOT NULL REFERENCES block_documents (id) ON DELETE CASCADE,
            path VARCHAR(500) NOT NULL,
            backend VARCHAR(100) NOT NULL,
            stored TEXT,
            PRIMARY KEY (document_id, path)
        )""",
    ),
)

_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS headwater_schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    applied DOUBLE PRECISION NOT NULL
)"""


def all_migrations() -> list[Migration]:
    """Every migration known to this installation, in version order."""
    from headwater.history.schema import MIGRATIONS as history
    from headwater.store.objects_schema import MIGRATIONS as objects

    found = sorted([BLOCKS_V1, *history, *objects], key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise StoreError(f"duplicate store migration versions: {versions}")
    return found


def _applied(tx: Tx) -> set[int]:
    if tx.dialect == "sqlite":
        exists = tx.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='headwater_schema_migrations'")
    else:
        exists = tx.execute("SELECT to_regclass('headwater_schema_migrations') AS t")
        exists = [r for r in exists if r.t is not None]
    if not exists:
        return set()
    return {int(r.version) for r in tx.execute("SELECT version FROM headwater_schema_migrations")}


def migrate(db: Database) -> int:
    """Bring the store's schema up to date; returns the resulting version.

    Every known migration not yet recorded is applied, in version order: a migration with a
    lower number than the store's highest (parts of Headwater developed side by side number
    theirs apart) is applied all the same.
    """
    wanted = all_migrations()
    known = {m.version for m in wanted}
    latest = wanted[-1].version
    with db.transaction(write=False) as tx:
        applied = _applied(tx)
    if applied == known:
        return latest
    with db.transaction(write=True) as tx:
        if tx.dialect == "postgresql":
            tx.execute("SELECT pg_advisory_xact_lock(4242011)")
        tx.execute(_VERSION_TABLE)
        applied = _applied(tx)
        unknown = applied - known
        if unknown:
            newest = max(unknown)
            why = (f"newer than this Headwater knows ({latest})" if newest > latest
                   else f"which this Headwater does not know (it knows {sorted(known)})")
            raise StoreError(f"the store has schema version {newest}, {why}: upgrade headwater (pip install -U headwater)")
        for m in wanted:
            if m.version in applied:
                continue
            for statement in m.statements:
                tx.execute(statement)
            if m.apply is not None:
                m.apply(tx)
            tx.execute(
                "INSERT INTO headwater_schema_migrations (version, name, applied) VALUES (:v, :n, :t)",
                {"v": m.version, "n": m.name, "t": time.time()},
            )
    return latest
