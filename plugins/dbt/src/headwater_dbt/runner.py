"""``DbtRunner``: dbt commands whose nodes each become a task run in the run history."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from pathlib import Path
from typing import Any

from headwater_dbt._invocation import DbtInvocation, check_project_dir, current_manifest, invoke, split_command
from headwater_dbt.errors import DbtError
from headwater_dbt.operation import _missing, profile_context
from headwater_dbt.profiles import DbtCliProfile

__all__ = ["DbtRunner"]

_log = logging.getLogger("headwater_dbt")

_STATES = {
    "success": "Completed",
    "pass": "Completed",
    "warn": "Completed",
    "no-op": "Completed",
    "partial success": "Completed",
    "error": "Failed",
    "fail": "Failed",
    "runtime error": "Failed",
    "skipped": "Skipped",
}


class DbtRunner:
    """Run dbt commands in-process, recording every dbt node as its own task run.

    Inside a flow, each model, seed, snapshot and test that dbt runs appears in the flow
    run's history as a task run with its state, duration, rows affected (where the adapter
    reports them) and lineage edges to the task runs of the nodes it depends on.

    Args:
        project_dir: The dbt project folder.
        profile: A :class:`DbtCliProfile`, or the name of a saved one. Without it dbt
            uses ``profiles_dir`` (or its default profiles.yml).
        profiles_dir: A folder holding an existing profiles.yml.
        env: Environment variables set while dbt runs.
        stream_output: Send dbt's log lines to the run logger.
        raise_on_failure: Raise :class:`~headwater_dbt.DbtRunError` when a command fails.
        record_task_runs: Record one task run per node (turn off to run dbt alone).

    Example:
        >>> @flow
        ... def nightly():
        ...     runner = DbtRunner("analytics", profile="my-dbt-profile")
        ...     runner.invoke(["build"])   # one task run per model, seed, snapshot and test
    """

    def __init__(
        self,
        project_dir: str | Path,
        profile: DbtCliProfile | str | None = None,
        *,
        profiles_dir: str | Path | None = None,
        env: dict[str, str] | None = None,
        stream_output: bool = True,
        raise_on_failure: bool = True,
        record_task_runs: bool = True,
    ) -> None:
        self.project_dir = check_project_dir(project_dir)
        self.profile = DbtCliProfile.load(profile) if isinstance(profile, str) else profile
        self.profiles_dir = profiles_dir
        self.env = dict(env or {})
        self.stream_output = stream_output
        self.raise_on_failure = raise_on_failure
        self.record_task_runs = record_task_runs
        self.task_run_ids: dict[str, str] = {}
        self.last_invocation: DbtInvocation | None = None
        self._manifest: Any = None

    def invoke(self, args: list[str] | str) -> DbtInvocation:
        """Run one dbt command (``["build", "--select", "tag:daily"]`` or ``"dbt build ..."``).

        Returns:
            The :class:`~headwater_dbt.DbtInvocation` with every node's result.

        Raises:
            DbtRunError: the command failed and ``raise_on_failure`` is set.
        """
        split = split_command(args)
        recorder = _NodeRecorder(self) if self.record_task_runs else None
        with profile_context(self.profile, self.profiles_dir, self.project_dir, self.env) as (profiles_dir, digest,
                                                                                              extra, flags):
            try:
                result = invoke(
                    split if isinstance(args, list) else args,
                    self.project_dir,
                    profiles_dir=profiles_dir,
                    profiles_digest=digest,
                    target=self.profile.target if self.profile else None,
                    env=self.env,
                    flags=flags,
                    stream_output=self.stream_output,
                    callbacks=[recorder] if recorder else None,
                    raise_on_failure=self.raise_on_failure,
                    extra_args=_missing(extra, split),
                )
            finally:
                if recorder is not None:
                    recorder.close()
        self.last_invocation = result
        return result

    def retry(self) -> DbtInvocation:
        """Re-run only the nodes that errored, failed or were skipped in the last command.

        Uses dbt's ``retry`` (reading the last run_results.json in the project's target folder).

        Raises:
            DbtError: nothing has run yet in this project.
        """
        if self.last_invocation is None and not (self.project_dir / "target" / "run_results.json").is_file():
            raise DbtError(f"nothing to retry in dbt project {self.project_dir}: run a dbt command first")
        return self.invoke(["retry"])


class _NodeRecorder:
    """A dbt event callback turning NodeStart/NodeFinished into task runs.

    dbt calls it from its worker threads, which do not carry the flow run's context, so it
    runs the recording in a copy of the context captured when the command started.
    """

    def __init__(self, runner: DbtRunner) -> None:
        from headwater.runtime import start_task_run

        self._start = start_task_run
        self._runner = runner
        self._context = contextvars.copy_context()
        self._open: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, ev: Any) -> None:
        name = ev.info.name
        if name != "NodeStart" and name != "NodeFinished":
            return
        try:
            if name == "NodeStart":
                self._context.copy().run(self._on_start, ev.data.node_info)
            else:
                self._context.copy().run(self._on_finish, ev.data.node_info, ev.data.run_result)
        except Exception:  # an exception here would fail the dbt node itself
            _log.warning("could not record the task run of %s", ev.data.node_info.unique_id, exc_info=True)

    def _on_start(self, node_info: Any) -> None:
        uid = node_info.unique_id
        manifest = current_manifest() or self._runner._manifest
        if manifest is not None:
            self._runner._manifest = manifest
        upstream = [self._runner.task_run_ids[u] for u in _depends_on(manifest, uid) if u in self._runner.task_run_ids]
        resource = uid.split(".", 1)[0]
        tr = self._start(
            uid, task_key=uid, tags=("dbt", resource), upstream_ids=upstream, started_at=time.time(),
        )
        with self._lock:
            self._open[uid] = tr
            self._runner.task_run_ids[uid] = tr.id

    def _on_finish(self, node_info: Any, rr: Any) -> None:
        uid = node_info.unique_id
        with self._lock:
            tr = self._open.pop(uid, None)
        if tr is None:  # dbt skipped it without starting it
            self._on_start(node_info)
            with self._lock:
                tr = self._open.pop(uid)
        status = str(rr.status or node_info.node_status)
        metadata: dict[str, Any] = {"dbt_status": status, "execution_time": round(float(rr.execution_time or 0), 6)}
        rows = _rows_affected(rr)
        if rows is not None:
            metadata["rows_affected"] = rows
        if getattr(node_info, "materialized", None):
            metadata["materialized"] = node_info.materialized
        if getattr(rr, "num_failures", 0):
            metadata["failures"] = int(rr.num_failures)
        message = rr.message if status not in ("success", "pass") else None
        tr.finish(_STATES.get(status, "Completed"), message=message, metadata=metadata)

    def close(self) -> None:
        """Finish task runs dbt started but never reported (the command was interrupted)."""
        with self._lock:
            left, self._open = self._open, {}
        for tr in left.values():
            self._context.copy().run(tr.finish, "Crashed", "dbt stopped before this node finished")


def _depends_on(manifest: Any, uid: str) -> list[str]:
    if manifest is None:
        return []
    node = manifest.nodes.get(uid)
    if node is None:
        return []
    deps = getattr(getattr(node, "depends_on", None), "nodes", None) or []
    return list(deps)


def _rows_affected(rr: Any) -> int | None:
    try:
        value = dict(rr.adapter_response or {}).get("rows_affected")
        return int(value) if value is not None and int(value) >= 0 else None
    except (TypeError, ValueError):
        return None
