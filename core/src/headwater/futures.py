"""Prefect's ``prefect.futures``: ``wait``, ``as_completed`` and the future types.

``PrefectFuture`` and its concrete names are :class:`~headwater.runtime.HeadwaterFuture`;
``PrefectFutureList`` is the list ``task.map()`` returns.
"""

from headwater.runtime.futures import (
    DoneAndNotDone,
    HeadwaterFuture,
    HeadwaterFutureList,
    as_completed,
    resolve_futures_to_results,
    resolve_futures_to_states,
    wait,
)

PrefectFuture = HeadwaterFuture
PrefectConcurrentFuture = HeadwaterFuture
PrefectDistributedFuture = HeadwaterFuture
PrefectFutureList = HeadwaterFutureList
DoneAndNotDoneFutures = DoneAndNotDone

__all__ = [
    "DoneAndNotDone",
    "DoneAndNotDoneFutures",
    "HeadwaterFuture",
    "HeadwaterFutureList",
    "PrefectConcurrentFuture",
    "PrefectDistributedFuture",
    "PrefectFuture",
    "PrefectFutureList",
    "as_completed",
    "resolve_futures_to_results",
    "resolve_futures_to_states",
    "wait",
]
