"""Block classes shared by core tests (importable by subprocesses as `blockdefs`)."""

from __future__ import annotations

from headwater import Block, SecretBytes, SecretDict, SecretStr
from pydantic import Field


class WarehouseCredentials(Block):
    """Credentials for the test warehouse."""

    username: str = Field(description="User name.")
    password: SecretStr = Field(description="Password.")


class Warehouse(Block):
    """A test warehouse."""

    host: str = Field(description="Host name.")
    port: int = Field(default=5432, description="Port.")
    credentials: WarehouseCredentials = Field(description="Login.")
    extra: SecretDict | None = Field(default=None, description="Secret extras.")
    cert: SecretBytes | None = Field(default=None, description="Client certificate.")
