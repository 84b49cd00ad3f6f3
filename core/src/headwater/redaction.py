"""Redaction of secret values from anything Headwater writes or shows.

Every secret value that is loaded, saved or constructed in this process is remembered here;
:func:`redact` replaces each of them in a text, and :class:`RedactingFilter` does it for
log records. Values shorter than 4 characters are not remembered: replacing them everywhere
would mangle ordinary text while protecting nothing.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any

__all__ = ["MASK", "RedactingFilter", "known_secret_count", "redact", "remember", "remember_all"]

MASK = "**********"
_MIN_LEN = 4
# Keys of a secret dict that name public metadata (service-account JSON, connection dicts):
# their values are not remembered, so ordinary words such as "service_account" survive.
PUBLIC_KEYS = frozenset({
    "type", "project_id", "client_email", "client_id", "auth_uri", "token_uri",
    "auth_provider_x509_cert_url", "client_x509_cert_url", "universe_domain",
    "username", "user", "host", "hostname", "port", "region", "database", "dbname",
})
_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None


def remember(value: Any) -> None:
    """Remember a secret value (str, bytes, or a dict/list of them) for redaction.

    Each text is remembered as it is and as ``repr()`` and JSON would escape it (a password
    with a backslash or a quote, a non-ASCII letter, a multi-line key printed in a dict), so a
    secret shown through a container or a JSON document is masked too.
    """
    added = False
    for text in _texts(value):
        for form in _escaped_forms(text):
            if len(form) >= _MIN_LEN and form not in _values:
                with _lock:
                    _values.add(form)
                added = True
    if added:
        global _pattern
        _pattern = None


def _escaped_forms(text: str) -> set[str]:
    return {text, repr(text)[1:-1], json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}


def remember_all(values: Any) -> None:
    for v in values:
        remember(v)


def _texts(value: Any):
    if value is None:
        return
    if isinstance(value, str):
        yield value
        if value[:1] in ("{", "[") and len(value) < 1_000_000:  # a JSON secret: its values too
            try:
                parsed = json.loads(value)
            except ValueError:
                return
            yield from _texts(parsed)
    elif isinstance(value, bytes):
        try:
            yield value.decode()
        except UnicodeDecodeError:
            yield repr(value)[2:-1]  # how bytes that are not UTF-8 print
            yield value.decode("latin-1")
    elif isinstance(value, dict):
        for k, v in value.items():
            if not (isinstance(k, str) and k.lower() in PUBLIC_KEYS):
                yield from _texts(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _texts(v)
    elif hasattr(value, "get_secret_value"):
        yield from _texts(value.get_secret_value())
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        text = str(value)
        if len(text) >= 6:
            yield text


def _compiled() -> re.Pattern[str] | None:
    global _pattern
    if _pattern is None and _values:
        with _lock:
            ordered = sorted(_values, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(v) for v in ordered))
    return _pattern


def known_secret_count() -> int:
    return len(_values)


def known_secrets() -> list[str]:
    """Every remembered secret value: a worker process sends them back with its results so
    that the flow's process redacts what the worker's tasks loaded."""
    with _lock:
        return sorted(_values)


def redact(text: str) -> str:
    """Return ``text`` with every remembered secret value replaced by ``**********``."""
    if not _values or not text:
        return text
    pattern = _compiled()
    return pattern.sub(MASK, text) if pattern else text


class RedactingFilter(logging.Filter):
    """A logging filter that masks every remembered secret in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _values:
            return True
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None and not getattr(record, "_hw_exc_redacted", False):
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(formatted)
            record.exc_info = None
            record._hw_exc_redacted = True  # type: ignore[attr-defined]
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        return True
