"""Showing database URLs without their secrets (no SQLAlchemy import).

A password may sit in the userinfo (``user:PW@host``) or in a query option
(``?password=PW``, also ``pwd``, ``passwd``, ``secret``, ``token``, ``sslpassword``);
both are masked. A string that is not a URL at all is never echoed.
"""

from __future__ import annotations

import re

__all__ = ["SECRET_QUERY_OPTIONS", "is_secret_option", "mask_url", "url_secrets"]

SECRET_QUERY_OPTIONS = frozenset({"password", "pwd", "passwd", "secret", "token", "sslpassword"})
NOT_A_URL = "(not a URL: expected dialect+driver://user@host:port/database or sqlite:///path)"
_MASK = "***"
# The username has no ':', '/' or '@'; the password runs to the last '@' before the query, so
# a password with a stray '@' is masked whole rather than shown in part.
_URL = re.compile(
    r"^(?P<scheme>[\w+.-]+)://(?:(?P<user>[^:/@]*)(?::(?P<password>[^?]*))?@)?(?P<rest>[^?]*)(?:\?(?P<query>.*))?$",
    re.S,
)


def is_secret_option(name: str) -> bool:
    """Whether a URL query option (or connect argument) named ``name`` holds a secret."""
    lowered = name.lower()
    return lowered in SECRET_QUERY_OPTIONS or any(w in lowered for w in ("password", "secret", "token"))


def _split(url: str) -> re.Match[str] | None:
    return _URL.match(url) if "://" in url else None


def url_secrets(url: str) -> list[str]:
    """The secret values inside ``url`` (its password and secret query options), for redaction."""
    from urllib.parse import unquote

    m = _split(url)
    if m is None:
        return [url] if url else []
    found = [unquote(m["password"])] if m["password"] else []
    for part in (m["query"] or "").split("&"):
        key, sep, value = part.partition("=")
        if sep and value and is_secret_option(unquote(key)):
            found.append(unquote(value))
    return found


def mask_url(url: str) -> str:
    """``url`` with its password and secret query options replaced by ``***``.

    A string that does not parse as a URL is not returned at all (it may be a password with a
    typo around it): a short sentence saying what is expected is returned instead.
    """
    from urllib.parse import unquote

    m = _split(url)
    if m is None:
        return NOT_A_URL
    out = f"{m['scheme']}://"
    if m["user"] is not None:
        out += m["user"] + (f":{_MASK}" if m["password"] is not None else "") + "@"
    out += m["rest"]
    if m["query"] is not None:
        parts = []
        for part in m["query"].split("&"):
            key, sep, _value = part.partition("=")
            parts.append(f"{key}={_MASK}" if sep and is_secret_option(unquote(key)) else part)
        out += "?" + "&".join(parts)
    return out
