"""Run the real ``headwater`` command on a pseudo-terminal, answering its prompts."""

from __future__ import annotations

import os
import pty
import select
import sys
import time
from pathlib import Path

HEADWATER_BIN = Path(sys.executable).with_name("headwater")


def on_terminal(*args: str, answers: list[tuple[bytes, bytes]] = (), env: dict | None = None,
                timeout: float = 60) -> tuple[int, bytes]:
    """Run ``headwater ARGS`` on a pty; when the output shows ``prompt``, type ``reply``.
    Returns (exit code, everything the terminal showed)."""
    pending = list(answers)
    pid, fd = pty.fork()
    if pid == 0:  # child: the CLI on a real terminal
        os.execve(str(HEADWATER_BIN), [str(HEADWATER_BIN), *args], {**os.environ, **(env or {})})
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if pending and pending[0][0] in seen:
            os.write(fd, pending.pop(0)[1])
            seen += b"\n<answered>\n"
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen
