"""A real PostgreSQL server for tests and benchmarks, started from Debian's binaries.

Fixtures (loaded by the ``headwater.testing`` pytest plugin):

- ``postgres_server`` (session): a :class:`PostgresServer` with ``.url`` (SQLAlchemy URL with
  the ``postgresql+psycopg`` driver), ``.host``, ``.port``, ``.user``, ``.password``, ``.dbname``.
- ``postgres_database`` (function): creates a fresh, empty database for the test and returns its
  URL (a ``str``); the database is dropped afterwards.

If ``HEADWATER_TEST_POSTGRES_URL`` is set, that server is used and nothing is started. Otherwise
the newest ``/usr/lib/postgresql/*/bin`` is used: ``initdb`` into a private temporary directory,
``pg_ctl start`` on a random free port of 127.0.0.1 (unix socket inside the data directory,
``fsync=off``, log to a file), and ``pg_ctl stop -m immediate`` at the end. As root the server
runs as the ``postgres`` user. Several pytest sessions on one machine never share a port or a
data directory.

The started server trusts the ``postgres`` superuser on 127.0.0.1 (its URL has no password) and
asks every other role for a scram-sha-256 password, so tests can create a role with
:meth:`PostgresServer.create_role` to exercise password handling.

Benchmarks and scripts use the same code path without pytest::

    with running_postgres() as server:
        engine = sqlalchemy.create_engine(server.url)
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest

from headwater.testing.process import ServerStartError, free_port

__all__ = [
    "POSTGRES_SKIP_REASON",
    "PostgresServer",
    "PostgresUnavailable",
    "find_postgres_bin",
    "postgres_database",
    "postgres_server",
    "running_postgres",
    "server_from_url",
    "start_postgres",
]

POSTGRES_SKIP_REASON = (
    "PostgreSQL server not found: apt-get install postgresql (make test installs it when run as root), "
    "or set HEADWATER_TEST_POSTGRES_URL"
)
ENV_URL = "HEADWATER_TEST_POSTGRES_URL"
_PG_USER = "postgres"
_PREFIX = "headwater-pg-"
_OWNER = "owner.pid"  # the pid of the process that started the server, to reap orphans


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (and no HEADWATER_TEST_POSTGRES_URL)."""


