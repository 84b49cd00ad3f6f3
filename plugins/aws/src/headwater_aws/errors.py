"""What headwater-aws raises, importable from here: a missing key or bucket is an
``ObjectNotFoundError``, a refused or unreachable endpoint a ``ConnectionFailedError``, a folder
transfer that stopped part-way a ``TransferError`` listing what was and was not transferred,
and a failing AWS Secrets Manager a ``SecretBackendError``. All are core's classes.
"""

from __future__ import annotations

from headwater.errors import (
           BlockValidationError,
           ConfigError,
           ConnectionFailedError,
           HeadwaterError,
           ObjectNotFoundError,
           SecretBackendError,
           StorageError,
           TransferError,
)

__all__ = ["BlockValidationError", "ConfigError", "ConnectionFailedError", "HeadwaterError", "ObjectNotFoundError",
           "SecretBackendError", "StorageError", "TransferError"]
