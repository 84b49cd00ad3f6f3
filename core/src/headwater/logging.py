"""Prefect's ``prefect.logging``: ``get_run_logger`` (inside a run) and ``get_logger``."""

from __future__ import annotations

import logging as _logging

from headwater.runtime._record import get_run_logger

__all__ = ["get_logger", "get_run_logger"]


def get_logger(name: str | None = None) -> _logging.Logger:
    """A logger under ``headwater`` (``headwater.NAME``), usable anywhere, as Prefect's ``get_logger``."""
    return _logging.getLogger("headwater" if not name else f"headwater.{name}")
