"""A fork server for the process worker: each run still gets a process of its own, but it is
forked from a warm process that has already imported Headwater, so a run starts in
milliseconds instead of paying interpreter start-up and imports every time.

The server (``python -m headwater.orchestration.forkserver``) reads one JSON line per run on
stdin, forks, and reports ``{"id", "pid"}`` and later ``{"id", "exit"}`` on stdout. It starts
no thread and holds no database connection when it forks (it opens the store once to warm
the driver, then closes every connection). Each forked run lives in its own process
group and is killed if the server dies; the server is killed if its worker dies.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
from typing import Any

__all__ = ["ForkJob", "ForkServer"]


def _preload() -> None:
    import headwater.history.reader  # noqa: F401
    import headwater.history.writer  # noqa: F401
    import headwater.orchestration._child  # noqa: F401
    import headwater.orchestration.entrypoints  # noqa: F401
    import headwater.orchestration.queue  # noqa: F401
    import headwater.orchestration.sources  # noqa: F401
    import headwater.runtime._lifecycle  # noqa: F401
    import headwater.runtime._threadpool  # noqa: F401
    import headwater.runtime.flows  # noqa: F401
    import headwater.runtime.task_runners  # noqa: F401
    import headwater.store.engine  # noqa: F401

    try:  # what a flow call's parameter validation imports and caches (pydantic, its plugins)
        from headwater.runtime.flows import Flow
        from headwater.runtime.params import bind_parameters, validate_parameters

        def _warm(n: int = 0, label: str = "") -> None:
            pass

        warm = Flow(_warm)
        validate_parameters(warm, bind_parameters(warm, (), {"n": 1, "label": "x"}))
        import importlib.metadata  # noqa: F401
        import queue  # noqa: F401
        import secrets  # noqa: F401
        import socket  # noqa: F401
        import tempfile  # noqa: F401
    except Exception:
        pass
    _warm_store()


def _warm_store() -> None:
    """Open the store once (driver imported, SQLAlchemy dialect initialised, schema checked), then
    close every connection: forked runs open their own, and skip that first-connect work."""
    import threading

    try:
        from headwater.store.engine import get_database

        db = get_database()
        with db.transaction(write=False) as tx:
            tx.execute("SELECT 1")
        engine = db._sa_engine  # the pool is emptied, the engine (and its initialised dialect) kept
        if engine is not None:
            engine.dispose()
        for conn in db._all:
            conn.close()
        db._all = []
        db._local = threading.local()
    except Exception:
        from headwater.store.engine import _dispose

        _dispose()  # the store is not reachable: each run reports that itself


def _run_child(msg: dict[str, Any], out_fd: int, wake_fd: int) -> None:  # pragma: no cover - in the fork
    try:
        os.setpgid(0, 0)
        from headwater.orchestration.workers import _child_setup

        _child_setup(new_group=False)
        signal.set_wakeup_fd(-1)
        os.close(wake_fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.dup2(2, 1)  # the run's prints must not go into the server's protocol pipe
        os.close(out_fd) if out_fd not in (1, 2) else None
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        if msg.get("env"):
            os.environ.update(msg["env"])
            from headwater.settings import reset_settings

            reset_settings()
        from headwater.orchestration import _child

        signal.signal(signal.SIGTERM, _child._on_term)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        code = _child.execute(msg["spec"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    try:
        from headwater.history import writer

        writer._at_exit()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def serve_forever() -> None:  # pragma: no cover - runs in the server process
    _preload()
    out = sys.stdout.buffer
    out_fd = out.fileno()
    r_wake, w_wake = os.pipe()
    os.set_blocking(w_wake, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(w_wake)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ids: dict[int, str] = {}
    stdin = sys.stdin.buffer
    buf = b""

    def send(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj).encode() + b"\n")
        out.flush()

    while True:
        ready, _, _ = select.select([stdin, r_wake], [], [])
        if r_wake in ready:
            os.read(r_wake, 512)
        if stdin in ready:
            chunk = os.read(stdin.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                msg = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _run_child(msg, out_fd, r_wake)
                ids[pid] = msg["spec"]["id"]
                send({"id": msg["spec"]["id"], "pid": pid})
        while ids:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            run_id = ids.pop(pid, None)
            if run_id is not None:
                send({"id": run_id, "exit": os.waitstatus_to_exitcode(status)})
    for pid in list(ids):  # the worker closed the pipe: it is shutting down or gone
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


class ForkJob:
    """A run forked by the server (implements :class:`headwater.orchestration.workers.Job`)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.pid: int | None = None
        self._exit: int | None = None
        self._done = threading.Event()
        self._started = threading.Event()

    def done(self) -> bool:
        return self._done.is_set()

    @property
    def exit_code(self) -> int | None:
        return self._exit

    def _signal(self, sig: int, group: bool) -> None:
        self._started.wait(5)
        if self.pid is None or self._done.is_set():
            return
        try:
            if group:
                os.killpg(self.pid, sig)
            else:
                os.kill(self.pid, sig)
        except OSError:
            pass

    def terminate(self) -> None:
        self._signal(signal.SIGTERM, group=False)

    def kill(self) -> None:
        self._signal(signal.SIGKILL, group=True)


class ForkServer:
    """The worker's side: starts the server on first use and again if it dies."""

    def __init__(self, wake: threading.Event) -> None:
        self.wake = wake
        self.proc: subprocess.Popen[bytes] | None = None
        self.jobs: dict[str, ForkJob] = {}
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[bytes]:
        from headwater.orchestration.workers import _child_setup

        proc = subprocess.Popen(
            [sys.executable, "-m", "headwater.orchestration.forkserver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            preexec_fn=_child_setup,
        )
        threading.Thread(target=self._read, args=(proc,), daemon=True, name="headwater-forkserver").start()
        return proc

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            msg = json.loads(line)
            job = self.jobs.get(msg["id"])
            if job is None:
                continue
            if "pid" in msg:
                job.pid = msg["pid"]
                job._started.set()
            else:
                job._exit = msg["exit"]
                job._done.set()
                self.jobs.pop(msg["id"], None)
                self.wake.set()
        proc.wait()
        for job in list(self.jobs.values()):  # the server died: its runs died with it
            job._started.set()
            job._done.set()
        self.jobs.clear()
        self.wake.set()

    def launch(self, spec: dict[str, Any], env: dict[str, str] | None = None) -> ForkJob:
        with self._lock:
            if self.proc is None or self.proc.poll() is not None:
                self.proc = self._start()
            job = ForkJob(spec["id"])
            self.jobs[spec["id"]] = job
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"spec": spec, "env": env or {}}).encode() + b"\n")
            self.proc.stdin.flush()
        return job

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.stdin is not None:
            try:
                proc.stdin.close()
                proc.wait(timeout=5)
            except Exception:
                proc.kill()


if __name__ == "__main__":
    serve_forever()
