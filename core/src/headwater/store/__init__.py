"""The database behind blocks and run history: SQLite by default, PostgreSQL for teams."""

from headwater.store.engine import (
    check_integrity,
    db_read,
    db_write,
    get_database,
    get_engine,
    read_tx,
    store_description,
    write_tx,
)

__all__ = ["check_integrity", "db_read", "db_write", "get_database", "get_engine", "read_tx", "store_description",
           "write_tx"]
