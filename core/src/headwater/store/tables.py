"""A SQLAlchemy ``MetaData`` for code that prefers SQLAlchemy Core table objects.

The store's schema itself is created by the plain-SQL migrations in ``migrations.py``.
"""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()
