"""Versioned schema migrations for the store.

Each migration has a version number, applied once, in order, inside one write
transaction that also records it; concurrent processes serialise on that transaction,
and the second one finds nothing left to do. A store written by a newer Headwater is
refused with a clear message rather than half-understood.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from headwater.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

__all__ = ["Migration", "all_migrations", "migrate"]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _v1_blocks(conn: Connection) -> None:
    from headwater.store import tables

    tables.metadata.create_all(conn, tables=[tables.block_documents, tables.block_secrets])


def all_migrations() -> list[Migration]:
    """Every migration known to this installation, in version order."""
    from headwater.history.schema import MIGRATIONS as history

    found = [Migration(1, "block documents and secrets", _v1_blocks), *history]
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise StoreError(f"duplicate store migration versions: {versions}")
    return found


def migrate(engine: Engine) -> int:
    """Bring the store's schema up to date; returns the resulting version."""
    from sqlalchemy import text

    from headwater.store import tables

    wanted = all_migrations()
    latest = wanted[-1].version
    with engine.connect() as conn:
        current = _current_version(conn)
        conn.rollback()
    if current == latest:
        return current
    with engine.connect().execution_options(hw_immediate=True) as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(4242011)"))
        tables.metadata.create_all(conn, tables=[tables.schema_migrations])
        current = _current_version(conn)
        if current > latest:
            raise StoreError(
                f"the store at {engine.url.render_as_string(hide_password=True)} has schema version {current}, "
                f"newer than this Headwater knows ({latest}): upgrade headwater (pip install -U headwater)"
            )
        for m in wanted:
            if m.version > current:
                m.apply(conn)
                conn.execute(
                    tables.schema_migrations.insert().values(version=m.version, name=m.name, applied=time.time())
                )
        return latest


def _current_version(conn: Connection) -> int:
    from sqlalchemy import inspect, text

    if not inspect(conn).has_table("headwater_schema_migrations"):
        return 0
    value = conn.execute(text("SELECT MAX(version) FROM headwater_schema_migrations")).scalar()
    return int(value or 0)
