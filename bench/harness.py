"""Benchmark harness shared by every ``bench/*.py`` script (stdlib only; see bench/README.md).

Run a script as ``.venv/bin/python bench/<area>.py``: ``bench/`` is then on ``sys.path`` so
``import harness`` works. This file also runs in the Prefect peer venv as the peer worker,
so it must stay dependency-free.

Measuring
    ``compare({"hw": impl, "floor": impl, "prefect": impl}, repeat=5, warmup=1, number=1,
    optional=("prefect",)) -> {name: Stats}``: ``warmup`` untimed rounds, then ``repeat``
    rounds that *alternate* the implementations (order rotating each round) so machine
    noise hits all alike. A sample is seconds per call over ``number`` calls (``number`` may
    be a dict per name). An impl is a callable (timed here) or an object with
    ``sample(number) -> float`` that times itself (``Process``, ``PeerWorker.timed``).
    ``None`` impls are skipped; one named in ``optional`` that raises ``BenchError`` is
    dropped with a note on stderr. ``measure(fn, repeat, warmup, number) -> Stats``: one impl.
    ``Process(argv, env=None, env_factory=None, cwd=None, timeout=600, self_timed=False)``:
    a whole process; ``sample()`` is its wall time (or, ``self_timed``, the seconds the child
    prints on its last line). ``env_factory()`` (untimed) gives each run its environment,
    e.g. a fresh home. Output goes to a file; a non-zero exit raises ``BenchError``.
    ``Stats``: ``samples``, ``median``, ``min``, ``max``, ``Stats.of(list)``,
    ``paired_minus(other)`` (per-round differences, for "added time"), ``scaled(f)``.

The Prefect peer (bench/.venv-prefect, made by ``make bench-peer``)
    ``peer_python()`` (None without the venv), ``peer_version()`` (``"prefect 3.9.1, ..."``,
    printed in every report), ``peer_enabled(args)`` (venv exists and no ``--no-peer``),
    ``peer_env(home=None)``: private PREFECT_HOME, PREFECT_API_URL unset (ephemeral server on
    127.0.0.1), analytics off. ``PeerWorker(module_path, env=None)``: a long-lived peer
    process importing ``module_path`` (bench/ removed from its path, see ``unshadow``);
    ``.call(fn, *args)`` returns ``fn(*args)`` (JSON-able), ``.timed(fn, *args)`` is an impl
    for ``compare`` timed inside the peer; stderr goes to ``.log_path``; use it as a context
    manager. ``run_peer_script(path, *args, env=None)``: run a script in the peer venv and
    return the JSON on its last stdout line.

Reporting
    ``Row(workload, hw, floor=None, peer=None, target=None, unit="s", note="")``: Stats or
    None; ``target`` bounds ``hw.median`` in the row's unit; ``unit="s"`` prints µs/ms/s,
    another unit ("MB", "KB") prints numbers as they are. ``report(area, rows, extra=None,
    json_out=True) -> missed``: prints date, machine, Python, headwater and peer versions and
    the table (workload, Headwater median [min–max], floor, Prefect, HW/floor, HW/Prefect,
    target, pass/MISS); writes ``bench/results/<area>-latest.json`` and a timestamped copy.
    End a script with ``sys.exit(exit_code(missed))``: 0 all met, 3 some missed (a crash is 1).
    ``python bench/harness.py --markdown``: every latest result as Markdown tables.

Helpers
    ``bench_args(description, repeat=5)``: ``--repeat N``, ``--quick`` (read ``args.quick``),
    ``--no-peer``, ``--no-json``. ``headwater_env(home=None)``: isolated HEADWATER_HOME, the
    encrypted secret backend and a bench key. ``fresh_dir(prefix)``: temp dir removed at exit.
    ``unshadow()``: drop bench/ from ``sys.path`` after ``import harness`` in a script named
    like a library it imports (``dbt.py``), or ``import dbt`` finds the script itself.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import datetime as _dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import DEVNULL, STDOUT
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PEER_VENV = BENCH_DIR / ".venv-prefect"
RESULTS_DIR = BENCH_DIR / "results"
BENCH_SECRET_KEY = base64.urlsafe_b64encode(b"headwater-bench-key-32-bytes-lon").decode()

# fmt: off
__all__ = [
    "BenchError", "Stats", "Process", "PeerWorker", "Row", "measure", "compare", "report",
    "bench_args", "peer_enabled", "peer_python", "peer_version", "peer_env", "run_peer_script",
    "headwater_env", "fresh_dir", "unshadow", "fmt_value", "exit_code", "markdown", "MISSED_EXIT",
]
# fmt: on
MISSED_EXIT = 3


class BenchError(RuntimeError):
    """A workload failed (non-zero exit, peer error); the message says which and why."""


@dataclass
class Stats:
    """Samples of one measurement (seconds per call, or the row's unit)."""

    samples: list[float]

    @classmethod
    def of(cls, samples: list[float]) -> Stats:
        if not samples:
            raise BenchError("no samples")
        return cls(list(samples))

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    def paired_minus(self, other: Stats) -> Stats:
        """Per-sample difference (both taken in the same alternating rounds)."""
        return Stats.of([a - b for a, b in zip(self.samples, other.samples, strict=True)])

    def scaled(self, factor: float) -> Stats:
        return Stats.of([s * factor for s in self.samples])

    def to_json(self) -> dict[str, Any]:
        return {"median": self.median, "min": self.min, "max": self.max, "samples": self.samples}


def _sample(impl: Any, number: int) -> float:
    if hasattr(impl, "sample"):
        return float(impl.sample(number))
    start = time.perf_counter()
    for _ in range(number):
        impl()
    return (time.perf_counter() - start) / number


def measure(fn: Any, repeat: int = 5, warmup: int = 1, number: int = 1) -> Stats:
    """Time ``fn`` (a callable or an object with ``sample(number)``); see module doc."""
    return compare({"x": fn}, repeat=repeat, warmup=warmup, number=number)["x"]


def compare(
    impls: dict[str, Any],
    repeat: int = 5,
    warmup: int = 1,
    number: int | dict[str, int] = 1,
    optional: tuple[str, ...] = ("prefect",),
) -> dict[str, Stats]:
    """Time several implementations alternately, rotating the order every round.

    ``number`` may be a dict giving calls per sample for each name (e.g. fewer for a slow peer).

    An implementation named in ``optional`` that raises ``BenchError`` is dropped (with a
    note on stderr) instead of aborting the others; its name is then absent from the result.
    """
    live = [(name, impl) for name, impl in impls.items() if impl is not None]
    samples: dict[str, list[float]] = {name: [] for name, _ in live}

    def run(name: str, impl: Any) -> float | None:
        try:
            return _sample(impl, number.get(name, 1) if isinstance(number, dict) else number)
        except BenchError as exc:
            if name not in optional:
                raise
            print(f"[bench] {name} dropped from this figure: {str(exc)[-1500:]}", file=sys.stderr)
            live[:] = [(n, i) for n, i in live if n != name]
            samples.pop(name, None)
            return None

    for _ in range(warmup):
        for name, impl in list(live):
            run(name, impl)
    for _name, impl in live:
        getattr(impl, "cpu_samples", []).clear()
    for rnd in range(repeat):
        shift = rnd % len(live) if live else 0
        for name, impl in live[shift:] + live[:shift]:
            value = run(name, impl)
            if value is not None:
                samples[name].append(value)
    return {name: Stats.of(s) for name, s in samples.items()}


def fresh_dir(prefix: str = "hwbench-", parent: str | Path | None = None) -> Path:
    """A new temporary directory (under ``parent`` if given), removed when the interpreter exits."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    atexit.register(shutil.rmtree, path, True)
    return path


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(DO_NOT_TRACK="1", DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    return env


def unshadow() -> None:
    """Remove bench/ from sys.path (harness stays imported); see module doc."""
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]


def headwater_env(home: Path | None = None) -> dict[str, str]:
    """Environment for a Headwater process with its own HEADWATER_HOME (see module doc)."""
    env = _base_env()
    for key in [k for k in env if k.startswith("HEADWATER_")]:
        del env[key]
    env["HEADWATER_HOME"] = str(home or fresh_dir("hwbench-home-"))
    env["HEADWATER_SECRETS_BACKEND"] = "encrypted"
    env["HEADWATER_SECRET_KEY"] = BENCH_SECRET_KEY
    env["HEADWATER_LOGGING_LEVEL"] = "WARNING"
    return env


@dataclass
class Process:
    """A whole-process workload; ``sample()`` returns its wall time in seconds.

    ``cpu_samples`` holds the user+system CPU seconds of each timed run (children included),
    a steadier figure than wall time on a shared machine; ``compare`` clears it after warm-up.
    """

    argv: list[str]
    env: dict[str, str] | None = None
    env_factory: Callable[[], dict[str, str]] | None = None
    cwd: str | Path | None = None
    timeout: float = 600
    self_timed: bool = False
    cpu_samples: list[float] = field(default_factory=list)

    def sample(self, number: int = 1) -> float:
        total = cpu = 0.0
        for _ in range(number):
            env = self.env_factory() if self.env_factory else self.env
            with tempfile.TemporaryFile() as out:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                try:
                    proc = subprocess.run(self.argv, env=env, cwd=self.cwd, stdin=DEVNULL, stdout=out, stderr=STDOUT,
                                          timeout=self.timeout)  # fmt: skip
                except subprocess.TimeoutExpired:
                    raise BenchError(f"{self.argv[0]} ... did not finish in {self.timeout} s") from None
                elapsed = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                out.seek(0)
                text = out.read().decode(errors="replace")
                if proc.returncode != 0:
                    raise BenchError(f"{' '.join(map(str, self.argv))} exited {proc.returncode}:\n{text[-2000:]}")
                total += float(text.strip().splitlines()[-1]) if self.self_timed else elapsed
        self.cpu_samples.append(cpu / number)
        return total / number


def peer_python() -> Path | None:
    """The peer venv's interpreter, or None when ``make bench-peer`` has not been run."""
    exe = PEER_VENV / "bin" / "python"
    return exe if exe.exists() else None


_peer_version: str | None = None


def peer_version() -> str | None:
    """``"prefect X.Y.Z"`` of the peer venv (plus its integrations), or None without a peer."""
    global _peer_version
    exe = peer_python()
    if exe is None:
        return None
    if _peer_version is None:
        code = (
            "from importlib.metadata import version as v, PackageNotFoundError as E\n"
            "out=[]\n"
            "for n in ['prefect','prefect-aws','prefect-gcp','prefect-sqlalchemy','prefect-dbt','dbt-core']:\n"
            "    try: out.append(f'{n} {v(n)}')\n"
            "    except E: pass\n"
            "print(', '.join(out))"
        )
        res = subprocess.run([str(exe), "-c", code], capture_output=True, text=True, timeout=120)
        _peer_version = res.stdout.strip() or f"unknown ({res.stderr.strip()[-200:]})"
    return _peer_version


def peer_env(home: Path | None = None) -> dict[str, str]:
    """Environment for a peer process: private PREFECT_HOME, ephemeral server, no telemetry."""
    env = _base_env()
    for key in [k for k in env if k.startswith(("PREFECT_", "HEADWATER_"))]:
        del env[key]
    home = home or fresh_dir("hwbench-prefect-")
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_CLI_PROMPT="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_SERVER_LOGGING_LEVEL="WARNING",
        PREFECT_LOCAL_STORAGE_PATH=str(home / "storage"),
        # Prefect's default (20 s, counted in sleep steps) is too short on a loaded 2-core box.
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180",
    )
    return env


