"""A tiny Headwater plugin used by core's tests."""

from pydantic import Field

from headwater import Block, SecretStr


class Widget(Block):
    """A test widget."""

    size: int = Field(description="How big.")
    api_key: SecretStr = Field(description="Its key.")
