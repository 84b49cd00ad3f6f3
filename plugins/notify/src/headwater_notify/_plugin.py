"""Headwater plugin hooks of headwater-notify (imports stay lazy)."""

from __future__ import annotations

from collections.abc import Callable

from headwater import hookimpl


@hookimpl
def register_block_types(register: Callable[[type], None]) -> None:
    from headwater_notify.credentials import EmailServerCredentials
    from headwater_notify.webhooks import CustomWebhook, DiscordWebhook, MicrosoftTeamsWebhook, SlackWebhook

    register(SlackWebhook)
    register(MicrosoftTeamsWebhook)
    register(DiscordWebhook)
    register(CustomWebhook)
    register(EmailServerCredentials)
