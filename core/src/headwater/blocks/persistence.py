"""Saving, loading, listing and deleting block documents in the store."""

from __future__ import annotations

import hashlib
import json
import sys
import time
import uuid
import warnings
from typing import TYPE_CHECKING, Any

from headwater.blocks import codec
from headwater.errors import (
    BlockExistsError,
    BlockNotFoundError,
    HeadwaterError,
    InvalidBlockNameError,
    SecretBackendError,
    StoreError,
    UnknownBlockTypeError,
)
from headwater.naming import split_reference, validate_name
from headwater.redaction import remember
from headwater.store._db import Record as Row
from headwater.store.documents import (
    DocumentInfo,
    list_documents,
    one_document,
    query_documents,
    read_document,
)
from headwater.store.engine import db_read, db_write

if TYPE_CHECKING:
    from headwater.blocks.core import Block

_SECRETS = "SELECT * FROM block_secrets WHERE document_id = :id"
_DOC = "SELECT * FROM block_documents"
_COLUMNS = (
    "data", "schema_version", "schema_checksum", "checksum", "dist", "dist_version",
    "module", "class_name", "secrets_backend", "updated",
)

__all__ = ["DocumentInfo", "delete_block", "list_documents", "load_block", "read_document", "save_block"]


_provenance_cache: dict[type, tuple[str | None, str | None]] = {}


def _provenance(cls: type[Block]) -> tuple[str | None, str | None]:
    """The distribution (and version) providing ``cls``, as recorded in saved documents."""
    cached = _provenance_cache.get(cls)
    if cached is not None:
        return cached
    from headwater.registries import block_types

    info = block_types.get(cls.get_block_type_slug())
    if info is not None and info.cls is cls and info.dist:
        found: tuple[str | None, str | None] = (info.dist, info.dist_version)
    else:
        from headwater.plugins import distribution_of_module

        found = distribution_of_module(cls.__module__)
    _provenance_cache[cls] = found
    return found


