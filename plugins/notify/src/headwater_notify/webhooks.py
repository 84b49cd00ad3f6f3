"""Webhook notification blocks: Slack, Microsoft Teams, Discord and a custom webhook.

Each posts JSON to a URL kept as a secret field. The URL is a field (not a host fixed by a
library), so a block can point at any compatible endpoint: a proxy, a self-hosted chat, or a
receiver on 127.0.0.1 in tests.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from headwater.blocks.notifications import NotificationBlock
from headwater.blocks.types import SecretDict
from pydantic import Field, SecretStr, field_validator, model_validator

from headwater_notify._http import send

__all__ = ["CustomWebhook", "CustomWebhookNotificationBlock", "DiscordWebhook", "MicrosoftTeamsWebhook", "SlackWebhook"]

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
TEMPLATE_FIELDS = ("body", "subject", "name")


def _check_url(value: SecretStr | None) -> SecretStr | None:
    if value is not None and not re.match(r"https?://[^/\s]+", value.get_secret_value()):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _titled(body: str, subject: str | None, bold: str) -> str:
    return f"{bold}{subject}{bold}\n{body}" if subject else body


class _Webhook(NotificationBlock):
    _block_abstract = True

    timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for the service's answer.")
    retries: int = Field(default=3, ge=0, le=10, description="Further attempts on a connection error, 429 or 5xx.")

    def _post(self, url: str, payload: Any) -> None:
        send(type(self).__name__, url, payload=payload, timeout=self.timeout, retries=self.retries)


class SlackWebhook(_Webhook):
    """Post to a Slack channel through an incoming webhook.

    Example:
        >>> SlackWebhook(url="https://hooks.slack.com/services/T0/B0/XYZ").save("alerts")  # doctest: +SKIP
        >>> SlackWebhook.load("alerts").notify("nightly load failed", subject="etl")   # doctest: +SKIP
    """

    url: SecretStr = Field(description="The incoming-webhook URL Slack gave (a credential).")

    _check = field_validator("url")(_check_url)

    def notify(self, body: str, subject: str | None = None) -> None:
        """Post ``body`` (with ``subject`` in bold on the first line)."""
        self._post(self.url.get_secret_value(), {"text": _titled(body, subject, "*")})


class MicrosoftTeamsWebhook(_Webhook):
    """Post to a Microsoft Teams channel through a Workflows (or connector) webhook, as an
    Adaptive Card."""

    url: SecretStr = Field(description="The Teams webhook URL (a credential).")
    wrap: bool = Field(default=True, description="Wrap long lines in the card instead of cutting them.")

    _check = field_validator("url")(_check_url)

    def notify(self, body: str, subject: str | None = None) -> None:
        """Post an Adaptive Card with ``subject`` as its title and ``body`` as its text."""
        items: list[dict[str, Any]] = []
        if subject:
            items.append(
                {"type": "TextBlock", "text": subject, "weight": "Bolder", "size": "Medium", "wrap": self.wrap}
            )
        items.append({"type": "TextBlock", "text": body, "wrap": self.wrap})
        card = {"type": "AdaptiveCard", "version": "1.4", "body": items,
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json"}
        payload = {"type": "message",
                   "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}]}
        self._post(self.url.get_secret_value(), payload)


class DiscordWebhook(_Webhook):
    """Post to a Discord channel through a webhook: give ``url``, or Prefect's
    ``webhook_id`` and ``webhook_token``."""

    url: SecretStr | None = Field(default=None, description="The whole webhook URL (a credential).")
    webhook_id: SecretStr | None = Field(default=None, description="The webhook's id (with webhook_token).")
    webhook_token: SecretStr | None = Field(default=None, description="The webhook's token (with webhook_id).")
    botname: str | None = Field(default=None, description="Name shown as the message's author.")
    avatar_url: str | None = Field(default=None, description="Image shown as the author's avatar.")
    tts: bool = Field(default=False, description="Read the message aloud (text to speech).")

    _check = field_validator("url")(_check_url)

    @model_validator(mode="after")
    def _one_address(self) -> DiscordWebhook:
        if self.url is None and (self.webhook_id is None or self.webhook_token is None):
            raise ValueError("give url, or both webhook_id and webhook_token")
        return self

    def _address(self) -> str:
        if self.url is not None:
            return self.url.get_secret_value()
        assert self.webhook_id is not None and self.webhook_token is not None
        return (f"https://discord.com/api/webhooks/{self.webhook_id.get_secret_value()}/"
                f"{self.webhook_token.get_secret_value()}")

    def notify(self, body: str, subject: str | None = None) -> None:
        """Post ``body`` (with ``subject`` in bold on the first line)."""
        payload: dict[str, Any] = {"content": _titled(body, subject, "**"), "tts": self.tts}
        if self.botname:
            payload["username"] = self.botname
        if self.avatar_url:
            payload["avatar_url"] = self.avatar_url
        self._post(self._address(), payload)


class CustomWebhook(_Webhook):
    """Call any HTTP endpoint with a JSON body rendered from a template.

    ``{{ body }}``, ``{{ subject }}`` and ``{{ name }}`` (the block's ``name`` field) are
    replaced in every string of ``json_data`` and of ``headers``. Secret headers (an
    ``Authorization`` token) go in ``secret_headers``.

    Example:
        >>> CustomWebhook(url="https://ops.example/hook", json_data={"text": "{{ subject }}: {{ body }}"},
        ...               secret_headers={"Authorization": "Bearer t0ken"}).save("ops")  # doctest: +SKIP
    """

    _block_type_slug = "custom-webhook"

    name: str = Field(default="headwater", description="A name for the service, usable as {{ name }}.")
    url: SecretStr = Field(description="The endpoint's URL (a credential).")
    method: Literal["POST", "PUT", "PATCH", "GET"] = Field(default="POST", description="HTTP method.")
    headers: dict[str, str] = Field(default_factory=dict, description="Plain headers (templates allowed).")
    secret_headers: SecretDict | None = Field(
        default=None, description="Headers whose values are credentials (e.g. Authorization)."
    )
    json_data: dict[str, Any] | None = Field(
        default_factory=lambda: {"subject": "{{ subject }}", "body": "{{ body }}"},
        description="JSON body template; None sends no body.",
    )

    _check = field_validator("url")(_check_url)

    @model_validator(mode="after")
    def _templates_render(self) -> CustomWebhook:
        unknown = sorted({name for text in _strings([self.json_data, self.headers])
                          for name in _PLACEHOLDER.findall(text) if name not in TEMPLATE_FIELDS})
        if unknown:
            raise ValueError(f"unknown template field(s) {', '.join(unknown)}: use {{{{ body }}}}, "
                             "{{ subject }} or {{ name }}")
        return self

    def notify(self, body: str, subject: str | None = None) -> None:
        """Send the rendered request."""
        values = {"body": body, "subject": subject or "", "name": self.name}
        headers = {k: _fill(v, values) for k, v in self.headers.items()}
        if self.secret_headers is not None:
            headers.update({k: str(v) for k, v in self.secret_headers.get_secret_value().items()})
        payload = _fill(self.json_data, values) if self.json_data is not None else None
        send(type(self).__name__, self.url.get_secret_value(), method=self.method, payload=payload,
             headers=headers, timeout=self.timeout, retries=self.retries)


CustomWebhookNotificationBlock = CustomWebhook
"""Prefect's name for :class:`CustomWebhook`."""


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], value)
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


