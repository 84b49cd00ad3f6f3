"""Entry point of `make demo`.

Runs the ETL + dbt pipeline in examples/etl when it is present; otherwise walks through
blocks: create and save them through the CLI and Python, load them back by name.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / ".headwater-demo"


def main() -> int:
    os.environ.setdefault("HEADWATER_HOME", str(HOME))
    pipeline = ROOT / "examples" / "etl" / "run.py"
    if pipeline.exists():
        return subprocess.call([sys.executable, str(pipeline)])
    return _blocks_walkthrough()


def _blocks_walkthrough() -> int:
    headwater = Path(sys.executable).with_name("headwater")
    data = HOME / "raw"
    data.mkdir(parents=True, exist_ok=True)
    subprocess.check_call([str(headwater), "block", "create", "local-file-system", "raw", "--set", f"basepath={data}",
                           "--overwrite"])
    env = {**os.environ, "DEMO_TOKEN": "demo-token-123456"}
    subprocess.check_call([str(headwater), "block", "create", "secret", "api-token", "--secret-env", "value=DEMO_TOKEN",
                           "--overwrite"], env=env)
    from headwater import Block, Secret

    raw = Block.load("raw")
    raw.write_path("hello.txt", b"hello from headwater\n")
    print("raw/hello.txt ->", raw.read_path("hello.txt").decode().strip())
    print("api-token loaded, shown as:", repr(Secret.load("api-token").value))
    subprocess.check_call([str(headwater), "block", "ls"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
