"""Prefect's ``prefect.artifacts``: markdown, table, link, progress and image artifacts.

An artifact is stored in the store with the flow and task run that created it (secrets
redacted), shown by ``headwater runs show ID`` and listed by ``headwater artifacts ls``.

Example:
    >>> create_table_artifact([{"country": "NL", "users": 3}], key="users-by-country")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from headwater.errors import HeadwaterError
from headwater.store import objects_schema as _tables  # noqa: F401 (registers the tables used here)

__all__ = [
    "Artifact",
    "ArtifactError",
    "acreate_link_artifact",
    "acreate_markdown_artifact",
    "acreate_progress_artifact",
    "acreate_table_artifact",
    "create_image_artifact",
    "create_link_artifact",
    "create_markdown_artifact",
    "create_progress_artifact",
    "create_table_artifact",
    "list_artifacts",
    "update_progress_artifact",
]

_KEY = re.compile(r"^[a-z0-9-]+$")


class ArtifactError(HeadwaterError, ValueError):
    """An artifact's key or content is not acceptable, or it does not exist."""


class Artifact:
    """A stored artifact (what ``Artifact.get(key)`` returns).

    Attributes:
        id: The artifact's id.
        key: Its key (the latest artifact with a key is the current one), or None.
        type: ``markdown``, ``table``, ``link``, ``progress`` or ``image``.
        description: Optional markdown description.
        data: The content (markdown text, the table as JSON text, the link, the progress number).
        flow_run_id: The flow run that created it, or None.
        task_run_id: The task run that created it, or None.
    """

    def __init__(self, id: str, key: str | None, type: str, description: str | None, data: Any,
                 flow_run_id: str | None = None, task_run_id: str | None = None, created: float | None = None) -> None:
        self.id, self.key, self.type, self.description, self.data = id, key, type, description, data
        self.flow_run_id, self.task_run_id, self.created = flow_run_id, task_run_id, created

    def __repr__(self) -> str:
        return f"Artifact(key={self.key!r}, type={self.type!r})"

    @classmethod
    def get(cls, key: str) -> Artifact | None:
        """The latest artifact with ``key``, or None."""
        from headwater.store.engine import db_read

        with db_read() as tx:
            rows = tx.execute("SELECT * FROM artifacts WHERE key = :k ORDER BY created DESC LIMIT 1", {"k": key})
        return _from_row(rows[0]) if rows else None


def _from_row(r: Any) -> Artifact:
    data: Any = r.data
    if r.type == "progress":
        data = float(data)
    return Artifact(r.id, r.key, r.type, r.description, data, r.flow_run_id, r.task_run_id, r.created)


def _check_key(key: str | None) -> None:
    if key is not None and not _KEY.match(key):
        raise ArtifactError(
            f"artifact key {key!r} may hold only lowercase letters, digits and dashes, e.g. 'daily-report'")


def _create(type: str, data: str, key: str | None, description: str | None) -> uuid.UUID:
    from headwater.redaction import redact
    from headwater.runtime.context import _flow_run_var, _task_run_var
    from headwater.store.engine import db_write

    _check_key(key)
    fr, tr = _flow_run_var.get(), _task_run_var.get()
    artifact_id = uuid.uuid4()
    now = time.time()
    with db_write() as tx:
        tx.execute(
            "INSERT INTO artifacts (id, key, type, description, data, flow_run_id, task_run_id, created, updated) "
            "VALUES (:id, :key, :type, :d, :data, :fr, :tr, :t, :t)",
            {"id": str(artifact_id), "key": key, "type": type, "d": redact(description) if description else None,
             "data": redact(data), "fr": fr.id if fr is not None else (tr.flow_run_id if tr is not None else None),
             "tr": tr.id if tr is not None else None, "t": now},
        )
    return artifact_id


def create_markdown_artifact(markdown: str, key: str | None = None, description: str | None = None) -> uuid.UUID:
    """Store a markdown artifact with the current run; returns its id."""
    return _create("markdown", str(markdown), key, description)


