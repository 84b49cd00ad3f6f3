"""Blocks and start-up cost: Headwater vs raw sqlite3 vs Prefect 3.9 (issue 2 / issue 10 targets).

    .venv/bin/python bench/blocks.py [--repeat N] [--quick] [--no-peer] [--no-json]

Figures (Headwater side uses HEADWATER_SECRETS_BACKEND=encrypted and a bench key):
- ``import headwater`` added to ``python -c pass``: the import statement timed inside a fresh
  interpreter (whole-process wall times of both are shown too, but differ by more noise
  than the figure itself); the floor is ``import sqlite3, json``; Prefect is ``import prefect``.
- ``from headwater import Block`` added time (what a block user really pays) vs
  ``from prefect.blocks.core import Block``; no target, shown for honesty.
- Warm ``load`` and ``save(overwrite=True)`` of a 5-field block with one SecretStr, in one
  process after a first save; floor is raw sqlite3 (WAL, synchronous=NORMAL, as the store)
  upsert/select of the same JSON document; Prefect's are timed inside a long-lived peer
  process talking to its ephemeral server.
- First ``save`` in a fresh process with a fresh HEADWATER_HOME / PREFECT_HOME, whole process.
- ``headwater block ls`` whole process on a store of 20 blocks vs ``prefect block ls``.

The peer worker imports this file too (``peer_*`` functions), so the top level stays stdlib.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path

import harness
from harness import Process, Row, Stats

HERE = Path(__file__).resolve().parent
PY = sys.executable
N_LISTED = 20

DOC = {
    "username": "etl",
    "password": "***",
    "region": "eu-west-1",
    "endpoint_url": "http://127.0.0.1:9000",
    "extra": {"retries": 3, "profile": "bench"},
}

HW_BLOCK_SRC = '''
from pydantic import Field
from headwater import Block, SecretStr

class BenchCredentials(Block):
    """Credentials-like block used by bench/blocks.py."""
    username: str = Field(description="User name")
    password: SecretStr = Field(description="Password")
    region: str = Field(default="eu-west-1", description="Region")
    endpoint_url: str | None = Field(default=None, description="Endpoint")
    extra: dict = Field(default_factory=dict, description="Extra options")
'''

PREFECT_BLOCK_SRC = HW_BLOCK_SRC.replace(
    "from headwater import Block, SecretStr",
    "from pydantic import SecretStr\nfrom prefect.blocks.core import Block",
).replace(
    "class BenchCredentials(Block):", "class BenchCredentials(Block):\n    _block_type_slug = 'bench-credentials'"
)

MAKE = (
    'BenchCredentials(username="etl", password="s3cr3t-bench", region="eu-west-1", '
    'endpoint_url="http://127.0.0.1:9000", extra={"retries": 3, "profile": "bench"})'
)

FIRST_SAVE = HW_BLOCK_SRC + f"\n{MAKE}.save('first')\n"
PREFECT_FIRST_SAVE = PREFECT_BLOCK_SRC + f"\n{MAKE}.save('first')\n"


# ---------------------------------------------------------------- floor: raw sqlite3

FLOOR_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS docs (id INTEGER PRIMARY KEY, slug TEXT NOT NULL, name TEXT NOT NULL, "
    "data TEXT NOT NULL, updated REAL, UNIQUE (slug, name))"
)
FLOOR_UPSERT = (
    "INSERT INTO docs (slug, name, data, updated) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (slug, name) DO UPDATE SET data = excluded.data, updated = excluded.updated"
)


def floor_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(FLOOR_SCHEMA)
    return conn


def floor_save(conn: sqlite3.Connection, name: str = "one") -> None:
    import time

    conn.execute("BEGIN IMMEDIATE")
    conn.execute(FLOOR_UPSERT, ("bench-credentials", name, json.dumps(DOC), time.time()))
    conn.execute("COMMIT")


def floor_load(conn: sqlite3.Connection, name: str = "one") -> dict:
    row = conn.execute("SELECT data FROM docs WHERE slug = ? AND name = ?", ("bench-credentials", name)).fetchone()
    return json.loads(row[0])


FLOOR_FIRST_SAVE = f"""
import json, sqlite3, sys, time, os
conn = sqlite3.connect(os.path.join(sys.argv[1], "floor.db"), isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL"); conn.execute("PRAGMA synchronous=NORMAL")
conn.execute({FLOOR_SCHEMA!r})
conn.execute("BEGIN IMMEDIATE")
conn.execute({FLOOR_UPSERT!r}, ("bench-credentials", "first", json.dumps({DOC!r}), time.time()))
conn.execute("COMMIT")
"""

FLOOR_LS = """
import sqlite3, sys, os
conn = sqlite3.connect(os.path.join(sys.argv[1], "floor.db"))
for row in conn.execute("SELECT slug, name, updated FROM docs ORDER BY slug, name"):
    print(*row)
"""


# ---------------------------------------------------------------- peer side (runs in the peer venv)

_peer_ns: dict = {}


def _module_from_source(name: str, source: str) -> dict:
    """Define the bench block class in a real module so pydantic can resolve its annotations."""
    import types

    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(source, module.__dict__)
    return module.__dict__


def peer_setup() -> str:
    import prefect

    _peer_ns.update(_module_from_source("bench_prefect_blocks", PREFECT_BLOCK_SRC))
    block = eval(MAKE, _peer_ns)
    block.save("one", overwrite=True)
    _peer_ns["block"] = block
    return prefect.__version__


def peer_save() -> None:
    _peer_ns["block"].save("one", overwrite=True)


def peer_load() -> None:
    _peer_ns["BenchCredentials"].load("one")


def peer_fill(n: int) -> None:
    block = _peer_ns["block"]
    for i in range(n):
        block.save(f"listed-{i}", overwrite=True)


# ---------------------------------------------------------------- Headwater side


def hw_in_process(home: Path) -> dict:
    env = harness.headwater_env(home)
    for key in [k for k in os.environ if k.startswith("HEADWATER_")]:
        del os.environ[key]
    os.environ.update({k: v for k, v in env.items() if k.startswith("HEADWATER_")})
    from headwater.settings import reset_settings

    reset_settings()
    ns = _module_from_source("bench_hw_blocks", HW_BLOCK_SRC)
    block = eval(MAKE, ns)
    block.save("one", overwrite=True)
    cls = ns["BenchCredentials"]
    assert cls.load("one").password.get_secret_value() == "s3cr3t-bench"
    return {"save": lambda: block.save("one", overwrite=True), "load": lambda: cls.load("one"), "block": block}


def _import_code(statement: str) -> str:
    """Child code timing one import statement in a fresh interpreter (its added cost)."""
    return f"import time\nt = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"


def import_rows(args, peer_py: str | None) -> list[Row]:
    env = harness.headwater_env()
    impls = {
        "hw": Process([PY, "-c", _import_code("import headwater")], env=env, self_timed=True),
        "floor": Process([PY, "-c", _import_code("import sqlite3, json")], env=env, self_timed=True),
        "hw_block": Process([PY, "-c", _import_code("from headwater import Block")], env=env, self_timed=True),
        "pass": Process([PY, "-c", "pass"], env=env),
        "hw_wall": Process([PY, "-c", "import headwater"], env=env),
    }
    peer_names = ("prefect", "prefect_block")
    if peer_py:
        penv = harness.peer_env()
        impls["prefect"] = Process([peer_py, "-c", _import_code("import prefect")], env=penv, self_timed=True)
        impls["prefect_block"] = Process(
            [peer_py, "-c", _import_code("from prefect.blocks.core import Block")], env=penv, self_timed=True
        )
    st = harness.compare(impls, repeat=max(2 * args.repeat, 9), warmup=1, optional=peer_names)
    return [
        Row("import headwater (added to python -c pass)", st["hw"], st["floor"], st.get("prefect"), 0.050,
            note="timed in the child"),
        Row("python -c 'import headwater' vs python -c pass", st["hw_wall"], st["pass"], None, None,
            note="whole process, for reference"),
        Row("from headwater import Block (added)", st["hw_block"], st["floor"], st.get("prefect_block"), None,
            note="timed in the child"),
    ]  # fmt: skip


def warm_rows(args, use_peer: bool) -> tuple[list[Row], dict | None]:
    """Warm load/save; returns the rows and the peer env whose PREFECT_HOME holds N_LISTED blocks."""
    fast = 50 if args.quick else 200
    hw = hw_in_process(harness.fresh_dir("hwbench-warm-"))
    fconn = floor_connect(harness.fresh_dir("hwbench-floor-") / "floor.db")
    floor_save(fconn)
    peer = harness.PeerWorker(__file__) if use_peer else None
    peer_env = None
    rows = []
    try:
        if peer:
            try:
                peer.call("peer_setup")
            except harness.BenchError as exc:
                print(f"[bench] Prefect warm figures skipped: {exc}", file=sys.stderr)
                peer.close()
                peer = None
        for op, target in (("load", 0.0005), ("save", 0.005)):
            impls = {
                "hw": hw[op],
                "floor": (lambda: floor_load(fconn)) if op == "load" else (lambda: floor_save(fconn)),
                "prefect": peer.timed(f"peer_{op}") if peer else None,
            }
            # A Prefect call takes 50-150 ms: fewer calls per sample on that side.
            st = harness.compare(impls, repeat=args.repeat, warmup=1, number={"hw": fast, "floor": fast, "prefect": 3})
            note = f"{fast} calls/sample" + (", Prefect 3" if "prefect" in st else "")
            rows.append(Row(f"warm Block.{op}", st["hw"], st["floor"], st.get("prefect"), target, note=note))
        if peer:
            peer.call("peer_fill", N_LISTED)
            peer_env = peer.env
    finally:
        if peer:
            peer.close()
    return rows, peer_env


def _cpu_row(label: str, impls: dict, st: dict) -> Row:
    """CPU seconds of the same runs: steadier than wall time when the machine is shared."""

    def cpu(name: str) -> Stats | None:
        return Stats.of(impls[name].cpu_samples) if name in st else None

    return Row(label, cpu("hw"), cpu("floor"), cpu("prefect"), None, note="children included")


def process_rows(args, peer_py: str | None, peer_ls_env: dict | None) -> list[Row]:
    def fresh_hw_env() -> dict:
        return harness.headwater_env(harness.fresh_dir("hwbench-first-"))

    impls = {
        "hw": Process([PY, "-c", FIRST_SAVE], env_factory=fresh_hw_env),
        "floor": _FreshDirProcess([PY, "-c", FLOOR_FIRST_SAVE]),
        "prefect": Process([peer_py, "-c", PREFECT_FIRST_SAVE], env_factory=harness.peer_env, timeout=300)
        if peer_py
        else None,
    }
    # A Prefect first save starts its server (10-20 s here): three rounds when it takes part.
    repeat = min(args.repeat, 3) if peer_py else args.repeat
    st = harness.compare(impls, repeat=repeat, warmup=0)
    rows = [Row("first save, fresh process + fresh home", st["hw"], st["floor"], st.get("prefect"), 0.300,
                note="whole process"), _cpu_row("  same, CPU user+sys", impls, st)]  # fmt: skip

    ls_env = harness.headwater_env(harness.fresh_dir("hwbench-ls-"))
    fill = HW_BLOCK_SRC + f"\nb = {MAKE}\nfor i in range({N_LISTED}):\n    b.save(f'listed-{{i}}')\n"
    Process([PY, "-c", fill], env=ls_env).sample()
    floor_dir = harness.fresh_dir("hwbench-floorls-")
    fconn = floor_connect(floor_dir / "floor.db")
    for i in range(N_LISTED):
        floor_save(fconn, f"listed-{i}")
    fconn.close()
    prefect_cli = str(Path(peer_py).with_name("prefect")) if peer_py else ""
    impls = {
        "hw": Process([str(Path(PY).with_name("headwater")), "block", "ls"], env=ls_env),
        "floor": Process([PY, "-c", FLOOR_LS, str(floor_dir)]),
        "prefect": Process([prefect_cli, "block", "ls"], env=peer_ls_env, timeout=300) if peer_ls_env else None,
    }
    st = harness.compare(impls, repeat=repeat, warmup=1)
    rows.append(Row(f"headwater block ls ({N_LISTED} blocks)", st["hw"], st["floor"], st.get("prefect"), 0.300,
                    note="whole process"))  # fmt: skip
    rows.append(_cpu_row("  same, CPU user+sys", impls, st))
    return rows


def main() -> int:
    args = harness.bench_args(__doc__.splitlines()[0], repeat=7)
    use_peer = harness.peer_enabled(args)
    peer_py = str(harness.peer_python()) if use_peer else None
    rows = import_rows(args, peer_py)
    warm, peer_ls_env = warm_rows(args, use_peer)
    rows += warm
    rows += process_rows(args, peer_py, peer_ls_env)
    missed = harness.report("blocks", rows, json_out=not args.no_json)
    if use_peer:
        print(
            "   Prefect: ephemeral API server on 127.0.0.1 with SQLite in a private PREFECT_HOME, analytics off;"
            " its first save and block ls include starting that server."
        )
    return harness.exit_code(missed)


class _FreshDirProcess(Process):
    """The floor's first save: a new directory (passed as argv[-1]) for every run."""

    def sample(self, number: int = 1) -> float:
        argv = self.argv
        try:
            self.argv = [*argv, str(harness.fresh_dir("hwbench-floorfirst-"))]
            return super().sample(number)
        finally:
            self.argv = argv


if __name__ == "__main__":
    sys.exit(main())
