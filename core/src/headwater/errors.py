"""Every error Headwater raises on purpose derives from :class:`HeadwaterError`.

Messages are written for the person at the keyboard: what is wrong, then what to do.
"""

from __future__ import annotations

__all__ = [
    "BlockExistsError",
    "BlockNotFoundError",
    "BlockValidationError",
    "ConfigError",
    "ConnectionFailedError",
    "DuplicateBlockTypeError",
    "HeadwaterError",
    "InvalidBlockNameError",
    "ObjectAlreadyExists",
    "ObjectNotFound",
    "ObjectNotFoundError",
    "PluginError",
    "SecretBackendError",
    "StorageError",
    "StoreError",
    "StoreUnavailableError",
    "TransferError",
    "UnknownBlockTypeError",
]


class HeadwaterError(Exception):
    """Base class of every error Headwater raises deliberately."""


class ConfigError(HeadwaterError):
    """A setting or a block's configuration is invalid."""


class PluginError(HeadwaterError):
    """A plugin is missing, broken, or conflicts with another plugin."""


class DuplicateBlockTypeError(PluginError):
    """Two plugins registered the same block type slug."""


class BlockValidationError(HeadwaterError, ValueError):
    """A block's field values do not validate (secret inputs are never echoed)."""


class InvalidBlockNameError(HeadwaterError, ValueError):
    """A block document name is not acceptable."""


class ObjectNotFound(HeadwaterError):  # noqa: N818 (Prefect's name)
    """A named object (block document, variable, concurrency limit, run) does not exist."""


class ObjectAlreadyExists(HeadwaterError):  # noqa: N818 (Prefect's name)
    """A named object exists already and overwriting was not asked for."""


class BlockNotFoundError(ObjectNotFound, LookupError, ValueError):
    """No block document with that name exists (a ``ValueError``, as Prefect's ``Block.load`` raises)."""


class BlockExistsError(ObjectAlreadyExists, ValueError):
    """A block document with that name exists and overwrite was not requested (a ``ValueError`` as in Prefect)."""


class UnknownBlockTypeError(HeadwaterError, LookupError):
    """A stored document's block type is not provided by anything installed."""


class StoreError(HeadwaterError):
    """The block/run store is corrupted or at an incompatible schema version."""


class StoreUnavailableError(StoreError):
    """The store's database cannot be reached."""


class SecretBackendError(HeadwaterError):
    """A secret could not be stored or retrieved by the secret backend."""


class StorageError(HeadwaterError):
    """An object-storage operation failed."""


class ObjectNotFoundError(StorageError, FileNotFoundError):
    """The object, file or bucket does not exist."""


class TransferError(StorageError):
    """A multi-object or multipart transfer failed part-way; says what was transferred."""


class ConnectionFailedError(HeadwaterError, ConnectionError):
    """A remote system (S3, GCS, a database, ...) could not be reached or refused the credentials."""