def create_table_artifact(table: dict[str, list[Any]] | list[dict[str, Any]] | list[list[Any]],
                          key: str | None = None, description: str | None = None) -> uuid.UUID:
    """Store a table (a list of rows as dicts or lists, or a dict of columns); returns its id."""
    if not isinstance(table, (dict, list)):
        raise ArtifactError(f"a table artifact is a list of rows or a dict of columns, not {type(table).__name__}")
    return _create("table", json.dumps(table, default=str), key, description)


def create_link_artifact(link: str, link_text: str | None = None, key: str | None = None,
                         description: str | None = None) -> uuid.UUID:
    """Store a link artifact (shown as ``[link_text](link)``); returns its id."""
    return _create("link", f"[{link_text}]({link})" if link_text else str(link), key, description)


def create_image_artifact(image_url: str, key: str | None = None, description: str | None = None) -> uuid.UUID:
    """Store an image artifact (its URL); returns its id."""
    return _create("image", str(image_url), key, description)


def create_progress_artifact(progress: float, key: str | None = None, description: str | None = None) -> uuid.UUID:
    """Store a progress artifact (0 to 100); returns its id, for :func:`update_progress_artifact`."""
    return _create("progress", repr(_progress(progress)), key, description)


def _progress(value: float) -> float:
    number = float(value)
    if not 0 <= number <= 100:
        raise ArtifactError(f"progress must be between 0 and 100, got {value!r}")
    return number


def update_progress_artifact(artifact_id: uuid.UUID | str, progress: float,
                             description: str | None = None) -> uuid.UUID:
    """Set a progress artifact's progress (and description)."""
    from headwater.store.engine import db_write

    with db_write() as tx:
        found = tx.execute("SELECT type FROM artifacts WHERE id = :id", {"id": str(artifact_id)})
        if not found or found[0].type != "progress":
            raise ArtifactError(
                f"no progress artifact with id {artifact_id}: create it with create_progress_artifact()")
        params = {"id": str(artifact_id), "data": repr(_progress(progress)), "t": time.time()}
        if description is not None:
            tx.execute("UPDATE artifacts SET data = :data, description = :d, updated = :t WHERE id = :id",
                       {**params, "d": description})
        else:
            tx.execute("UPDATE artifacts SET data = :data, updated = :t WHERE id = :id", params)
    return artifact_id if isinstance(artifact_id, uuid.UUID) else uuid.UUID(str(artifact_id))


async def acreate_markdown_artifact(markdown: str, key: str | None = None, description: str | None = None) -> uuid.UUID:
    """:func:`create_markdown_artifact` for async code."""
    return create_markdown_artifact(markdown, key, description)


async def acreate_table_artifact(table: Any, key: str | None = None, description: str | None = None) -> uuid.UUID:
    """:func:`create_table_artifact` for async code."""
    return create_table_artifact(table, key, description)


async def acreate_link_artifact(link: str, link_text: str | None = None, key: str | None = None,
                                description: str | None = None) -> uuid.UUID:
    """:func:`create_link_artifact` for async code."""
    return create_link_artifact(link, link_text, key, description)


async def acreate_progress_artifact(progress: float, key: str | None = None,
                                    description: str | None = None) -> uuid.UUID:
    """:func:`create_progress_artifact` for async code."""
    return create_progress_artifact(progress, key, description)


def list_artifacts(flow_run_id: str | None = None, key: str | None = None, limit: int = 100) -> list[Artifact]:
    """Artifacts, newest first: all, one flow run's, or those with a key."""
    from headwater.store.engine import db_read

    where, params = [], {"n": int(limit)}
    if flow_run_id is not None:
        where.append("flow_run_id = :fr")
        params["fr"] = flow_run_id
    if key is not None:
        where.append("key = :k")
        params["k"] = key
    condition = " WHERE " + " AND ".join(where) if where else ""
    sql = f"SELECT * FROM artifacts{condition} ORDER BY created DESC LIMIT :n"
    with db_read() as tx:
        return [_from_row(r) for r in tx.execute(sql, params)]
