"""Workers: long-running processes that claim a pool's due runs and run each one.

:class:`BaseWorker` holds the loop (claim, launch, renew leases, cancel, settle); a worker
type only says how a run is launched (:meth:`BaseWorker.launch` returns a :class:`Job`).
``process`` (core) runs each flow run in a subprocess of its own; plugins add types through
the ``register_worker_types`` hook (``dask`` in headwater-dask).

A worker stops cleanly on SIGTERM or Ctrl-C: it claims nothing more, hands back runs that
have not started, and asks running ones to stop (they end Cancelled; any still alive after
the grace period are killed and recorded Crashed). Nothing it started stays Running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

__all__ = ["BaseWorker", "Job", "ProcessJob", "ProcessWorker"]


class Job:
    """A launched run, as a worker type sees it."""

    def done(self) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def exit_code(self) -> int | None:  # pragma: no cover - interface
        raise NotImplementedError

    def terminate(self) -> None:
        """Ask the run to stop (it ends Cancelled)."""

    def kill(self) -> None:
        """Stop the run now."""


def _child_setup(new_group: bool = True) -> None:  # pragma: no cover - runs in the forked child
    if new_group:
        os.setpgid(0, 0)  # Ctrl-C in the terminal reaches the worker, not its runs
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:
            pass


class ProcessJob(Job):
    """A run in a subprocess of its own (its own process group, killed if the worker dies)."""

    def __init__(self, spec: dict[str, Any], wake: threading.Event, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "headwater.orchestration._child"],
            stdin=subprocess.PIPE,
            env={**os.environ, **(env or {})},
            preexec_fn=_child_setup,
            text=True,
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(spec) + "\n")
        self.proc.stdin.close()
        self.pid = self.proc.pid

        def _wait() -> None:
            self.proc.wait()
            wake.set()

        threading.Thread(target=_wait, daemon=True, name=f"headwater-run-{spec['id'][:8]}").start()

    def done(self) -> bool:
        return self.proc.poll() is not None

    @property
    def exit_code(self) -> int | None:
        return self.proc.returncode

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()


class BaseWorker:
    """The claim/launch/renew loop shared by every worker type.

    Args:
        work_pool_name: The pool to take runs from (None with ``deployment_ids``: ``serve``).
        name: This worker's name (default: a generated one, unique per process).
        limit: How many runs at once (default: no limit beyond the pool's).
        deployment_ids: Take runs of these deployments instead of a pool's.
        run_scheduler: Also create the scheduled runs of the pool's (or given) deployments.
        lease_seconds: How long a claim lives without renewal (a dead worker's runs crash after it).
        grace_seconds: After asking a run to stop, how long before it is killed.
        prestart_seconds: Start a scheduled run's process this long before its time.
    """

    type = ""

    def __init__(
        self,
        work_pool_name: str | None,
        name: str | None = None,
        limit: int | None = None,
        *,
        deployment_ids: list[str] | None = None,
        run_scheduler: bool = True,
        lease_seconds: float | None = None,
        grace_seconds: float | None = None,
        prestart_seconds: float = 2.0,
        poll_seconds: float | None = None,
        pool_config: dict[str, Any] | None = None,
    ) -> None:
        env = os.environ
        self.pool = work_pool_name
        self.deployment_ids = deployment_ids
        from headwater.history.writer import host_name

        self.name = name or f"{self.type or 'serve'}-{host_name()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.limit = limit
        self.run_scheduler = run_scheduler
        self.lease = float(lease_seconds or env.get("HEADWATER_WORKER_LEASE_SECONDS", 30))
        self.grace = float(
            grace_seconds if grace_seconds is not None else env.get("HEADWATER_CANCEL_GRACE_SECONDS", 10)
        )
        self.prestart = prestart_seconds
        self.poll = float(poll_seconds or env.get("HEADWATER_WORKER_POLL_SECONDS", 0.5))
        self.pool_config = pool_config or {}
        self.jobs: dict[str, Job] = {}
        self.kill_at: dict[str, float] = {}
        self.wake = threading.Event()
        self._stopping = False
        self._scheduler: Any = None

    # -- to implement --------------------------------------------------------------------------

    def launch(self, spec: dict[str, Any]) -> Job:  # pragma: no cover - interface
        raise NotImplementedError

    @classmethod
    def validate_pool_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Check a pool's configuration when the pool is created (override per type)."""
        return config

    def setup(self) -> None:
        """Called once before the loop (connect to a cluster, ...)."""

    def teardown(self) -> None:
        """Called once after the loop."""

    # -- the loop ----------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop claiming runs and shut down cleanly (what SIGTERM and Ctrl-C do)."""
        self._stopping = True
        self.wake.set()

    def _signal(self, signum: int, frame: Any) -> None:
        self.stop()

    def _spec(self, run: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": run["id"],
            "name": run["name"],
            "worker": self.name,
            "entrypoint": run["entrypoint"],
            "source": run["source"],
            "parameters": run["parameters"],
            "deployment": run["deployment"],
            "deployment_id": run.get("deployment_id"),
            "scheduled_time": run["scheduled_time"],
            "work_pool": run.get("work_pool"),
            "job_variables": run.get("job_variables") or {},
        }

    def start(self, run_once: bool = False) -> None:
        """Run until stopped (SIGTERM, Ctrl-C or :meth:`stop`); ``run_once``: until no work is left."""
        from headwater.orchestration.wakeup import Waiter

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._signal)
            signal.signal(signal.SIGINT, self._signal)
        self.setup()
        waiter = Waiter(self.poll)
        waiter.event = self.wake
        self._start_scheduler()
        next_renew = 0.0
        next_reap = time.time() + self.lease
        try:
            while True:
                now = time.time()
                self._settle_finished()
                if now >= next_reap:  # other workers' runs whose lease ran out (a dead worker)
                    next_reap = now + max(1.0, self.lease / 2)
                    try:
                        from headwater.orchestration.queue import reap_expired

                        if reap_expired(now):
                            continue
                    except Exception as exc:
                        self._report(exc)
                if self.jobs and now >= next_renew:
                    self._renew()
                    next_renew = now + self.lease / 3
                elif self.jobs:
                    self._check_cancels()
                self._kill_overdue(now)
                if self._stopping:
                    break
                free = (self.limit or 10_000) - len(self.jobs)
                if free > 0:
                    from headwater.orchestration.queue import claim_runs

                    try:
                        runs = claim_runs(
                            self.name,
                            min(free, 50),
                            pool=self.pool,
                            deployment_ids=self.deployment_ids,
                            lease_seconds=self.lease,
                            ahead_seconds=self.prestart,
                        )
                    except Exception as exc:
                        self._report(exc)
                        runs = []
                    for run in runs:
                        self._launch(run)
                    if runs:
                        continue
                if run_once and not self.jobs and not self._has_due():
                    break
                waiter.wait(self.poll if self.jobs or self.prestart <= 0 else max(self.poll, 1.0))
        finally:
            self._shutdown()
            waiter.close()
            if self._scheduler is not None:
                self._scheduler.stop()
            self.teardown()

    def _has_due(self) -> bool:
        from headwater.store.engine import db_read

        with db_read() as tx:
            if self.pool is not None:
                n = tx.scalar(
                    "SELECT COUNT(*) FROM scheduled_runs WHERE work_pool = :p AND state_type = 'SCHEDULED' "
                    "AND scheduled_time <= :t",
                    {"p": self.pool, "t": time.time() + self.prestart},
                )
            else:
                marks = ", ".join(f":d{i}" for i in range(len(self.deployment_ids or [])))
                if not marks:
                    return False
                n = tx.scalar(
                    f"SELECT COUNT(*) FROM scheduled_runs WHERE deployment_id IN ({marks}) AND "
                    "state_type = 'SCHEDULED' AND scheduled_time <= :t",
                    {"t": time.time() + self.prestart, **{f"d{i}": d for i, d in enumerate(self.deployment_ids or [])}},
                )
        return bool(n)

    def _start_scheduler(self) -> None:
        if not self.run_scheduler:
            return
        from headwater.orchestration.scheduler import Scheduler

        # a pool's worker schedules every deployment (any number of schedulers may run); serve only its own
        self._scheduler = Scheduler(deployment_ids=None if self.pool is not None else self.deployment_ids)
        interval = float(os.environ.get("HEADWATER_SCHEDULER_INTERVAL_SECONDS", 5))
        threading.Thread(
            target=self._scheduler.run, kwargs={"interval": interval}, daemon=True, name="headwater-scheduler"
        ).start()
        if os.environ.get("HEADWATER_AUTOMATIONS_IN_WORKERS", "true").lower() not in ("0", "false", "no"):
            from headwater.events.service import start_in_background

            start_in_background()

    def _launch(self, run: dict[str, Any]) -> None:
        try:
            self.jobs[run["id"]] = self.launch(self._spec(run))
        except Exception as exc:
            from headwater.orchestration.queue import finish_run
            from headwater.redaction import redact

            finish_run(run["id"], self.name, "CRASHED", "Crashed", redact(f"the worker could not start the run: {exc}"))

    def _settle_finished(self) -> None:
        from headwater.orchestration.queue import settle_exited

        for run_id, job in list(self.jobs.items()):
            if job.done():
                del self.jobs[run_id]
                cancelled = self.kill_at.pop(run_id, None) is not None
                try:
                    settle_exited(run_id, self.name, job.exit_code, cancelled)
                except Exception as exc:
                    self._report(exc)

    def _renew(self) -> None:
        from headwater.orchestration.queue import renew_leases

        try:
            cancels = renew_leases(self.name, list(self.jobs), self.lease)
        except Exception as exc:
            self._report(exc)
            return
        self._cancel(cancels)

    def _check_cancels(self) -> None:
        from headwater.orchestration.queue import cancelled_among

        try:
            self._cancel(cancelled_among(list(self.jobs)))
        except Exception as exc:
            self._report(exc)

    def _cancel(self, run_ids: set[str]) -> None:
        for run_id in run_ids:
            job = self.jobs.get(run_id)
            if job is not None and run_id not in self.kill_at:
                job.terminate()
                self.kill_at[run_id] = time.time() + self.grace

    def _kill_overdue(self, now: float) -> None:
        for run_id, deadline in list(self.kill_at.items()):
            job = self.jobs.get(run_id)
            if job is not None and now >= deadline:
                job.kill()

    def _shutdown(self) -> None:
        """Hand back runs that have not started; ask running ones to stop; kill stragglers."""
        from headwater.orchestration.queue import release_unstarted

        if not self.jobs:
            return
        try:
            released = release_unstarted(self.name, list(self.jobs))
        except Exception:
            released = set()
        for run_id in released:
            self.jobs[run_id].kill()
            self.kill_at[run_id] = 0.0
        self._cancel(set(self.jobs) - released)
        deadline = time.time() + self.grace
        while self.jobs and time.time() < deadline:
            self._settle_finished()
            self.wake.wait(0.05)
            self.wake.clear()
        for job in self.jobs.values():
            job.kill()
        time.sleep(0.05)
        self._settle_finished()

    def _report(self, exc: BaseException) -> None:
        from headwater.redaction import redact

        print(f"headwater worker {self.name}: {redact(str(exc))}", file=sys.stderr, flush=True)


class ProcessWorker(BaseWorker):
    """Runs each flow run in a process of its own on this host (the ``process`` pool type).

    Runs are forked from a warm fork server (see :mod:`headwater.orchestration.forkserver`);
    ``HEADWATER_WORKER_FORK=0`` starts a fresh interpreter per run instead.
    """

    type = "process"

    def setup(self) -> None:
        self._forks: Any = None
        if os.environ.get("HEADWATER_WORKER_FORK", "1") != "0" and hasattr(os, "fork"):
            from headwater.orchestration.forkserver import ForkServer

            self._forks = ForkServer(self.wake)

    def launch(self, spec: dict[str, Any]) -> Job:
        env = {str(k): str(v) for k, v in (spec.get("job_variables") or {}).get("env", {}).items()}
        if self._forks is not None:
            return self._forks.launch(spec, env)  # type: ignore[no-any-return]
        return ProcessJob(spec, self.wake, env)

    def teardown(self) -> None:
        if self._forks is not None:
            self._forks.close()
