"""State colours: the CLI's (``headwater.cli._output.STATE_STYLES``, terminal colour names),
as the CSS colours the pages and the SVG use."""

from __future__ import annotations

from headwater.cli._output import STATE_STYLES

__all__ = ["STATE_COLOURS", "state_colour", "states_css"]

# A terminal colour name -> a CSS colour of the same hue that white text reads on.
_CSS = {
    "green": "#2f9e44",
    "red": "#e03131",
    "bold red": "#a51d1d",
    "yellow": "#e67700",
    "cyan": "#1098ad",
    "blue": "#1c7ed6",
    "magenta": "#ae3ec9",
}
_UNKNOWN = "#868e96"

STATE_COLOURS: dict[str, str] = {state: _CSS.get(style, _UNKNOWN) for state, style in STATE_STYLES.items()}
"""State type (``FAILED``) -> CSS colour, one per state type the CLI colours."""


def state_colour(state_type: str | None) -> str:
    """The CSS colour of a state type such as ``FAILED`` (grey for one the CLI does not colour)."""
    return STATE_COLOURS.get((state_type or "").upper(), _UNKNOWN)


def states_css() -> str:
    """One ``.st-STATE`` class per state type (a badge in the state's colour) and ``.fg-STATE``."""
    rules = [f".st-{name} {{ background: {colour}; }}" for name, colour in STATE_COLOURS.items()]
    rules += [f".fg-{name} {{ color: {colour}; }}" for name, colour in STATE_COLOURS.items()]
    return "\n".join(rules) + "\n"
