"""Prefect's ``prefect.concurrency``: global concurrency and rate limits shared through the store.

``from headwater.concurrency.sync import concurrency, rate_limit`` in sync code and
``from headwater.concurrency.asyncio import concurrency, rate_limit`` in async code, as in
Prefect; limits are created with ``headwater global-concurrency-limit create NAME --limit N`` or
:func:`create_limit`.
"""

from headwater.concurrency._limits import (
    AcquireConcurrencySlotTimeoutError,
    ConcurrencySlotAcquisitionError,
    create_limit,
    delete_limit,
    list_limits,
)
from headwater.concurrency.sync import concurrency, rate_limit

__all__ = [
    "AcquireConcurrencySlotTimeoutError",
    "ConcurrencySlotAcquisitionError",
    "concurrency",
    "create_limit",
    "delete_limit",
    "list_limits",
    "rate_limit",
]
