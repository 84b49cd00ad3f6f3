"""``headwater.yaml``: a project's deployments, shaped like Prefect's ``prefect.yaml``.

::

    name: etl-project
    pull:                                   # where workers get the code (default: this folder)
      - git_clone: {repository: https://example.com/org/etl.git, branch: main}
    deployments:
      - name: nightly
        entrypoint: flows/etl.py:etl
        parameters: {day: "2024-01-01"}
        work_pool: {name: local, job_variables: {env: {LOG_LEVEL: DEBUG}}}
        schedules:
          - cron: "0 2 * * *"
            timezone: Europe/Paris
        tags: [etl]
        concurrency_limit: {limit: 1, collision_strategy: CANCEL_NEW}

Pull steps: ``git_clone`` (``repository``, ``branch``), ``set_working_directory``
(``directory``), ``pull_from_storage`` (``block``: a saved storage block, ``folder``). Prefect's
dotted step names (``prefect.deployments.steps.git_clone``) are accepted; ``build`` and
``push`` sections are not used (Headwater runs code from its source, not from images).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from headwater.orchestration.deployments import Deployment
from headwater.orchestration.errors import DeploymentError

__all__ = ["load_project", "source_from_pull"]

_KNOWN_KEYS = {
    "name",
    "entrypoint",
    "parameters",
    "work_pool",
    "schedules",
    "schedule",
    "tags",
    "description",
    "version",
    "concurrency_limit",
    "paused",
    "enforce_parameter_schema",
    "pull",
    "source",
    "crash_retries",
    "triggers",
    "flow_name",
}


def source_from_pull(steps: Any, root: Path, where: str) -> dict[str, Any]:
    """The source a list of pull steps describes (the last step that sets one wins)."""
    if not steps:
        return {"type": "local", "path": str(root)}
    if not isinstance(steps, list):
        raise DeploymentError(f"{where}: pull must be a list of steps")
    source: dict[str, Any] = {"type": "local", "path": str(root)}
    for step in steps:
        if not isinstance(step, dict) or len(step) != 1:
            raise DeploymentError(f"{where}: each pull step is one 'step_name: {{options}}' mapping, got {step!r}")
        ((name, opts),) = step.items()
        opts = opts or {}
        short = str(name).rsplit(".", 1)[-1]
        if short == "git_clone":
            if "repository" not in opts:
                raise DeploymentError(f"{where}: git_clone needs repository:")
            source = {"type": "git", "url": str(opts["repository"])}
            if opts.get("branch"):
                source["branch"] = str(opts["branch"])
        elif short == "set_working_directory":
            folder = Path(str(opts.get("directory", "."))).expanduser()
            source = {"type": "local", "path": str(folder if folder.is_absolute() else (root / folder).resolve())}
        elif short in ("pull_from_storage", "pull_from_s3", "pull_from_gcs"):
            if "block" not in opts:
                raise DeploymentError(f"{where}: {short} needs block: (a saved storage block, e.g. s3-bucket/code)")
            source = {"type": "block", "block": str(opts["block"])}
            if opts.get("folder"):
                source["path"] = str(opts["folder"])
        else:
            raise DeploymentError(
                f"{where}: unknown pull step {name!r}: use git_clone, set_working_directory or pull_from_storage"
            )
    return source


def _deployment(raw: Any, index: int, root: Path, project_pull: Any, path: Path) -> Deployment:
    from headwater.orchestration.schedules import to_schedule
    from headwater.orchestration.serving import _limit

    where = f"{path.name}: deployments[{index}]"
    if not isinstance(raw, dict):
        raise DeploymentError(f"{where} is not a mapping")
    unknown = set(raw) - _KNOWN_KEYS
    if unknown:
        raise DeploymentError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("name", "entrypoint"):
        if not raw.get(key):
            raise DeploymentError(f"{where}: '{key}' is required")
    where = f"{path.name}: deployment {raw['name']!r}"
    pool = raw.get("work_pool") or {}
    if isinstance(pool, str):
        pool = {"name": pool}
    source = raw.get("source")
    if source is not None:
        from headwater.orchestration.sources import to_source

        if isinstance(source, str) and not (
            source.startswith(("/", "file://")) or "://" in source or source.startswith("git@")
        ):
            source = str((root / source).resolve())
        source = to_source(source)
    else:
        source = source_from_pull(raw.get("pull", project_pull), root, where)
    schedules = raw.get("schedules") or ([raw["schedule"]] if raw.get("schedule") else [])
    try:
        parsed = [to_schedule(s) for s in schedules]
    except Exception as exc:
        raise DeploymentError(f"{where}: {exc}") from None
    limit, strategy = _limit(raw.get("concurrency_limit"))
    return Deployment(
        name=str(raw["name"]),
        flow_name=str(raw.get("flow_name") or ""),
        entrypoint=str(raw["entrypoint"]),
        source=source,
        parameters=dict(raw.get("parameters") or {}),
        tags=[str(t) for t in raw.get("tags") or []],
        description=raw.get("description"),
        version=None if raw.get("version") is None else str(raw["version"]),
        work_pool_name=pool.get("name"),
        schedules=parsed,
        concurrency_limit=limit,
        collision_strategy=strategy,
        crash_retries=int(raw.get("crash_retries") or 0),
        paused=bool(raw.get("paused", False)),
        enforce_parameter_schema=bool(raw.get("enforce_parameter_schema", True)),
        job_variables=dict(pool.get("job_variables") or {}),
    )


def load_project(path: str | Path = "headwater.yaml", names: tuple[str, ...] | list[str] = ()) -> list[Deployment]:
    """Read a project file into (unsaved, unvalidated) deployments.

    Raises:
        DeploymentError: The file is missing, is not YAML, or a deployment in it is malformed.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise DeploymentError(f"{path} not found: write a headwater.yaml (see docs/deployments.md) or pass --file")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise DeploymentError(f"{path.name} is not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict) or not isinstance(data.get("deployments"), list) or not data["deployments"]:
        raise DeploymentError(f"{path.name} has no 'deployments:' list")
    root = path.resolve().parent
    raws = data["deployments"]
    found = [r.get("name") for r in raws if isinstance(r, dict)]
    dupes = sorted({str(n) for n in found if found.count(n) > 1})
    if dupes:
        raise DeploymentError(f"{path.name}: deployment name(s) {', '.join(dupes)} appear more than once")
    missing = [n for n in names if n not in found]
    if missing:
        raise DeploymentError(
            f"{path.name} has no deployment named {missing[0]!r} (it has {', '.join(map(str, found))})"
        )
    return [
        _deployment(raw, i, root, data.get("pull"), path)
        for i, raw in enumerate(raws)
        if not names or (isinstance(raw, dict) and raw.get("name") in names)
    ]