def run_peer_script(path: str | Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> Any:
    """Run ``path`` with the peer interpreter; return the JSON on its last stdout line."""
    exe = peer_python()
    if exe is None:
        raise BenchError("no peer venv: run make bench-peer")
    argv = [str(exe), str(path), *args]
    proc = subprocess.run(argv, env=env or peer_env(), capture_output=True, text=True, timeout=timeout, stdin=DEVNULL)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise BenchError(f"peer script {path} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


class _Timed:
    def __init__(self, worker: PeerWorker, fn: str, args: tuple[Any, ...]):
        self.worker, self.fn, self.args = worker, fn, args

    def sample(self, number: int = 1) -> float:
        return float(self.worker._request({"op": "time", "fn": self.fn, "args": list(self.args), "number": number}))


class PeerWorker:
    """A long-lived peer-venv process serving timed calls of a workload module."""

    def __init__(self, module_path: str | Path, env: dict[str, str] | None = None, timeout: float = 900):
        exe = peer_python()
        if exe is None:
            raise BenchError("no peer venv: run make bench-peer")
        self.timeout = timeout
        self.env = env or peer_env()
        RESULTS_DIR.mkdir(exist_ok=True)
        self.log_path = RESULTS_DIR / f"peer-{Path(module_path).stem}.log"
        self._log = open(self.log_path, "ab")
        self._proc = subprocess.Popen(
            [str(exe), str(Path(__file__).resolve()), "--peer-worker", str(Path(module_path).resolve())],
            env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
        )  # fmt: skip

    def _request(self, msg: dict[str, Any]) -> Any:
        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write((json.dumps(msg) + "\n").encode())
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise BenchError(f"peer worker died; see {self.log_path}")
        reply = json.loads(line)
        if not reply.get("ok"):
            raise BenchError(f"peer {msg.get('fn')} failed: {reply.get('error')} (see {self.log_path})")
        return reply["value"]

    def call(self, fn: str, *args: Any) -> Any:
        """Call ``fn(*args)`` in the peer once and return its JSON-able result."""
        return self._request({"op": "call", "fn": fn, "args": list(args)})

    def timed(self, fn: str, *args: Any) -> _Timed:
        """An implementation for ``compare``: ``fn(*args)`` timed inside the peer."""
        return _Timed(self, fn, args)

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                assert self._proc.stdin
                self._proc.stdin.close()
                self._proc.wait(timeout=30)
            except Exception:
                self._proc.kill()
                self._proc.wait()
        self._log.close()

    def __enter__(self) -> PeerWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _peer_worker_main(module_path: str) -> None:
    """Inside the peer venv: serve requests from the parent on stdin/stdout."""
    import importlib.util
    import traceback

    sys.modules.setdefault("harness", sys.modules[__name__])
    unshadow()
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the workload's own prints must not corrupt the protocol
    sys.stdout = sys.stderr
    spec = importlib.util.spec_from_file_location("peer_workload", module_path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["peer_workload"] = module
    spec.loader.exec_module(module)
    for line in sys.stdin:
        msg = json.loads(line)
        try:
            fn = getattr(module, msg["fn"])
            args = msg.get("args", [])
            if msg["op"] == "time":
                number = int(msg.get("number", 1))
                start = time.perf_counter()
                for _ in range(number):
                    fn(*args)
                value: Any = (time.perf_counter() - start) / number
            else:
                value = fn(*args)
            reply = {"ok": True, "value": value}
        except Exception as exc:  # reported to the parent, which raises BenchError
            traceback.print_exc()
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        proto.write(json.dumps(reply) + "\n")


@dataclass
class Row:
    """One line of a report (see module doc)."""

    workload: str
    hw: Stats | None
    floor: Stats | None = None
    peer: Stats | None = None
    target: float | None = None
    unit: str = "s"
    note: str = ""

    @property
    def status(self) -> str:
        if self.target is None or self.hw is None:
            return "-"
        return "pass" if self.hw.median <= self.target else "MISS"


def fmt_value(value: float | None, unit: str = "s", scale: str | None = None) -> str:
    """Format one number; durations get µs/ms/s (``scale`` forces one)."""
    if value is None:
        return "-"
    if unit != "s":
        return f"{value:,.3g} {unit}" if abs(value) < 100 else f"{value:,.0f} {unit}"
    scale = scale or _time_scale(value)
    factor = {"µs": 1e6, "ms": 1e3, "s": 1.0}[scale]
    v = value * factor
    return f"{v:,.2f} {scale}" if abs(v) < 10 else f"{v:,.1f} {scale}" if abs(v) < 100 else f"{v:,.0f} {scale}"


def _time_scale(value: float) -> str:
    a = abs(value)
    return "µs" if a < 1e-3 else "ms" if a < 1.0 else "s"


def _fmt_stats(s: Stats | None, unit: str, scale: str | None) -> str:
    if s is None:
        return "-"
    if unit == "s" and scale is None:
        scale = _time_scale(s.median)
    m = fmt_value(s.median, unit, scale)
    lo = fmt_value(s.min, unit, scale).split(" ")[0]
    hi = fmt_value(s.max, unit, scale).split(" ")[0]
    return f"{m} [{lo}–{hi}]"


def _ratio(a: Stats | None, b: Stats | None) -> str:
    if a is None or b is None or b.median == 0:
        return "-"
    r = a.median / b.median
    if r == 0:  # e.g. no measurable idle CPU against some
        return "0x"
    if r < 0.5:  # "1/459": Headwater is 459 times faster
        return f"1/{1 / r:,.0f}" if r < 0.01 else f"1/{1 / r:.3g}"
    return f"{r:.3g}x" if r < 100 else f"{r:,.0f}x"


def environment() -> dict[str, Any]:
    """Date, machine, Python, headwater and peer versions for the report header."""
    try:
        from importlib.metadata import version

        hw = version("headwater")
    except Exception:
        hw = "not installed"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "headwater": hw,
        "peer": peer_version() or "none (run make bench-peer)",
        "load": "load average {:.2f} {:.2f} {:.2f} (1/5/15 min)".format(*os.getloadavg()),
    }


HEADER = ["workload", "Headwater median [min–max]", "floor", "Prefect", "HW/floor", "HW/Prefect", "target", "result"]


def _row_json(r: Row) -> dict[str, Any]:
    j = {"workload": r.workload, "unit": r.unit, "target": r.target, "status": r.status, "note": r.note}
    for key, s in (("hw", r.hw), ("floor", r.floor), ("prefect", r.peer)):
        j[key] = s.to_json() if s else None
    return j


def _cells(j: dict[str, Any]) -> list[str]:
    """The table cells of one row, from its JSON form (shared by console and Markdown)."""
    unit, target = j["unit"], j["target"]
    st = {k: Stats.of(j[k]["samples"]) if j.get(k) else None for k in ("hw", "floor", "prefect")}
    ref = target if target is not None else (st["hw"].median if st["hw"] else 0.0)
    scale = _time_scale(ref) if unit == "s" else None
    return [
        j["workload"] + (f" ({j['note']})" if j.get("note") else ""),
        _fmt_stats(st["hw"], unit, scale),
        _fmt_stats(st["floor"], unit, scale),
        _fmt_stats(st["prefect"], unit, None),
        _ratio(st["hw"], st["floor"]),
        _ratio(st["hw"], st["prefect"]),
        ("<= " + fmt_value(target, unit)) if target is not None else "-",
        j["status"],
    ]


def report(area: str, rows: list[Row], extra: dict[str, Any] | None = None, json_out: bool = True) -> int:
    """Print the table for ``area`` and write its JSON; return how many rows missed."""
    env = environment()
    print(f"\n== {area} — {env['date']}")
    print(f"   machine: {env['machine']}; python {env['python']}; headwater {env['headwater']}")
    print(f"   peer: {env['peer']}")
    print(f"   {env['load']} at the end of the run")
    data = {"area": area, "environment": env, "extra": extra or {}, "rows": [_row_json(r) for r in rows]}
    table = [HEADER] + [_cells(j) for j in data["rows"]]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    for i, row in enumerate(table):
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))
    if json_out:
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        text = json.dumps(data, indent=2)
        (RESULTS_DIR / f"{area}-{stamp}.json").write_text(text)
        (RESULTS_DIR / f"{area}-latest.json").write_text(text)
    return sum(r.status == "MISS" for r in rows)


