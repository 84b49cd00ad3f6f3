"""Helpers for orchestration tests: a project folder with flows, workers as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HEADWATER_BIN = Path(sys.executable).with_name("headwater")

FLOWS = """
import os
import pathlib
import time

from headwater import flow, get_run_logger
from headwater.runtime import flow_run


def _mark(kind, run_id=None):
    out = pathlib.Path(os.environ["HW_TEST_OUT"])
    out.mkdir(exist_ok=True)
    with open(out / f"{run_id or flow_run.id}.{kind}", "a") as fh:
        fh.write("x\\n")


@flow
def trivial(n: int = 0):
    _mark("ran")
    return n


@flow(flow_run_name="nightly-{n}")
def named(n: int = 0):
    _mark("ran")
    return n


@flow
def needs_day(day: str, limit: int = 5):
    return day


def _on_cancel(flow, run, state):
    _mark("cancel-hook", run.id)


@flow(on_cancellation=[_on_cancel])
def sleeper(seconds: float = 30):
    _mark("ran")
    get_run_logger().info("sleeping now")
    time.sleep(seconds)


@flow
def fails():
    get_run_logger().info("about to fail")
    raise ValueError("boom")
"""


def make_project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "flows.py").write_text(FLOWS)
    return folder


def env(out: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "HW_TEST_OUT": str(out), "HEADWATER_LOGGING_LEVEL": "WARNING", **extra}


def cli(*args: str, environ: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HEADWATER_BIN), *args], capture_output=True, text=True, env=environ or dict(os.environ), timeout=timeout
    )


def start_worker(pool: str, environ: dict[str, str], *extra: str, log: Path | None = None) -> subprocess.Popen[Any]:
    out = open(log, "a") if log else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [str(HEADWATER_BIN), "worker", "start", "--pool", pool, *extra], env=environ, stdout=out, stderr=out
    )


def stop(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 20) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    return proc.wait(timeout=timeout)


def wait_for(predicate: Callable[[], Any], timeout: float = 30, interval: float = 0.1, what: str = "condition") -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def states() -> dict[str, int]:
    from headwater.store.engine import db_read

    with db_read() as tx:
        return {r.state: r.n for r in tx.execute("SELECT state, COUNT(*) AS n FROM scheduled_runs GROUP BY state")}


def runs() -> list[dict[str, Any]]:
    from headwater.store.engine import db_read

    with db_read() as tx:
        return [dict(r) for r in tx.execute("SELECT * FROM scheduled_runs")]


def marks(out: Path, kind: str = "ran") -> dict[str, int]:
    found: dict[str, int] = {}
    if out.is_dir():
        for f in out.glob(f"*.{kind}"):
            found[f.name.split(".")[0]] = len(f.read_text().splitlines())
    return found


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


SECRET_FLOW = """
from headwater import SecretStr, flow


@flow
def login(user: str, password: SecretStr | None = None):
    return user
"""
