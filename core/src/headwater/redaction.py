"""Redaction of secret values from anything Headwater writes or shows.

Every secret value that is loaded, saved or constructed in this process is remembered here;
:func:`redact` replaces each of them in a text, and :class:`RedactingFilter` does it for
log records. Values shorter than 4 characters are not remembered: replacing them everywhere
would mangle ordinary text while protecting nothing.

A secret is masked in the forms it commonly takes in text: as it is; escaped as ``repr()`` and
JSON escape it; URL-encoded, fully or partly, with ``+`` or ``%20`` for spaces (a password in a
database URL); and base64-encoded inside a longer value (``user:password`` in a Basic auth
header): base64 of a text that contains the secret always contains one of three strings
that depend on the secret alone (one per alignment of the secret to base64's 3-byte groups),
and those are what is masked.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from typing import Any

__all__ = [
    "MASK", "RedactingFilter", "install_log_redaction", "known_secret_count", "known_secrets", "redact", "remember",
    "remember_all",
]

MASK = "**********"
_MIN_LEN = 4
_MIN_B64 = 6  # shorter base64 fragments would match ordinary words
# Keys of a secret dict that name public metadata (service-account JSON, connection dicts):
# their values are not remembered, so ordinary words such as "service_account" survive.
PUBLIC_KEYS = frozenset({
    "type", "project_id", "client_email", "client_id", "auth_uri", "token_uri",
    "auth_provider_x509_cert_url", "client_x509_cert_url", "universe_domain",
    "username", "user", "host", "hostname", "port", "region", "database", "dbname",
})
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_lock = threading.Lock()
_secrets: set[str] = set()  # the remembered values themselves
_values: set[str] = set()  # every literal form of them that is masked
_url_forms: dict[str, str] = {}  # secret -> regex of its URL-encoded forms (only secrets that encoding changes)
_pattern: re.Pattern[str] | None = None
_url_pattern: re.Pattern[str] | None = None


def remember(value: Any) -> None:
    """Remember a secret value (str, bytes, or a dict/list of them) for redaction.

    Each text is remembered as it is and in its escaped, URL-encoded and base64 forms (see the
    module's docstring), so a secret shown through a container, a JSON document, a URL or an
    ``Authorization`` header is masked too.
    """
    global _pattern, _url_pattern
    for text in _texts(value):
        if len(text) < _MIN_LEN or text in _secrets:
            continue
        forms = _literal_forms(text)
        url = _url_regex(text)
        with _lock:
            _secrets.add(text)
            _values.update(f for f in forms if len(f) >= _MIN_LEN)
            _pattern = None
            if url is not None:
                _url_forms[text] = url
                _url_pattern = None


def _literal_forms(text: str) -> set[str]:
    data = text.encode()
    whole = base64.b64encode(data).decode()
    b64 = {whole, whole.rstrip("=")}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        # only the characters made of the secret's bits alone, whatever surrounds it
        core = encoded[-(-8 * offset // 6):(8 * (offset + len(data))) // 6]
        if len(core) >= _MIN_B64:
            b64.add(core)
    b64.update([f.replace("+", "-").replace("/", "_") for f in b64 if "+" in f or "/" in f])  # URL-safe base64
    return {text, repr(text)[1:-1], json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1], *b64}


def _url_regex(text: str) -> str | None:
    """A regex for ``text`` URL-encoded in any of the usual ways, or None when encoding leaves it unchanged."""
    if all(ch in _UNRESERVED for ch in text):
        return None
    parts = []
    for ch in text:
        if ch in _UNRESERVED:
            parts.append(re.escape(ch))
            continue
        encoded = "".join("%" + "".join(f"[{d}{d.lower()}]" if d.isalpha() else d for d in f"{b:02X}")
                          for b in ch.encode())
        parts.append(f"(?:{re.escape(ch)}|\\+|{encoded})" if ch == " " else f"(?:{re.escape(ch)}|{encoded})")
    return "".join(parts)


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
    pattern = _pattern
    if pattern is None and _values:
        with _lock:
            values = list(_values)
        pattern = _pattern = re.compile(_trie_regex(values))
    return pattern


def _trie_regex(words: list[str]) -> str:
    """One regex matching any of ``words``, longest first, with shared prefixes factored out:
    the regex engine then tries one branch per distinct next character instead of every word
    at every position of the text (the forms of a few secrets are dozens of words)."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = None

    def build(node: dict[str, Any]) -> str:
        branches = [chain(ch, child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and "" not in node else f"(?:{'|'.join(branches)})"
        return body + "?" if "" in node else body  # greedy: the longer word wins

    def chain(ch: str, node: dict[str, Any]) -> str:
        run = [ch]  # a secret thousands of characters long is a loop here, not a recursion
        while len(node) == 1 and "" not in node:
            (ch, node), = node.items()
            run.append(ch)
        return re.escape("".join(run)) + build(node)

    return build(root)


def _compiled_url() -> re.Pattern[str] | None:
    global _url_pattern
    pattern = _url_pattern
    if pattern is None and _url_forms:
        with _lock:
            ordered = [_url_forms[k] for k in sorted(_url_forms, key=len, reverse=True)]
        pattern = _url_pattern = re.compile("|".join(ordered))
    return pattern


def known_secret_count() -> int:
    return len(_secrets)


def known_secrets() -> list[str]:
    """Every remembered secret value: a worker process sends them back with its results so
    that the flow's process redacts what the worker's tasks loaded."""
    with _lock:
        return sorted(_secrets)


def redact(text: str) -> str:
    """Return ``text`` with every remembered secret value (in any of its forms) replaced by ``**********``."""
    if not _values or not text:
        return text
    pattern = _compiled()
    if pattern is not None:
        text = pattern.sub(MASK, text)
    if _url_forms and ("%" in text or "+" in text):  # an encoded form always holds one of them
        url = _compiled_url()
        if url is not None:
            text = url.sub(MASK, text)
    return text


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


_installed = False


def install_log_redaction() -> None:
    """Mask secrets in what Python's logging prints outside Headwater's own loggers.

    A record of a logger with no handler anywhere goes to ``logging.lastResort`` (stderr), and
    the root logger's handlers print every propagated record: each gets a
    :class:`RedactingFilter`. Called when a run starts; handlers added later are the
    application's own to filter.
    """
    global _installed
    handlers = [logging.lastResort, *logging.getLogger().handlers]
    if _installed and all(_has_filter(h) for h in handlers if h is not None):
        return
    _installed = True
    for handler in handlers:
        if handler is not None and not _has_filter(handler):
            handler.addFilter(RedactingFilter())


def _has_filter(handler: logging.Handler) -> bool:
    return any(isinstance(f, RedactingFilter) for f in handler.filters)
