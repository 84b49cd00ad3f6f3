"""Prefect 0.15's ``prefect.executors``: accepted by ``flow.run(executor=...)``; Headwater's engine runs the tasks.

0.15-style flows run their tasks one after another and mapped children on a thread pool,
whichever executor is named.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DaskExecutor", "LocalDaskExecutor", "LocalExecutor"]


class LocalExecutor:
    """Accepted for 0.15 code (tasks run in order in this process)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs


class LocalDaskExecutor(LocalExecutor):
    """Accepted for 0.15 code (mapped children run on a thread pool)."""


class DaskExecutor(LocalExecutor):
    """Accepted for 0.15 code; for a Dask cluster write a @flow with headwater_dask.DaskTaskRunner."""
