"""State colours: the CLI's (``headwater.cli._output.STATE_COLOURS``), as CSS for the pages."""

from __future__ import annotations

from headwater.cli._output import STATE_COLOURS, state_colour

__all__ = ["STATE_COLOURS", "state_colour", "states_css"]


def states_css() -> str:
    """One ``.st-STATE`` class per state type: a badge in the state's colour."""
    rules = [f".st-{name} {{ background: {colour}; }}" for name, colour in STATE_COLOURS.items()]
    rules += [f".fg-{name} {{ color: {colour}; }}" for name, colour in STATE_COLOURS.items()]
    return "\n".join(rules) + "\n"
