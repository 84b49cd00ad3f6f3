"""Waking idle workers and ``serve`` processes when work arrives.

On PostgreSQL a ``NOTIFY headwater_runs`` sent in the transaction that creates or frees work
wakes every listener (``LISTEN``) when it commits. On SQLite (one host) each waiter binds a
Linux abstract datagram socket and leaves its name in a ``.wake`` folder next to the store
file; :func:`wake_local`, called after the commit, sends each one a byte. Waiters also poll
at a short interval, so a lost wake-up only delays work, never loses it.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import Any

__all__ = ["Waiter", "notify", "wake_local"]

CHANNEL = "headwater_runs"


def notify(tx: Any = None) -> None:
    """PostgreSQL: NOTIFY listeners when ``tx`` commits (or now, without ``tx``). SQLite: nothing
    (call :func:`wake_local` after the commit)."""
    from headwater.store.engine import db_write, get_database

    if get_database().dialect != "postgresql":
        if tx is None:
            wake_local()
        return
    if tx is not None:
        tx.execute(f"NOTIFY {CHANNEL}")
        return
    with db_write() as t:
        t.execute(f"NOTIFY {CHANNEL}")


def _wake_dir() -> Path | None:
    from headwater.store.engine import get_database

    db = get_database()
    if db.dialect != "sqlite" or db.path is None or not hasattr(socket, "AF_UNIX"):
        return None
    return db.path.parent / ".wake"


def wake_local() -> None:
    """Wake the waiters on this host's SQLite store (after a commit that created or freed work)."""
    folder = _wake_dir()
    if folder is None or not folder.is_dir():
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        for marker in folder.iterdir():
            try:
                sock.sendto(b"1", "\0" + marker.name)
            except (ConnectionRefusedError, FileNotFoundError):
                marker.unlink(missing_ok=True)  # its waiter is gone
            except OSError:
                pass


class Waiter:
    """Blocks until notified, a local event is set, or a timeout passes."""

    def __init__(self, poll_seconds: float = 0.5) -> None:
        from headwater.store.engine import get_database

        self.poll_seconds = poll_seconds
        self.event = threading.Event()
        self._conn: Any = None
        self._sock: socket.socket | None = None
        self._marker: Path | None = None
        db = get_database()
        if db.dialect == "postgresql":
            self._start_listener(db.url)
        else:
            self._start_socket()

    def _start_socket(self) -> None:
        folder = _wake_dir()
        if folder is None:
            return
        try:
            folder.mkdir(exist_ok=True)
            name = f"headwater-{os.getpid()}-{os.urandom(6).hex()}"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind("\0" + name)
            self._marker = folder / name
            self._marker.touch()
        except OSError:
            return
        self._sock = sock

        def _recv() -> None:
            while self._sock is not None:
                try:
                    sock.recv(64)
                except OSError:
                    return
                self.event.set()

        threading.Thread(target=_recv, name="headwater-wake", daemon=True).start()

    def _start_listener(self, url: str) -> None:
        try:
            import psycopg

            dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
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
        """Wait up to ``timeout`` seconds; True when woken."""
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
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        if self._marker is not None:
            self._marker.unlink(missing_ok=True)
