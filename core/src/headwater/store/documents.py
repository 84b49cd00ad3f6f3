"""Block documents' metadata, without loading them (no pydantic import: fast CLI listings)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from headwater.errors import BlockNotFoundError
from headwater.naming import split_reference
from headwater.store._db import Record as Row
from headwater.store._db import Tx
from headwater.store.engine import db_read

__all__ = ["DocumentInfo", "list_documents", "not_found_message", "one_document", "query_documents", "read_document"]

_DOC = "SELECT * FROM block_documents"
_SECRETS = "SELECT * FROM block_secrets WHERE document_id = :id"


@dataclass
class DocumentInfo:
    """A stored block document's metadata (no secret values)."""

    id: str
    slug: str
    name: str
    data: dict[str, Any]
    schema_version: int
    schema_checksum: str
    checksum: str
    dist: str | None
    dist_version: str | None
    module: str | None
    class_name: str | None
    secrets_backend: str | None
    created: float
    updated: float
    secret_fields: list[str]
    intact: bool = True  # the stored text matches its checksum (False: edited outside Headwater)

    @property
    def ref(self) -> str:
        return f"{self.slug}/{self.name}"


def query_documents(tx: Tx, slug: str | None, name: str) -> list[Row]:
    if slug is not None:
        return tx.execute(f"{_DOC} WHERE slug = :slug AND name = :name", {"slug": slug, "name": name})
    return tx.execute(f"{_DOC} WHERE name = :name", {"name": name})


def not_found_message(tx: Tx, slug: str | None, name: str) -> str:
    shown = f"{slug}/{name}" if slug else name
    similar = [f"{r.slug}/{r.name}" for r in query_documents(tx, None, name)]
    hint = f" (found {', '.join(similar)})" if similar else ""
    return (
        f"no block named '{shown}'{hint}: create it with `headwater block create` or Block.save(), "
        "list them with `headwater block ls`"
    )


def one_document(tx: Tx, slug: str | None, name: str, how: str) -> Row:
    """The one document ``slug/name`` (or the only one called ``name``).

    Raises:
        BlockNotFoundError: None has that reference, or several share the name; the message
            ends with ``how`` to name it then (e.g. "load it as 'slug/name'").
    """
    rows = query_documents(tx, slug, name)
    if not rows:
        raise BlockNotFoundError(not_found_message(tx, slug, name))
    if len(rows) > 1:
        refs = ", ".join(sorted(f"{r.slug}/{r.name}" for r in rows))
        raise BlockNotFoundError(f"block name {name!r} is ambiguous ({refs}): {how}")
    return rows[0]


def _info(row: Row, secret_paths: list[str]) -> DocumentInfo:
    try:
        data = json.loads(row.data)
    except ValueError:
        data = {}
    return DocumentInfo(
        id=row.id, slug=row.slug, name=row.name, data=data, schema_version=row.schema_version,
        schema_checksum=row.schema_checksum, checksum=row.checksum, dist=row.dist, dist_version=row.dist_version,
        module=row.module, class_name=row.class_name, secrets_backend=row.secrets_backend,
        created=row.created, updated=row.updated, secret_fields=secret_paths,
        intact="sha256:" + hashlib.sha256(row.data.encode()).hexdigest() == row.checksum,
    )


def list_documents(slug: str | None = None) -> list[DocumentInfo]:
    """Every stored document's metadata, sorted by slug then name."""
    with db_read() as tx:
        if slug:
            rows = tx.execute(f"{_DOC} WHERE slug = :slug ORDER BY slug, name", {"slug": slug})
        else:
            rows = tx.execute(f"{_DOC} ORDER BY slug, name")
        paths: dict[str, list[str]] = {}
        for s in tx.execute("SELECT document_id, path FROM block_secrets"):
            paths.setdefault(s.document_id, []).append(s.path)
    return [_info(r, sorted(paths.get(r.id, []))) for r in rows]


def read_document(ref: str) -> DocumentInfo:
    """One stored document's metadata (no secret values), by ``slug/name`` or unambiguous name."""
    slug, name = split_reference(ref)
    with db_read() as tx:
        row = one_document(tx, slug, name, "use 'slug/name'")
        paths = [s.path for s in tx.execute(_SECRETS, {"id": row.id})]
    return _info(row, sorted(paths))
