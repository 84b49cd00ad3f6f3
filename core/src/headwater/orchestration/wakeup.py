"""Waking idle workers and ``serve`` processes when work arrives.

On PostgreSQL a ``NOTIFY headwater_runs`` after each change that creates or frees work wakes
every listener at once (``LISTEN``); on SQLite (one host) waiters poll at a short interval.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["Waiter", "notify"]

CHANNEL = "headwater_runs"


def notify(tx: Any = None) -> None:
    """Tell listeners that runs were created, freed or cancelled (no-op on SQLite)."""
    from headwater.store.engine import db_write, get_database

    if get_database().dialect != "postgresql":
        return
    if tx is not None:
        tx.execute(f"NOTIFY {CHANNEL}")
        return
    with db_write() as t:
        t.execute(f"NOTIFY {CHANNEL}")


class Waiter:
    """Blocks until notified, a local event is set, or a timeout passes."""

    def __init__(self, poll_seconds: float = 0.5) -> None:
        from headwater.store.engine import get_database

        self.poll_seconds = poll_seconds
        self.event = threading.Event()
        self._conn: Any = None
        db = get_database()
        if db.dialect == "postgresql":
            self._start_listener(db.url)

    def _start_listener(self, url: str) -> None:
        try:
            import psycopg

            from headwater.store.urls import _split

            dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
            if _split(dsn) is None:
                return
            self._conn = psycopg.connect(dsn, autocommit=True)
            self._conn.execute(f"LISTEN {CHANNEL}")
        except Exception:
            self._conn = None
            return
        threading.Thread(target=self._listen, name="headwater-listen", daemon=True).start()

    def _listen(self) -> None:
        conn = self._conn
        try:
            while self._conn is not None:
                for _ in conn.notifies(timeout=5.0):
                    self.event.set()
        except Exception:
            self._conn = None  # fall back to polling

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds (at most the poll interval on SQLite); True when woken."""
        if self._conn is None:
            timeout = min(timeout, self.poll_seconds)
        woke = self.event.wait(max(0.0, timeout))
        self.event.clear()
        return woke

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass
