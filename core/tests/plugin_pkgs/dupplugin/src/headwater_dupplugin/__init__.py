from headwater import Block, hookimpl
from pydantic import Field


class Widget(Block):
    """Another widget with the same slug."""

    colour: str = Field(description="Colour.")


@hookimpl
def register_block_types(register):
    register(Widget)
