"""A tiny Headwater plugin used by core's tests."""

from headwater import Block, SecretStr
from pydantic import Field


class Widget(Block):
    """A test widget."""

    size: int = Field(description="How big.")
    api_key: SecretStr = Field(description="Its key.")
