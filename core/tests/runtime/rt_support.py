"""Flows and helpers shared by the runtime tests (importable by subprocesses and worker processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from headwater.history.writer import flush
from headwater.runtime import ProcessPoolTaskRunner, flow, get_run_logger, task

HERE = Path(__file__).parent
HEADWATER_BIN = Path(sys.executable).with_name("headwater")


def env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))}


def run_py(code: str, check: bool = True, timeout: float = 120,
           extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**env(), **(extra_env or {})}, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"subprocess failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def cli(*args: str, timeout: float = 120, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(HEADWATER_BIN), *args], capture_output=True, text=True,
                          env={**env(), **(extra_env or {})}, timeout=timeout)


def history():
    """The reader module, after flushing this process's queued history."""
    from headwater.history import reader

    flush()
    return reader


@task
def square(x: int) -> int:
    get_run_logger().info("squaring %s in pid %s", x, os.getpid())
    return x * x


@task
def boom(x: int) -> int:
    raise ValueError(f"bad input {x}")


@flow(task_runner=ProcessPoolTaskRunner(max_workers=2))
def squares_in_processes(n: int = 4) -> list[int]:
    futures = square.map(range(n))
    total = square.submit(futures[1])
    return [f.result() for f in futures] + [total.result()]


@flow(task_runner=ProcessPoolTaskRunner(max_workers=1))
def failing_in_process() -> int:
    return boom.submit(3).result()


@task
def use_worker_token() -> None:
    from headwater import Secret

    token = Secret.load("worker-token").get()  # loaded only in the worker process
    get_run_logger().info("calling the API with %s", token)
    raise PermissionError(f"rejected token {token}")


@flow(task_runner=ProcessPoolTaskRunner(max_workers=1))
def worker_secret_flow() -> None:
    use_worker_token.submit().result()
