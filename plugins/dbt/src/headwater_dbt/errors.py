"""Errors raised by headwater-dbt; each says what is wrong and what to do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headwater.errors import BlockValidationError, ConfigError, HeadwaterError, PluginError
from headwater.redaction import redact
from pydantic import ValidationError

__all__ = [
    "DbtAdapterNotInstalledError",
    "DbtError",
    "DbtNodeFailure",
    "DbtProfileError",
    "DbtProjectError",
    "DbtRunError",
    "DbtValidationError",
]


class DbtError(HeadwaterError):
    """Base class of every headwater-dbt error."""


class DbtProjectError(DbtError, ConfigError):
    """The dbt project directory is missing or is not a dbt project."""


class DbtProfileError(DbtError, ConfigError, ValueError):
    """The dbt profile is invalid, or names a target that does not exist (also a ``ValueError``, as in prefect-dbt)."""


class DbtValidationError(DbtError, BlockValidationError, ValidationError):
    """A dbt block's field values do not validate.

    Also a pydantic ``ValidationError`` (``errors()`` lists each problem, without the input
    values), as prefect-dbt's blocks raise. ``str()`` is Headwater's one-line message.
    """

    _hw_message: str
    _hw_details: list[Any]

    @classmethod
    def from_pydantic(cls, message: str, exc: ValidationError) -> DbtValidationError:
        """Headwater's ``message`` for pydantic's ``exc``, with its errors minus their inputs."""
        details: list[Any] = []
        for err in exc.errors(include_url=False, include_input=False):
            detail: dict[str, Any] = {"type": err["type"], "loc": err["loc"], "input": None}
            ctx = err.get("ctx")
            if ctx:
                detail["ctx"] = {
                    k: (ValueError(redact(str(v))) if isinstance(v, BaseException) else v) for k, v in ctx.items()
                }
            details.append(detail)
        return cls._build(message, exc.title, details)

    @classmethod
    def _build(cls, message: str, title: str, details: list[Any]) -> DbtValidationError:
        error = cls.from_exception_data(title, details)
        error._hw_message, error._hw_details = message, details
        return error

    def __reduce__(self) -> Any:
        # pydantic's own reduce would rebuild the error without Headwater's message.
        return (_rebuild_validation_error, (type(self), str(self), self.title, getattr(self, "_hw_details", [])))

    def __str__(self) -> str:
        return getattr(self, "_hw_message", "") or ValidationError.__str__(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class DbtAdapterNotInstalledError(DbtError, PluginError):
    """The dbt adapter a target needs is not installed."""


@dataclass(frozen=True)
class DbtNodeFailure:
    """One dbt node that ended in error or failure."""

    unique_id: str
    status: str
    message: str

    def __str__(self) -> str:
        return f"{self.unique_id} ({self.status}): {self.message}"


class DbtRunError(DbtError):
    """A dbt command did not succeed.

    Attributes:
        command: The dbt command that failed, as given.
        project_dir: The project it ran in.
        failures: The nodes that errored or failed, with dbt's message for each.
    """

    def __init__(self, message: str, *, command: str = "", project_dir: str = "",
                 failures: tuple[DbtNodeFailure, ...] = ()):
        super().__init__(message)
        self.command = command
        self.project_dir = project_dir
        self.failures = failures


def _rebuild_validation_error(
    cls: type[DbtValidationError], message: str, title: str, details: list[Any]
) -> DbtValidationError:
    return cls._build(message, title, details)
