"""Prefect's ``prefect.concurrency.sync``: ``concurrency`` and ``rate_limit`` for sync code."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from headwater.concurrency._limits import acquire, release

__all__ = ["concurrency", "rate_limit"]


@contextmanager
def concurrency(names: str | Sequence[str], occupy: int = 1, timeout_seconds: float | None = None,
                strict: bool = False, **_prefect_options: object) -> Iterator[None]:
    """Hold ``occupy`` slots of each named global concurrency limit while the block runs.

    Waits for free slots (every process on the store shares the limit). A limit that does not
    exist limits nothing, unless ``strict``.

    Raises:
        AcquireConcurrencySlotTimeoutError: Not acquired within ``timeout_seconds`` (a ``TimeoutError``).
        ConcurrencySlotAcquisitionError: ``strict`` and the limit does not exist, or ``occupy``
            is more than the limit.

    Example:
        >>> with concurrency("database", occupy=1):  # doctest: +SKIP
        ...     load_rows()
    """
    holders = acquire(names, occupy, timeout_seconds, False, strict)
    try:
        yield
    finally:
        release(holders)


def rate_limit(names: str | Sequence[str], occupy: int = 1, timeout_seconds: float | None = None,
               strict: bool = False, **_prefect_options: object) -> None:
    """Wait until ``occupy`` slots of each named rate limit are free and take them; they drain
    at the limit's ``slot_decay_per_second``.

    Example:
        >>> for url in urls:  # doctest: +SKIP
        ...     rate_limit("api", occupy=1)
        ...     fetch(url)
    """
    acquire(names, occupy, timeout_seconds, True, strict)