def _checksum(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def save_block(block: Block, name: str, overwrite: bool = False, replace: bool = False) -> str:
    from headwater.blocks.secrets import get_secret_backend

    validate_name(name)
    cls = type(block)
    slug = cls.get_block_type_slug()
    data, plain = codec.encode(block)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    dist, dist_version = _provenance(cls)
    backend = get_secret_backend() if plain else None
    now = time.time()
    stored_keyring: list[str] = []
    with db_write() as tx:
        found = tx.execute(f"{_DOC} WHERE slug = :slug AND name = :name", {"slug": slug, "name": name})
        row = found[0] if found else None
        replaced = _drop_other_types(tx, slug, name) if replace else []
        if row is not None and not (overwrite or replace):
            raise BlockExistsError(
                f"block '{slug}/{name}' already exists: pass overwrite=True (CLI: --overwrite) to replace it"
            )
        doc_id = row.id if row is not None else str(uuid.uuid4())
        old = {r.path: r for r in tx.execute(_SECRETS, {"id": doc_id})} if row is not None else {}
        values = dict(
            data=text,
            schema_version=cls._block_schema_version,
            schema_checksum=cls.schema_checksum(),
            checksum=_checksum(text),
            dist=dist,
            dist_version=dist_version,
            module=cls.__module__,
            class_name=cls.__qualname__,
            secrets_backend=backend.name if backend else None,
            updated=now,
        )
        if row is None:
            tx.execute(
                f"INSERT INTO block_documents (id, slug, name, created, {', '.join(_COLUMNS)}) "
                f"VALUES (:id, :slug, :name, :created, {', '.join(':' + c for c in _COLUMNS)})",
                {"id": doc_id, "slug": slug, "name": name, "created": now, **values},
            )
        else:
            tx.execute(
                f"UPDATE block_documents SET {', '.join(f'{c} = :{c}' for c in _COLUMNS)} WHERE id = :id",
                {"id": doc_id, **values},
            )
            tx.execute("DELETE FROM block_secrets WHERE document_id = :id", {"id": doc_id})
        try:
            rows = []
            for path, value in plain.items():
                assert backend is not None
                ref = f"{doc_id}:{path}"
                rows.append({"document_id": doc_id, "path": path, "backend": backend.name,
                             "stored": backend.store(ref, value)})
                stored_keyring.append(ref)
            tx.executemany(
                "INSERT INTO block_secrets (document_id, path, backend, stored) VALUES (:document_id, :path, :backend, "
                ":stored)",
                rows,
            )
        except BaseException:
            if backend is not None:
                for ref in stored_keyring:
                    backend.delete(ref, None)
            raise
    for path, r in old.items():
        if path not in plain or (backend and r.backend != backend.name):
            _delete_secret(doc_id, r)
    for other_id, r in replaced:
        _delete_secret(other_id, r)
    remember(list(plain.values()))
    block._block_document_name = name
    block._block_document_id = doc_id
    return doc_id


def _drop_other_types(tx: Any, slug: str, name: str) -> list[tuple[str, Any]]:
    """Delete the documents called ``name`` of types other than ``slug`` in ``tx`` (so that a
    re-pointed name stays unambiguous); returns their secret rows, to delete once committed."""
    from headwater.blocks.core import BlockInUseError

    secrets: list[tuple[str, Any]] = []
    for other in query_documents(tx, None, name):
        if other.slug == slug:
            continue
        users = referrers(tx, other.slug, other.name)
        if users:
            raise BlockInUseError(
                f"cannot replace '{other.slug}/{other.name}' with a {slug} block: {', '.join(users)} refer to it "
                f"and would no longer load; re-save those first"
            )
        secrets.extend((other.id, r) for r in tx.execute(_SECRETS, {"id": other.id}))
        tx.execute("DELETE FROM block_secrets WHERE document_id = :id", {"id": other.id})
        tx.execute("DELETE FROM block_documents WHERE id = :id", {"id": other.id})
    return secrets


def _delete_secret(doc_id: str, row: Any) -> None:
    from headwater.blocks.secrets import get_secret_backend

    try:
        get_secret_backend(row.backend).delete(f"{doc_id}:{row.path}", row.stored)
    except Exception:
        pass


def _resolve_target(cls: type[Block], ref: str) -> tuple[str | None, str]:
    from headwater.blocks.core import Block

    slug, name = split_reference(ref)
    if cls is not Block:
        own = cls.get_block_type_slug()
        if slug is not None and slug != own:
            raise InvalidBlockNameError(f"{cls.__name__}.load({ref!r}): {ref!r} is a {slug!r} block, not {own!r}")
        slug = own
    return slug, name


def load_block(cls: type[Block], ref: str, _depth: int = 0) -> Block:
    slug, name = _resolve_target(cls, ref)
    with db_read() as tx:
        row = one_document(tx, slug, name, "load it as 'slug/name'")
        secret_rows = tx.execute(_SECRETS, {"id": row.id})
    return _materialise(cls, row, secret_rows, _depth)


def _materialise(cls: type[Block], row: Row, secret_rows: list[Row], depth: int) -> Block:
    from headwater.blocks.core import Block
    from headwater.blocks.secrets import get_secret_backend

    where = f"{row.slug}/{row.name}"
    if _checksum(row.data) != row.checksum:
        raise StoreError(f"block '{where}' is corrupted in the store (checksum mismatch): re-create it with `headwater "
                         "block create` or save()")
    try:
        data = json.loads(row.data)
    except ValueError:
        raise StoreError(f"block '{where}' is corrupted in the store (not JSON): re-create it") from None
    target = resolve_block_class(row.slug, row, cls if cls is not Block else None)
    if row.schema_version > target._block_schema_version:
        warnings.warn(
            f"block '{where}' was saved by a newer version of {target.__name__} (schema {row.schema_version} > "
            f"{target._block_schema_version}); upgrade {row.dist or 'the package providing it'}",
            stacklevel=3,
        )
    plain: dict[str, str] = {}
    for s in secret_rows:
        try:
            plain[s.path] = get_secret_backend(s.backend).load(f"{row.id}:{s.path}", s.stored)
        except SecretBackendError as exc:
            raise SecretBackendError(f"block '{where}', secret field {s.path}: {exc}") from None
    remember(list(plain.values()))
    if depth > 20:
        raise StoreError(f"block '{where}' nests references more than 20 deep (a cycle?)")

    def resolve_ref(slug: str, name: str) -> Block:
        try:
            return load_block(Block, f"{slug}/{name}", depth + 1)
        except BlockNotFoundError:
            raise BlockNotFoundError(
                f"block '{where}' refers to '{slug}/{name}', which does not exist (deleted?): re-create "
                f"'{slug}/{name}', or re-save '{where}' with another value"
            ) from None

    def resolve_slug(slug: str) -> type[Block]:
        return resolve_block_class(slug, None, None)

    def migrate(block_cls: type[Block], fields: dict[str, Any], version: int, path: str) -> dict[str, Any]:
        return _migrate(block_cls, fields, version, f"block '{where}' field {path}")

    fields = codec.parse(data, plain, resolve_slug, migrate)
    if row.schema_version < target._block_schema_version:
        fields = _migrate(target, fields, row.schema_version, f"block '{where}'")
    try:
        values = codec.resolve(fields, resolve_ref, where)
    except SecretBackendError as exc:
        raise SecretBackendError(f"block '{where}': {exc}") from None
    block = target._from_document_fields(values, where)
    block._block_document_name = row.name
    block._block_document_id = row.id
    return block


def _migrate(cls: type[Block], fields: dict[str, Any], version: int, label: str) -> dict[str, Any]:
    """``cls.migrate_document`` with any failure named after the document and the versions."""
    from headwater.blocks.core import BlockMigrationError
    from headwater.redaction import redact

    steps = f"{cls.__name__} ({cls.get_block_type_slug()}) from schema version {version} to {cls._block_schema_version}"
    try:
        return cls.migrate_document(fields, version)
    except BlockMigrationError as exc:
        raise BlockMigrationError(f"cannot migrate {label}: {exc}") from exc.__cause__
    except HeadwaterError:
        raise
    except Exception as exc:
        raise BlockMigrationError(f"cannot migrate {label}, {steps}: {type(exc).__name__}: {redact(str(exc))}") from exc


def resolve_block_class(slug: str, row: Any = None, preferred: type[Block] | None = None) -> type[Block]:
    """The class for ``slug``: the caller's class, a registered one, or a clear error."""
    from headwater.registries import block_types

    if preferred is not None and preferred.get_block_type_slug() == slug:
        return preferred
    info = block_types.get(slug)
    if info is None:
        from headwater.plugins import block_type_registry

        info = block_type_registry(load=True).get(slug)
    if info is not None:
        return info.cls  # type: ignore[return-value]
    dist = getattr(row, "dist", None)
    if dist and dist != "headwater":
        from headwater.plugins import find_plugin_for_dist

        plugin = find_plugin_for_dist(dist)
        if plugin is not None and plugin.error:
            raise UnknownBlockTypeError(
                f"block type {slug!r} is provided by {dist}, which is installed but failed to load ({plugin.error}); "
                f"see `headwater plugin ls`"
            )
        if plugin is not None and plugin.skipped:
            raise UnknownBlockTypeError(
                f"block type {slug!r} is provided by {dist}, whose plugin {plugin.name!r} is not in "
                "HEADWATER_LOAD_PLUGINS"
            )
        raise UnknownBlockTypeError(
            f"block type {slug!r} is provided by {dist}, which is not installed: pip install {dist}"
        )
    module = getattr(row, "module", None)
    if module:
        if module != "__main__" and module.split(".")[0] not in sys.modules:
            try:
                __import__(module)
            except ImportError:
                pass
            else:
                found = block_types.get(slug)
                if found is not None:
                    return found.cls  # type: ignore[return-value]
        raise _unknown_local(slug, module, getattr(row, "class_name", None))
    raise UnknownBlockTypeError(f"unknown block type {slug!r}: install the plugin that provides it (`headwater block "
                                "type ls` lists known types)")


def _unknown_local(slug: str, module: str, class_name: str | None) -> UnknownBlockTypeError:
    return UnknownBlockTypeError(
        f"block type {slug!r} was saved from class {class_name or '?'} in module {module!r}, which is not a plugin: "
        f"import or define that class before loading the block"
    )


def referrers(tx: Any, slug: str, name: str) -> list[str]:
    """The saved blocks whose documents refer to ``slug/name`` (as ``slug/name``)."""
    marker = json.dumps({codec.REF: {"name": name, "slug": slug}}, sort_keys=True, separators=(",", ":"))
    pattern = "%" + marker.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = tx.execute("SELECT slug, name, data FROM block_documents WHERE data LIKE :p ESCAPE '\\'", {"p": pattern})
    return sorted(f"{r.slug}/{r.name}" for r in rows if marker in r.data)


def delete_block(cls: type[Block], ref: str, force: bool = False) -> None:
    from headwater.blocks.core import BlockInUseError

    slug, name = _resolve_target(cls, ref)
    with db_write() as tx:
        row = one_document(tx, slug, name, "delete it as 'slug/name'")
        users = [] if force else referrers(tx, row.slug, row.name)
        if users:
            raise BlockInUseError(
                f"block '{row.slug}/{row.name}' is referred to by {', '.join(users)}, which would no longer load: "
                f"delete or re-save those first, or delete anyway with force=True (CLI: --force)"
            )
        old = tx.execute(_SECRETS, {"id": row.id})
        tx.execute("DELETE FROM block_secrets WHERE document_id = :id", {"id": row.id})
        tx.execute("DELETE FROM block_documents WHERE id = :id", {"id": row.id})
    for s in old:
        _delete_secret(row.id, s)


