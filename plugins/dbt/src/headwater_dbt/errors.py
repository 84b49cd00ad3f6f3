"""Errors raised by headwater-dbt; each says what is wrong and what to do."""

from __future__ import annotations

from dataclasses import dataclass

from headwater.errors import ConfigError, HeadwaterError, PluginError

__all__ = [
    "DbtAdapterNotInstalledError",
    "DbtError",
    "DbtNodeFailure",
    "DbtProfileError",
    "DbtProjectError",
    "DbtRunError",
]


class DbtError(HeadwaterError):
    """Base class of every headwater-dbt error."""


class DbtProjectError(DbtError, ConfigError):
    """The dbt project directory is missing or is not a dbt project."""


class DbtProfileError(DbtError, ConfigError):
    """The dbt profile is invalid, or names a target that does not exist."""


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
