"""Building and sending one e-mail (shared by notify() and the email_send_message task)."""

from __future__ import annotations

import mimetypes
import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from headwater_notify.errors import NotificationDeliveryError

if TYPE_CHECKING:
    from headwater_notify.credentials import EmailServerCredentials


def _addresses(value: str | list[str] | None) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def send_message(
    credentials: EmailServerCredentials,
    *,
    subject: str,
    msg: str,
    email_to: str | list[str] | None = None,
    email_to_cc: str | list[str] | None = None,
    email_to_bcc: str | list[str] | None = None,
    msg_plain: str | None = None,
    attachments: list[str] | None = None,
    email_from: str | None = None,
) -> EmailMessage:
    """Send one message; ``msg`` is HTML when it looks like HTML, else plain text."""
    to, cc, bcc = _addresses(email_to), _addresses(email_to_cc), _addresses(email_to_bcc)
    if not (to or cc or bcc):
        raise NotificationDeliveryError("email: no recipient; give email_to, email_to_cc or email_to_bcc")
    sender = email_from or credentials.email_from or credentials.username
    if not sender:
        raise NotificationDeliveryError("email: no sender; set email_from or username on the block")
    message = EmailMessage()
    message["Subject"], message["From"] = subject, sender
    if to:
        message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message.set_content(msg_plain if msg_plain is not None else msg)
    if msg_plain is not None or msg.lstrip().startswith("<"):
        message.add_alternative(msg, subtype="html")
    for path in attachments or []:
        file = Path(path)
        if not file.is_file():
            raise NotificationDeliveryError(f"email: attachment {path} is not a file")
        kind = (mimetypes.guess_type(file.name)[0] or "application/octet-stream").split("/", 1)
        message.add_attachment(file.read_bytes(), maintype=kind[0], subtype=kind[1], filename=file.name)
    server = credentials.get_server()
    try:
        server.send_message(message, from_addr=sender, to_addrs=to + cc + bcc)
    except smtplib.SMTPException as exc:
        raise NotificationDeliveryError(f"SMTP server {credentials.smtp_server} refused the message ({exc})") from None
    finally:
        try:
            server.quit()
        except smtplib.SMTPException:
            pass
    return message
