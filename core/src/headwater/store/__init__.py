"""The database behind blocks and run history: SQLite by default, PostgreSQL for teams.

Names are imported on first use: importing one of the store's modules (``migrations``, when a
part of Headwater registers its tables) does not open or configure anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.lazy import lazy_exports

_EXPORTS = {
    name: "headwater.store.engine"
    for name in (
        "check_integrity", "db_read", "db_write", "get_database", "get_engine", "read_tx", "store_description",
        "write_tx",
    )
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from headwater.store.engine import (  # noqa: F401
        check_integrity,
        db_read,
        db_write,
        get_database,
        get_engine,
        read_tx,
        store_description,
        write_tx,
    )

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
