"""``{{ dotted.path }}`` templates for notification messages and webhook events.

Deliberately small: a placeholder names a value by a dotted path into a context dict, and a
string that is exactly one placeholder keeps the value's type (for webhook payloads). No code
runs in a template, so a template cannot reach anything its context does not hold.
"""

from __future__ import annotations

import json
import re
from typing import Any

from headwater.events.emit import EventError

__all__ = ["placeholders", "render", "render_value"]

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]+)*)\s*\}\}")
_BROKEN = re.compile(r"\{\{(?![^{}]*\}\})|(?<!\{)\{\{[^}]*$")


def placeholders(template: Any) -> list[str]:
    """Every dotted path a template (a string, or JSON-like data of strings) names."""
    found: list[str] = []
    for text in _strings(template):
        if "{{" in text and (_BROKEN.search(text) or text.count("{{") != len(PLACEHOLDER.findall(text))):
            raise EventError(f"template {text!r} has a placeholder that is not {{{{ name.path }}}}")
        found += PLACEHOLDER.findall(text)
    return found


def _lookup(context: dict[str, Any], path: str, strict: bool) -> Any:
    value: Any = context
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif strict:
            raise EventError(f"template names {{{{ {path} }}}}, which is not there")
        else:
            return ""
    return value


def render(template: str, context: dict[str, Any], strict: bool = False) -> str:
    """Fill a text template; a missing value is empty text (or an error if ``strict``)."""

    def fill(match: re.Match[str]) -> str:
        value = _lookup(context, match.group(1), strict)
        return value if isinstance(value, str) else json.dumps(value, default=str)

    return PLACEHOLDER.sub(fill, template)


def render_value(template: Any, context: dict[str, Any], strict: bool = True) -> Any:
    """Fill every string in JSON-like data; a string that is one placeholder keeps the type."""
    if isinstance(template, str):
        whole = PLACEHOLDER.fullmatch(template.strip())
        if whole:
            return _lookup(context, whole.group(1), strict)
        return render(template, context, strict)
    if isinstance(template, dict):
        return {render(str(k), context, strict): render_value(v, context, strict) for k, v in template.items()}
    if isinstance(template, list):
        return [render_value(v, context, strict) for v in template]
    return template


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
