"""Prefect's ``prefect.variables``: ``Variable.set/get/unset``, named JSON values in the store.

Example:
    >>> Variable.set("batch-size", 500, overwrite=True)  # doctest: +SKIP
    >>> Variable.get("batch-size", default=100)           # doctest: +SKIP
    500
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from headwater.errors import HeadwaterError, ObjectAlreadyExists
from headwater.store import objects_schema as _tables  # noqa: F401 (registers the tables used here)

__all__ = ["Variable", "VariableError"]

_NAME = re.compile(r"^[a-z0-9_-]{1,200}$")
_MAX_BYTES = 5000  # Prefect's limit on a variable's value


class VariableError(HeadwaterError, ValueError):
    """A variable's name or value is not acceptable."""


class VariableExistsError(ObjectAlreadyExists, ValueError):
    """``Variable.set`` of an existing name without ``overwrite=True`` (a ``ValueError``, as in Prefect)."""


class Variable:
    """A named JSON value shared by flows and people (``headwater variable set/get/ls``).

    Attributes:
        name: The variable's name.
        value: Its value (a string, number, bool, None, list or dict).
        tags: Its tags.
    """

    def __init__(self, name: str, value: Any, tags: list[str] | None = None) -> None:
        self.name, self.value, self.tags = name, value, list(tags or [])

    def __repr__(self) -> str:
        return f"Variable(name={self.name!r}, value={self.value!r})"

    @classmethod
    def set(cls, name: str, value: Any, tags: list[str] | None = None, overwrite: bool = False) -> Variable:
        """Store ``value`` under ``name``.

        Raises:
            VariableError: The name is not lowercase letters, digits, ``-`` and ``_``, or the
                value is not JSON or is over 5,000 bytes.
            ValueError: The variable exists and ``overwrite`` is False.
        """
        from headwater.store.engine import db_write

        if not _NAME.match(name or ""):
            raise VariableError(f"variable name {name!r} may hold only lowercase letters, digits, '-' and '_'")
        if hasattr(value, "get_secret_value"):
            raise VariableError(f"variable {name!r}: a secret is never stored in a variable (variables are "
                                "plain text): save it in a Secret block, Secret(value=...).save(name)")
        try:
            text = json.dumps(value)
        except (TypeError, ValueError):
            raise VariableError(f"variable {name!r}: a {type(value).__name__} is not a JSON value "
                                "(use a string, number, bool, None, list or dict)") from None
        from headwater.redaction import redact

        if redact(text) != text:  # it holds the value of a secret this process knows (a block's, a parameter's)
            raise VariableError(f"variable {name!r}: the value holds a secret; save secrets in a Secret block, "
                                "never in a variable (variables are plain text)")
        if len(text.encode()) > _MAX_BYTES:
            raise VariableError(f"variable {name!r}: the value is over {_MAX_BYTES} bytes as JSON")
        now = time.time()
        with db_write() as tx:
            exists = tx.execute("SELECT name FROM variables WHERE name = :n", {"n": name})
            if exists and not overwrite:
                raise VariableExistsError(f"variable {name!r} exists: pass overwrite=True to replace it")
            params = {"n": name, "v": text, "tags": json.dumps(list(tags or [])), "t": now}
            if exists:
                tx.execute("UPDATE variables SET value = :v, tags = :tags, updated = :t WHERE name = :n", params)
            else:
                tx.execute("INSERT INTO variables (name, value, tags, created, updated) VALUES (:n, :v, :tags, :t, :t)",
                           params)
        return cls(name, value, tags)

    @classmethod
    def get(cls, name: str, default: Any = None) -> Any:
        """The value stored under ``name``, or ``default`` when there is none."""
        from headwater.store.engine import db_read

        with db_read() as tx:
            rows = tx.execute("SELECT value FROM variables WHERE name = :n", {"n": name})
        return json.loads(rows[0].value) if rows else default

    @classmethod
    def unset(cls, name: str) -> bool:
        """Delete the variable; True when it existed."""
        from headwater.store.engine import db_write

        with db_write() as tx:
            found = tx.execute("SELECT name FROM variables WHERE name = :n", {"n": name})
            tx.execute("DELETE FROM variables WHERE name = :n", {"n": name})
        return bool(found)

    @classmethod
    async def aset(cls, name: str, value: Any, tags: list[str] | None = None, overwrite: bool = False) -> Variable:
        """:meth:`set` for async code."""
        return cls.set(name, value, tags, overwrite)

    @classmethod
    async def aget(cls, name: str, default: Any = None) -> Any:
        """:meth:`get` for async code."""
        return cls.get(name, default)

    @classmethod
    async def aunset(cls, name: str) -> bool:
        """:meth:`unset` for async code."""
        return cls.unset(name)

    @classmethod
    def list(cls) -> list[Variable]:
        """Every variable, by name."""
        from headwater.store.engine import db_read

        with db_read() as tx:
            rows = tx.execute("SELECT name, value, tags FROM variables ORDER BY name")
        return [cls(r.name, json.loads(r.value), json.loads(r.tags or "[]")) for r in rows]
