"""Prefect 0.15's ``prefect.triggers`` (see :mod:`headwater.v1.triggers`)."""

from headwater.v1.triggers import (
    all_failed,
    all_finished,
    all_successful,
    always_run,
    any_failed,
    any_successful,
    not_all_skipped,
)

__all__ = [
    "all_failed",
    "all_finished",
    "all_successful",
    "always_run",
    "any_failed",
    "any_successful",
    "not_all_skipped",
]
