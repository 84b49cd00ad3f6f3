"""Flows and a block type the UI tests run (in the test process or in a subprocess)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Literal

from headwater import Block, SecretStr, flow, get_run_logger, task
from headwater.blocks import SecretDict
from pydantic import Field

PLANTED = "pl4nted/Secret+value=ü&x"


class Warehouse(Block):
    """A warehouse connection (test block type with secrets)."""

    _block_type_slug = "ui-warehouse"  # core's tests have a "warehouse" of their own

    url: str = Field(description="Where it is")
    port: int = Field(default=5432, description="Its port")
    password: SecretStr = Field(description="Its password")
    extra: SecretDict | None = Field(default=None, description="More secret settings")


class Nightly(Block):
    """A job that writes to a saved warehouse (test block type with a nested block)."""

    _block_type_slug = "ui-nightly"

    target: Warehouse | None = Field(default=None, description="The warehouse it loads into")
    tables: list[str] = Field(default_factory=list, description="Tables it refreshes")
    mode: Literal["append", "replace"] = Field(default="append", description="How rows are written")


@task
def extract(n: int) -> list[int]:
    get_run_logger().info("extracting %s rows", n)
    return list(range(n))


@task(retries=1)
def transform(rows: list[int]) -> int:
    return sum(rows)


@task
def load(total: int, label: str) -> str:
    get_run_logger().info("loaded %s as %s", total, label)
    return label


@flow(tags=["nightly", "etl"])
def etl(n: int = 5, label: str = "daily") -> str:
    rows = extract.submit(n)
    return load.submit(transform.submit(rows), label).result()


@flow
def fan_out(n: int = 120) -> int:
    """``n`` mapped task runs feeding one total: more task runs than the lineage draws one by one."""
    parts = transform.map([[i] for i in range(n)])
    load.submit(transform.submit(parts), "fan").result()
    return n


@task
def use_secret(name: str) -> None:
    block = Warehouse.load(name)
    get_run_logger().info("connecting with %s", block.password.get_secret_value())
    raise ValueError(f"could not log in as {block.password.get_secret_value()}")


@flow(tags=["secret"])
def leaky(name: str, password: SecretStr, api_token: str) -> None:
    get_run_logger().info("token is %s", api_token)
    use_secret(name)


@flow
def parent() -> str:
    return etl(n=2, label="from-parent")


@flow
def chatty(lines: int = 2100) -> None:
    log = get_run_logger()
    for i in range(lines):
        log.info("line %05d", i)


@task
def step(i: int) -> int:
    return i + 1


def _wait_for(gate: str) -> None:
    deadline = time.time() + 60
    while not Path(gate).exists() and time.time() < deadline:
        time.sleep(0.05)


@flow
def gated(gate: str, gate2: str | None = None) -> str:
    """Logs a line, waits for the file ``gate`` to exist, logs another; with ``gate2``, then runs
    a task and waits for that file too."""
    log = get_run_logger()
    log.info("before the gate")
    _wait_for(gate)
    log.info("after the gate")
    if gate2:
        step(1)
        _wait_for(gate2)
    return "done"


if __name__ == "__main__":  # python uiflows.py gated GATE
    import sys

    if sys.argv[1] == "gated":
        gated(*sys.argv[2:4])
    elif sys.argv[1] == "etl":
        etl()
    print("pid", os.getpid())
