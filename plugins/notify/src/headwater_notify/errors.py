"""Errors of headwater-notify."""

from __future__ import annotations

from headwater.blocks.notifications import NotificationError

__all__ = ["NotificationDeliveryError", "NotificationError"]


class NotificationDeliveryError(NotificationError):
    """The service refused the message, or could not be reached after the retries.

    The message names the block type, the HTTP status or the OS's reason, never the URL (a
    webhook URL is a credential).
    """
