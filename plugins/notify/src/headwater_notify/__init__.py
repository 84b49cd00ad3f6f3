"""Headwater's notification plugin: webhook blocks (Slack, Microsoft Teams, Discord, custom) and
SMTP e-mail, each implementing core's :class:`headwater.blocks.notifications.NotificationBlock`.

Names are imported lazily: importing ``headwater_notify`` imports no HTTP or SMTP machinery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.lazy import lazy_exports

__all__ = [
    "CustomWebhook",
    "CustomWebhookNotificationBlock",
    "DiscordWebhook",
    "EmailServerCredentials",
    "MicrosoftTeamsWebhook",
    "NotificationDeliveryError",
    "SMTPType",
    "SlackWebhook",
    "aemail_send_message",
    "email_send_message",
]

_EXPORTS = {
    "CustomWebhook": "headwater_notify.webhooks",
    "CustomWebhookNotificationBlock": "headwater_notify.webhooks",
    "DiscordWebhook": "headwater_notify.webhooks",
    "MicrosoftTeamsWebhook": "headwater_notify.webhooks",
    "SlackWebhook": "headwater_notify.webhooks",
    "EmailServerCredentials": "headwater_notify.credentials",
    "SMTPType": "headwater_notify.credentials",
    "NotificationDeliveryError": "headwater_notify.errors",
    "email_send_message": "headwater_notify.tasks",
    "aemail_send_message": "headwater_notify.tasks",
}

if TYPE_CHECKING:
    from headwater_notify.credentials import EmailServerCredentials, SMTPType  # noqa: F401
    from headwater_notify.errors import NotificationDeliveryError  # noqa: F401
    from headwater_notify.tasks import aemail_send_message, email_send_message  # noqa: F401
    from headwater_notify.webhooks import (  # noqa: F401
        CustomWebhook,
        CustomWebhookNotificationBlock,
        DiscordWebhook,
        MicrosoftTeamsWebhook,
        SlackWebhook,
    )

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
