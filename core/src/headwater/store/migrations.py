"""Versioned schema migrations for the store.

Each part of Headwater that owns tables registers its migrations with
:func:`register_migrations` when it is imported (blocks' tables here, run history's in
``headwater.history.schema``); the store knows none of them by name. Versions are one
sequence across all parts. A migration is applied once, in version order, inside one write
transaction that also records it; concurrent processes serialise on that transaction and
the later ones find nothing left to do. A part imported after the database was opened gets
its tables on its first query. DDL is plain SQL that SQLite and PostgreSQL both accept. A
store written by a newer Headwater is refused with a clear message, never half-understood.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from headwater.errors import StoreError

if TYPE_CHECKING:
    from headwater.store._db import Database, Tx

__all__ = ["SCHEMA_VERSION", "Migration", "all_migrations", "migrate", "register_migrations"]

SCHEMA_VERSION = 14
"""The newest migration version any part of this Headwater ships; a store beyond it is refused.
Bump it with every new migration (a test checks it against the registered ones)."""


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


_lock = threading.Lock()
_registered: dict[int, Migration] = {}
generation = 0
"""Bumped by every registration: the engine migrates an open database again when it changes."""


def register_migrations(*migrations: Migration) -> None:
    """Add migrations of the part of Headwater that owns their tables (call it at import).

    Raises:
        StoreError: another migration already holds one of their versions.
    """
    global generation
    with _lock:
        for m in migrations:
            held = _registered.get(m.version)
            if held is not None and held is not m:
                raise StoreError(f"two store migrations claim version {m.version}: {held.name!r} and {m.name!r}")
            _registered[m.version] = m
        generation += 1


def all_migrations() -> list[Migration]:
    """Every migration registered in this process, in version order."""
    return [_registered[v] for v in sorted(_registered)]


register_migrations(BLOCKS_V1)


def _applied(tx: Tx) -> set[int]:
    if tx.dialect == "sqlite":
        exists = tx.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='headwater_schema_migrations'")
    else:
        exists = tx.execute("SELECT to_regclass('headwater_schema_migrations') AS t")
        exists = [r for r in exists if r.t is not None]
    if not exists:
        return set()
    return {int(r.version) for r in tx.execute("SELECT version FROM headwater_schema_migrations")}


def _refuse_newer(applied: set[int]) -> None:
    current = max(applied, default=0)
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"the store has schema version {current}, newer than this Headwater knows ({SCHEMA_VERSION}): "
            f"upgrade headwater (pip install -U headwater)"
        )


def migrate(db: Database) -> int:
    """Apply every registered migration the store lacks; returns the store's resulting version."""
    wanted = all_migrations()
    with db.transaction(write=False) as tx:
        applied = _applied(tx)
    _refuse_newer(applied)
    if all(m.version in applied for m in wanted):
        return max(applied, default=0)
    with db.transaction(write=True) as tx:
        if tx.dialect == "postgresql":
            tx.execute("SELECT pg_advisory_xact_lock(4242011)")
        tx.execute(_VERSION_TABLE)
        applied = _applied(tx)
        _refuse_newer(applied)
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
            applied.add(m.version)
    return max(applied)
