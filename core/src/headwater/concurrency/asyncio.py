"""Prefect's ``prefect.concurrency.asyncio``: ``concurrency`` and ``rate_limit`` for async code."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from headwater.concurrency._limits import aacquire, release

__all__ = ["concurrency", "rate_limit"]


@asynccontextmanager
async def concurrency(names: str | Sequence[str], occupy: int = 1, timeout_seconds: float | None = None,
                      strict: bool = False, **_prefect_options: object) -> AsyncIterator[None]:
    """``async with concurrency("name", occupy=n):`` (see :func:`headwater.concurrency.sync.concurrency`)."""
    holders = await aacquire(names, occupy, timeout_seconds, False, strict)
    try:
        yield
    finally:
        release(holders)


async def rate_limit(names: str | Sequence[str], occupy: int = 1, timeout_seconds: float | None = None,
                     strict: bool = False, **_prefect_options: object) -> None:
    """``await rate_limit("name")`` (see :func:`headwater.concurrency.sync.rate_limit`)."""
    await aacquire(names, occupy, timeout_seconds, True, strict)
