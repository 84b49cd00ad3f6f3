"""What headwater-gcs raises, importable from here (all core's classes): ``ObjectNotFoundError``
for a missing object or bucket, ``ConnectionFailedError`` for refused credentials or an endpoint
out of reach, ``TransferError`` for a transfer that stopped part-way or a CRC32C mismatch.
"""

from __future__ import annotations

from headwater.errors import (
    BlockValidationError,
    ConfigError,
    ConnectionFailedError,
    HeadwaterError,
    ObjectNotFoundError,
    StorageError,
    TransferError,
)

__all__ = [
    "BlockValidationError",
    "ConfigError",
    "ConnectionFailedError",
    "HeadwaterError",
    "ObjectNotFoundError",
    "StorageError",
    "TransferError",
]