def exit_code(missed: int) -> int:
    """Process exit status for a bench script: 0, or MISSED_EXIT when a target was missed."""
    return MISSED_EXIT if missed else 0


def markdown(paths: list[Path] | None = None) -> str:
    """Markdown tables of the given (default: every latest) JSON results."""
    out: list[str] = []
    for path in paths or sorted(RESULTS_DIR.glob("*-latest.json")):
        data = json.loads(path.read_text())
        env = data["environment"]
        out += [f"### {data['area']}", "", f"{env['date']} · {env['machine']} · Python {env['python']} · "
                f"headwater {env['headwater']} · peer: {env['peer']} · {env.get('load', '')}", "",
                "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]  # fmt: skip
        for j in data["rows"]:
            cells = _cells(j)
            cells[-1] = "**MISS**" if cells[-1] == "MISS" else cells[-1]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def take_option(name: str, default: str) -> str:
    """A script's own ``--name value`` option, removed from argv before :func:`bench_args` parses the shared ones."""
    if name not in sys.argv:
        return default
    at = sys.argv.index(name)
    value = sys.argv[at + 1] if at + 1 < len(sys.argv) else ""
    del sys.argv[at:at + 2]
    return value


def bench_args(description: str, repeat: int = 5) -> argparse.Namespace:
    """Parse the command line every bench script shares (see module doc)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeat", type=int, default=None, help=f"samples per figure (default {repeat})")
    parser.add_argument("--quick", action="store_true", help="fewer samples and smaller workloads")
    parser.add_argument("--no-peer", action="store_true", help="skip Prefect even if bench/.venv-prefect exists")
    parser.add_argument("--no-json", action="store_true", help="do not write bench/results/*.json")
    args = parser.parse_args()
    if args.repeat is None:
        args.repeat = 3 if args.quick else repeat
    return args


def peer_enabled(args: argparse.Namespace | None = None) -> bool:
    """True when the peer venv exists and ``--no-peer`` was not given."""
    if args is not None and getattr(args, "no_peer", False):
        return False
    return peer_python() is not None


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--peer-worker":
        _peer_worker_main(sys.argv[2])
    elif len(sys.argv) >= 2 and sys.argv[1] == "--markdown":
        print(markdown([Path(p) for p in sys.argv[2:]]))
    else:
        print(__doc__)
