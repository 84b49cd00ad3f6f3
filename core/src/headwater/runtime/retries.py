"""Retry delays: a number, a list (one per retry), or a callable such as :func:`exponential_backoff`."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

__all__ = ["exponential_backoff", "retry_delay"]


def exponential_backoff(backoff_factor: float) -> Callable[[int], list[float]]:
    """Retry delays that double each time: ``backoff_factor * 2 ** n`` seconds for retry ``n``.

    Args:
        backoff_factor: The first delay in seconds.

    Returns:
        A callable ``(retries) -> list of delays`` accepted by ``retry_delay_seconds``.

    Example:
        >>> @task(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=10))
        ... def flaky(): ...
    """

    def delays(retries: int) -> list[float]:
        return [backoff_factor * 2**n for n in range(retries)]

    return delays


def retry_delay(spec: Any, retries: int, attempt: int, jitter_factor: float | None) -> float:
    """The delay before retry number ``attempt`` (1-based)."""
    if spec is None:
        delay = 0.0
    elif callable(spec):
        delays = list(spec(retries))
        delay = float(delays[min(attempt - 1, len(delays) - 1)]) if delays else 0.0
    elif isinstance(spec, (list, tuple)):
        delay = float(spec[min(attempt - 1, len(spec) - 1)]) if spec else 0.0
    else:
        delay = float(spec)
    if jitter_factor and delay > 0:
        # Spread around the delay, not only above it: at most delay * (1 + factor), and on
        # average the delay itself (for factors up to 1), as Prefect's retry_jitter_factor.
        factor = float(jitter_factor)
        delay = random.uniform(max(0.0, delay * (1 - factor)), delay * (1 + factor))
    return max(delay, 0.0)
