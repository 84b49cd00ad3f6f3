"""One small HTTP client for every webhook block: the standard library, retries with backoff.

Webhook URLs are credentials, so nothing here puts a URL in an error message; only the
status, the OS's reason and a short, redacted excerpt of the response body.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from headwater.redaction import redact

from headwater_notify.errors import NotificationDeliveryError

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def send(
    what: str,
    url: str,
    *,
    method: str = "POST",
    payload: Any = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    retries: int = 3,
    backoff: float = 0.5,
) -> int:
    """Send one request; retry connection failures, timeouts, 429 and 5xx answers.

    Args:
        what: What is sending, for error messages (e.g. ``"SlackWebhook"``).
        url: The endpoint (never shown).
        payload: Sent as JSON when given.
        data: Raw body, when ``payload`` is None.
        retries: Further attempts after the first; waits ``backoff * 2**n`` seconds between.

    Returns:
        The HTTP status of the accepted answer.

    Raises:
        NotificationDeliveryError: refused (4xx), or still failing after the retries.
    """
    body = json.dumps(payload).encode() if payload is not None else data
    all_headers = {"User-Agent": "headwater-notify", **(headers or {})}
    if payload is not None:
        all_headers.setdefault("Content-Type", "application/json")
    attempt = 0
    while True:
        request = urllib.request.Request(url, data=body, headers=all_headers, method=method.upper())
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (the URL is the block's)
                answer.read()
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            excerpt = redact(exc.read(200).decode("utf-8", "replace").strip())
            problem = f"answered HTTP {exc.code}" + (f" ({excerpt})" if excerpt else "")
            if exc.code not in RETRY_STATUSES:
                raise NotificationDeliveryError(
                    f"{what}: the service {problem}; check the block's URL and token"
                ) from None
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            problem = f"could not be reached ({redact(str(reason))})"
        except ValueError:
            raise NotificationDeliveryError(f"{what}: the URL is not a valid http(s) URL") from None
        if attempt >= retries:
            raise NotificationDeliveryError(f"{what}: the service {problem} after {attempt + 1} attempts")
        time.sleep(backoff * 2**attempt)
        attempt += 1
