from pydantic import Field

from headwater import Block, hookimpl


class Widget(Block):
    """Another widget with the same slug."""

    colour: str = Field(description="Colour.")


@hookimpl
def register_block_types(register):
    register(Widget)
