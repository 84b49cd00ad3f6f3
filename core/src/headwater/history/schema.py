"""Store migrations for run history (versions 2 and up; version 1 is the block store)."""

from __future__ import annotations

MIGRATIONS: list = []
