"""The :class:`Block` base class: typed, secret-safe configuration saved by name."""

from __future__ import annotations

import hashlib
import inspect
import json
import warnings
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from headwater.dispatch import dispatch_class
from headwater.errors import BlockValidationError, HeadwaterError
from headwater.naming import slug_from_class_name
from headwater.redaction import redact, remember

__all__ = ["Block", "BlockInUseError", "BlockMigrationError", "BlockSchemaWarning"]

B = TypeVar("B", bound="Block")


class BlockSchemaWarning(UserWarning):
    """A stored document did not match the current block class exactly (fields dropped)."""


class BlockMigrationError(BlockValidationError):
    """A block class's migration failed on a stored document."""


class BlockInUseError(HeadwaterError):
    """A block cannot be deleted: other saved blocks refer to it (pass ``force=True``)."""


async def to_thread(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``asyncio.to_thread`` without importing asyncio at module import.

    Only the ``a*`` twins need it, and whoever awaits them has imported asyncio already;
    importing it eagerly would add asyncio's import time to every process that uses a block.
    """
    import asyncio

    return await asyncio.to_thread(func, *args, **kwargs)


def _block_event(what: str, document_id: str | None, name: str, slug: str | None) -> None:
    from headwater.events.emit import record_event_now

    full = name if "/" in name or slug is None else f"{slug}/{name}"
    resource = {"headwater.resource.id": f"headwater.block-document.{document_id or full}",
                "headwater.resource.name": full}
    if slug:
        resource["headwater.block-type.slug"] = slug
    record_event_now(f"headwater.block-document.{what}", resource)


class Block(BaseModel):
    """Base class of every block.

    Subclass it with typed fields (each with ``Field(description=...)``); secret fields use
    ``SecretStr``, ``SecretBytes`` or ``SecretDict``.

    Example:
        >>> class Warehouse(Block):
        ...     url: str = Field(description="Where it is")
        ...     password: SecretStr = Field(description="Its password")
        >>> Warehouse(url="x", password="p").save("prod")   # doctest: +SKIP
        >>> Warehouse.load("prod").password                 # doctest: +SKIP
        SecretStr('**********')
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, arbitrary_types_allowed=True)

    _block_type_slug: ClassVar[str | None] = None
    _block_schema_version: ClassVar[int] = 1
    _block_migrations: ClassVar[dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {}
    _block_description: ClassVar[str | None] = None
    _block_abstract: ClassVar[bool] = False

    _block_document_name: str | None = PrivateAttr(default=None)
    _block_document_id: str | None = PrivateAttr(default=None)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _validation_error(type(self), exc) from None
        _remember_secrets(self)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # `foo` with an async twin `afoo` returns afoo's coroutine when called from async code
        # (Prefect 3's dispatch): a subclass's own overrides need wrapping too.
        dispatch_class(cls)
        if inspect.isabstract(cls) or cls.__dict__.get("_block_abstract", False):
            return
        from headwater.registries import block_types

        block_types.add_local(cls)

    # -- identity -------------------------------------------------------------------------

    @classmethod
    def get_block_type_slug(cls) -> str:
        """The block type's slug: ``_block_type_slug`` if the class sets it, else from its name."""
        own = cls.__dict__.get("_block_type_slug")
        return own if isinstance(own, str) else slug_from_class_name(cls.__name__)

    @classmethod
    def get_description(cls) -> str:
        doc = cls._block_description or inspect.getdoc(cls) or ""
        return doc.strip().split("\n\n")[0].replace("\n", " ")

    @classmethod
    def schema_checksum(cls) -> str:
        """A checksum of the class's JSON schema (changes when fields change)."""
        cached = cls.__dict__.get("_hw_schema_checksum")
        if cached is None:
            schema = json.dumps(cls.model_json_schema(), sort_keys=True, default=str)
            cached = "sha256:" + hashlib.sha256(schema.encode()).hexdigest()
            type.__setattr__(cls, "_hw_schema_checksum", cached)
        return cached

    @property
    def block_document_name(self) -> str | None:
        """The name this block was saved or loaded as, if any."""
        return self._block_document_name

    # -- persistence ----------------------------------------------------------------------

    def save(self, name: str, overwrite: bool = False, *, replace: bool = False) -> str:
        """Save this block as ``name``; returns the document id.

        Args:
            name: The name to save it under.
            overwrite: Replace a saved block of this type and name.
            replace: Replace whatever is saved under ``name``, of any block type, in one
                transaction (re-pointing ``raw`` from a ``LocalFileSystem`` to an ``S3Bucket``
                leaves one ``raw``, so ``Block.load("raw")`` stays unambiguous).

        Raises:
            BlockExistsError: ``name`` exists for this block type and neither flag is given.
            BlockInUseError: ``replace`` would remove a block of another type that other saved
                blocks refer to.
            InvalidBlockNameError: ``name`` is not a valid name.

        Called from async code (an ``async def`` flow or task), it returns :meth:`asave`'s
        coroutine instead, as in Prefect 3 (``await block.save("x")``); pass ``_sync=True``
        to run it in place. The same holds for :meth:`load` and :meth:`delete`.
        """
        from headwater.blocks import persistence

        document_id = persistence.save_block(self, name, overwrite=overwrite, replace=replace)
        _block_event("saved", document_id, name, self.get_block_type_slug())
        return document_id

    @classmethod
    def load(cls: type[B], name: str) -> B:
        """Load a saved block by ``name``, or by ``"slug/name"`` (on ``Block`` itself, a bare
        name works when it is unambiguous).

        Raises:
            BlockNotFoundError: nothing is saved under that name.
            UnknownBlockTypeError: the block's type is provided by a plugin that is not installed.
        """
        from headwater.blocks import persistence

        return persistence.load_block(cls, name)  # type: ignore[return-value]

    @classmethod
    def delete(cls, name: str, force: bool = False) -> None:
        """Delete the saved block ``name`` (and its secrets).

        Raises:
            BlockInUseError: other saved blocks refer to it and ``force`` is False (they would no
                longer load).
        """
        from headwater.blocks import persistence

        persistence.delete_block(cls, name, force=force)
        _block_event("deleted", None, name, None if cls is Block else cls.get_block_type_slug())

    async def asave(self, name: str, overwrite: bool = False, *, replace: bool = False) -> str:
        return await to_thread(self.save, name, overwrite, replace=replace)

    @classmethod
    async def aload(cls: type[B], name: str) -> B:
        return await to_thread(cls.load, name)

    @classmethod
    async def adelete(cls, name: str, force: bool = False) -> None:
        await to_thread(cls.delete, name, force)

    def check(self) -> None:
        """Test connectivity with this configuration; raise a HeadwaterError if it fails.

        Blocks that talk to a system override this; the base has nothing to check.
        """
        raise NotImplementedError(f"block type {self.get_block_type_slug()!r} has no check()")

    # -- documents --------------------------------------------------------------------------

    @classmethod
    def migrate_document(cls, data: dict[str, Any], from_version: int) -> dict[str, Any]:
        """Upgrade a stored document's fields from ``from_version`` to the current version.

        The default applies ``_block_migrations[v]`` (``v`` -> ``v + 1``) in turn; override for
        anything more involved. ``data`` holds the fields as plain JSON values, except that
        secret values, references to saved blocks and nested blocks saved inline are
        placeholders: move a placeholder to rename its field (``data["password"] =
        data.pop("pw")``). Inline nested blocks arrive already migrated by their own class.

        Raises:
            BlockMigrationError: a migration step raised (the message names the step and its error).
        """
        for version in range(from_version, cls._block_schema_version):
            step = cls._block_migrations.get(version)
            if step is not None:
                try:
                    data = step(dict(data))
                except Exception as exc:
                    raise BlockMigrationError(
                        f"{cls.__name__}'s migration from schema version {version} to {version + 1} raised "
                        f"{type(exc).__name__}: {redact(str(exc))}"
                    ) from exc
                if not isinstance(data, dict):
                    raise BlockMigrationError(
                        f"{cls.__name__}'s migration from schema version {version} to {version + 1} returned "
                        f"{type(data).__name__}, not a dict of fields"
                    )
        return data

    @classmethod
    def _from_document_fields(cls: type[B], fields: dict[str, Any], where: str | None = None) -> B:
        unknown = sorted(set(fields) - set(cls.model_fields))
        if unknown:
            warnings.warn(
                f"{where or cls.get_block_type_slug()}: stored field(s) {', '.join(unknown)} no longer exist "
                f"on {cls.__name__} and were dropped; re-save the block to stop this warning",
                BlockSchemaWarning,
                stacklevel=4,
            )
            fields = {k: v for k, v in fields.items() if k not in unknown}
        try:
            block = cls.model_validate(fields)
        except ValidationError as exc:
            raise _validation_error(cls, exc, where) from None
        _remember_secrets(block)
        return block


dispatch_class(Block)


def _remember_secrets(block: BaseModel) -> None:
    from headwater.blocks.types import SECRET_TYPES

    for name in type(block).model_fields:
        value = getattr(block, name, None)
        if isinstance(value, SECRET_TYPES):
            remember(value)
        elif isinstance(value, BaseModel):
            _remember_secrets(value)


def _validation_error(cls: type, exc: ValidationError, where: str | None = None) -> HeadwaterError:
    """A readable error that never echoes the input values (they may be secrets)."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(block)"
        parts.append(f"{loc}: {redact(err['msg'])}")
    label = where or getattr(cls, "get_block_type_slug", lambda: cls.__name__)()
    return BlockValidationError(f"invalid {label}: " + "; ".join(parts))
