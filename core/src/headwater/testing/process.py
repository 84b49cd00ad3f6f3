"""Start real servers for tests: output to a log file, wait for the port, stop reliably."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ServerProcess", "ServerStartError", "free_port", "wait_for_port"]


class ServerStartError(RuntimeError):
    """A test server did not come up; the message includes the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 30.0,
                  proc: subprocess.Popen | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class ServerProcess:
    """A server process whose stdout/stderr go to ``log_path`` (never an undrained pipe).

    Args:
        argv: The command to run.
        port: The TCP port to wait for.
        log_path: Where the process's output goes.
        env: Extra environment variables.
        timeout: Seconds to wait for the port.
        kill_signal: Signal used to stop it (some servers need SIGKILL).
    """

    def __init__(
        self,
        argv: Sequence[str],
        port: int,
        log_path: str | os.PathLike[str],
        env: dict[str, str] | None = None,
        timeout: float = 30.0,
        kill_signal: int = signal.SIGTERM,
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.port = port
        self.log_path = Path(log_path)
        self.env = {**os.environ, **(env or {})}
        self.timeout = timeout
        self.kill_signal = kill_signal
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None

    def start(self) -> ServerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=self.env, cwd=self.cwd, start_new_session=True,
        )
        log.close()
        if not wait_for_port(self.port, timeout=self.timeout, proc=self.proc):
            self.stop()
            raise ServerStartError(f"{self.argv[0]} did not open port {self.port}: {self.log_tail()}")
        return self

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, self.kill_signal)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
