"""Turning dbt's failures into headwater-dbt's errors (one clear line naming what to fix)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.redaction import redact

from headwater_dbt.errors import (
    DbtAdapterNotInstalledError,
    DbtError,
    DbtNodeFailure,
    DbtProfileError,
    DbtProjectError,
    DbtRunError,
)

if TYPE_CHECKING:
    from headwater_dbt._invocation import DbtInvocation

__all__ = ["FAILED", "adapter_missing", "failure_error", "startup_error"]

FAILED = {"error", "fail", "runtime error"}


def adapter_missing(adapter_type: str, target: str | None) -> DbtAdapterNotInstalledError:
    where = f"target {target!r} uses" if target else "the profile uses"
    extra = adapter_type if adapter_type in ("duckdb", "postgres") else None
    how = f"pip install headwater-dbt[{extra}]" if extra else f"pip install dbt-{adapter_type}"
    return DbtAdapterNotInstalledError(f"{where} dbt adapter '{adapter_type}', which is not installed: {how}")


def failure_error(out: DbtInvocation, project_dir: Path) -> DbtRunError:
    failures = tuple(
        DbtNodeFailure(n.unique_id, n.status, _first_lines(n.message or "")) for n in out.nodes if n.status in FAILED
    )
    if not failures:
        failures = _failures_from_result(out.result)
    skipped = sum(1 for n in out.nodes if n.status == "skipped")
    if failures:
        listing = "; ".join(str(f) for f in failures)
        tail = f" ({skipped} downstream node(s) skipped)" if skipped else ""
        message = (
            f"'{out.command}' failed in dbt project {project_dir}: {len(failures)} node(s) failed: {listing}{tail}"
        )
    else:
        message = f"'{out.command}' failed in dbt project {project_dir}; see the dbt log lines above for why"
    return DbtRunError(redact(message), command=out.command, project_dir=str(project_dir), failures=failures)


def _failures_from_result(result: Any) -> tuple[DbtNodeFailure, ...]:
    found = []
    for r in getattr(result, "results", None) or []:
        status = str(getattr(r, "status", ""))
        if status in FAILED:
            uid = getattr(getattr(r, "node", None), "unique_id", "?")
            found.append(DbtNodeFailure(uid, status, _first_lines(redact(str(getattr(r, "message", "") or "")))))
    return tuple(found)


def _first_lines(message: str, limit: int = 3) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return " | ".join(lines[:limit])


def startup_error(exc: BaseException, command: str, project_dir: Path, target: str | None) -> DbtError:
    text = redact(_first_lines(str(exc), 4))
    lowered = text.lower()
    if "could not find adapter type" in lowered:
        adapter = text.rsplit(" ", 1)[-1].rstrip("!").strip()
        return adapter_missing(adapter, target)
    if "profile" in lowered or "target" in lowered and "does not have" in lowered:
        return DbtProfileError(f"dbt project {project_dir}: {text}")
    if "dbt_project.yml" in lowered or "project" in type(exc).__name__.lower():
        return DbtProjectError(f"dbt project {project_dir}: {text}")
    return DbtRunError(
        f"'{command}' failed in dbt project {project_dir}: {type(exc).__name__}: {text}",
        command=command, project_dir=str(project_dir),
    )