@dataclass
class PostgresServer:
    """A running PostgreSQL server (started here, or given by HEADWATER_TEST_POSTGRES_URL)."""

    host: str
    port: int
    user: str
    password: str | None
    dbname: str
    base_dir: Path | None = None
    pg_bin: Path | None = None
    log_path: Path | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def started_here(self) -> bool:
        return self.base_dir is not None

    @property
    def data_dir(self) -> Path | None:
        return self.base_dir / "data" if self.base_dir else None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the server's default database."""
        return self.url_for(self.dbname)

    def url_for(self, dbname: str, user: str | None = None, password: str | None = None,
                driver: str = "postgresql+psycopg") -> str:
        """SQLAlchemy URL of database ``dbname`` (as ``user``/``password``, default the admin)."""
        if user is None:
            user, password = self.user, self.password
        auth = quote(user, safe="")
        if password:
            auth += ":" + quote(password, safe="")
        return f"{driver}://{auth}@{self.host}:{self.port}/{quote(dbname, safe='')}"

    def libpq_kwargs(self, dbname: str | None = None) -> dict[str, object]:
        kwargs: dict[str, object] = {"host": self.host, "port": self.port, "user": self.user,
                                     "dbname": dbname or self.dbname}
        if self.password:
            kwargs["password"] = self.password
        return kwargs

    def admin_execute(self, *statements: str, dbname: str | None = None) -> None:
        """Run statements in autocommit mode as the admin user (CREATE DATABASE needs that)."""
        import psycopg

        with psycopg.connect(**self.libpq_kwargs(dbname), autocommit=True, connect_timeout=10) as conn:  # type: ignore[arg-type]
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (a unique name unless given); returns its URL."""
        name = name or f"hw_{uuid.uuid4().hex[:16]}"
        self.admin_execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        self.admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def create_role(self, name: str, password: str) -> None:
        """Create a login role with a password (replacing one of the same name)."""
        escaped = password.replace("'", "''")
        self.admin_execute(f'DROP ROLE IF EXISTS "{name}"',
                           f"CREATE ROLE \"{name}\" LOGIN SUPERUSER PASSWORD '{escaped}'")

    def stop(self) -> None:
        """Stop a server started here (immediate shutdown) and delete its files; no-op otherwise."""
        if self._stopped or self.base_dir is None or self.pg_bin is None:
            return
        self._stopped = True
        try:
            if (self.base_dir / "data" / "postmaster.pid").exists():
                subprocess.run(
                    _as_pg_user([str(self.pg_bin / "pg_ctl"), "-D", str(self.base_dir / "data"), "-m", "immediate",
                                 "-w", "stop"]),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False,
                )
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def find_postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb`` and ``pg_ctl``, else the
    directory of ``pg_ctl`` on PATH (if ``initdb`` is next to it), else None."""
    candidates = []
    for path in glob.glob("/usr/lib/postgresql/*/bin"):
        version = Path(path).parent.name
        if os.access(os.path.join(path, "initdb"), os.X_OK) and os.access(os.path.join(path, "pg_ctl"), os.X_OK):
            key = tuple(int(p) if p.isdigit() else 0 for p in version.split("."))
            candidates.append((key, Path(path)))
    if candidates:
        return max(candidates)[1]
    on_path = shutil.which("pg_ctl")  # other distributions put the binaries on PATH
    if on_path and os.access(os.path.join(os.path.dirname(on_path), "initdb"), os.X_OK):
        return Path(on_path).parent
    return None


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _as_pg_user(argv: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", _PG_USER, "--", *argv] if _is_root() else argv


def _run(argv: list[str], log_path: Path, timeout: float) -> None:
    with open(log_path, "ab") as log:
        done = subprocess.run(_as_pg_user(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              timeout=timeout, check=False)
    if done.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
        raise ServerStartError(f"{Path(argv[0]).name} failed (exit {done.returncode}): {tail}")


def _hba_lines() -> str:
    return (
        "local all all trust\n"
        f"host all {_PG_USER} 127.0.0.1/32 trust\n"
        "host all all 127.0.0.1/32 scram-sha-256\n"
    )


def start_postgres(timeout: float = 60.0, attempts: int = 3) -> PostgresServer:
    """Initialise and start a private PostgreSQL server on 127.0.0.1; the caller stops it.

    Raises:
        PostgresUnavailable: no server binaries here.
        ServerStartError: the server did not start (the message has the log's tail).
    """
    pg_bin = find_postgres_bin()
    if pg_bin is None:
        raise PostgresUnavailable(POSTGRES_SKIP_REASON)
    if _is_root():
        import pwd

        try:
            pwd.getpwnam(_PG_USER)
        except KeyError:
            raise PostgresUnavailable(f"no {_PG_USER!r} user to run PostgreSQL as; " + POSTGRES_SKIP_REASON) from None
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("PostgreSQL cannot be started as root without runuser; " + POSTGRES_SKIP_REASON)
    _reap_orphans(pg_bin)
    base = Path(tempfile.mkdtemp(prefix=_PREFIX))
    (base / _OWNER).write_text(str(os.getpid()))
    try:
        if _is_root():
            shutil.chown(base, user=_PG_USER)
        os.chmod(base, 0o700)
        data, log_path = base / "data", base / "postgres.log"
        log_path.touch(mode=0o600)
        if _is_root():  # pg_ctl -l appends to it as the postgres user
            shutil.chown(log_path, user=_PG_USER)
        initdb = [str(pg_bin / "initdb"), "-D", str(data), "-U", _PG_USER, "-A", "trust", "-E", "UTF8", "--no-sync",
                  "--no-instructions"]
        _run(initdb, log_path, timeout)
        (data / "pg_hba.conf").write_text(_hba_lines())
        if _is_root():
            shutil.chown(data / "pg_hba.conf", user=_PG_USER)
        last_error: Exception | None = None
        for _ in range(attempts):
            port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -k {data} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                pg_ctl = [str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(log_path), "-w", "-t", str(int(timeout)),
                          "-o", options, "start"]
                _run(pg_ctl, log_path, timeout + 10)
            except ServerStartError as exc:  # most likely another process took the port meanwhile
                last_error = exc
                time.sleep(0.2)
                continue
            return PostgresServer("127.0.0.1", port, _PG_USER, None, "postgres", base_dir=base, pg_bin=pg_bin,
                                  log_path=log_path)
        raise last_error or ServerStartError("PostgreSQL did not start")
    except BaseException:
        PostgresServer("127.0.0.1", 0, _PG_USER, None, "postgres", base_dir=base, pg_bin=pg_bin).stop()
        raise


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap_orphans(pg_bin: Path) -> None:
    """Stop servers left by sessions that were killed before their cleanup ran."""
    for owner_file in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*/{_OWNER}"):
        try:
            owner = int(owner_file.read_text().strip())
        except (OSError, ValueError):
            continue
        if owner != os.getpid() and not _pid_alive(owner):
            PostgresServer("127.0.0.1", 0, _PG_USER, None, "postgres", base_dir=owner_file.parent, pg_bin=pg_bin).stop()


def server_from_url(url: str) -> PostgresServer:
    """A :class:`PostgresServer` describing an existing server given by URL."""
    parts = urlsplit(url)
    return PostgresServer(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=unquote(parts.username or _PG_USER),
        password=unquote(parts.password) if parts.password else None,
        dbname=unquote(parts.path.lstrip("/")) or "postgres",
    )


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """The server of HEADWATER_TEST_POSTGRES_URL, or a private one started and stopped here."""
    url = os.environ.get(ENV_URL)
    if url:
        yield server_from_url(url)
        return
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the test session (skipped with a reason if none can be had)."""
    try:
        with running_postgres() as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on ``postgres_server`` for one test; returns its URL."""
    name = f"hw_{uuid.uuid4().hex[:16]}"
    url = postgres_server.create_database(name)
    yield url
    try:
        postgres_server.drop_database(name)
    except Exception:  # a test may leave the database unusable; the server goes away anyway
        pass
