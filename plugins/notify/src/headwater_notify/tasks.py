"""Tasks of headwater-notify, with prefect-email's names and parameters."""

from __future__ import annotations

from email.message import EmailMessage

from headwater.runtime import task
from headwater.runtime.tasks import async_twin

from headwater_notify._mail import send_message
from headwater_notify.credentials import EmailServerCredentials

__all__ = ["aemail_send_message", "email_send_message"]


@task
def email_send_message(
    subject: str,
    msg: str,
    email_server_credentials: EmailServerCredentials,
    msg_plain: str | None = None,
    email_from: str | None = None,
    attachments: list[str] | None = None,
    email_to: str | list[str] | None = None,
    email_to_cc: str | list[str] | None = None,
    email_to_bcc: str | list[str] | None = None,
) -> EmailMessage:
    """Send an e-mail through an SMTP server block.

    Args:
        subject: The subject line.
        msg: The body: HTML when it starts with ``<``, else plain text.
        email_server_credentials: The server and account to send with.
        msg_plain: A plain-text alternative to an HTML ``msg``.
        email_from: Sender; the block's ``email_from`` or ``username`` if unset.
        attachments: Paths of files to attach.
        email_to: Recipient(s). email_to_cc: Copy. email_to_bcc: Blind copy.

    Returns:
        The message that was sent.

    Example:
        >>> email_send_message(  # doctest: +SKIP
        ...     "nightly", "done", EmailServerCredentials.load("mail"), email_to="a@b.c"
        ... )
    """
    return send_message(
        email_server_credentials, subject=subject, msg=msg, email_to=email_to, email_to_cc=email_to_cc,
        email_to_bcc=email_to_bcc, msg_plain=msg_plain, attachments=attachments, email_from=email_from,
    )


aemail_send_message = async_twin(email_send_message, "aemail_send_message")
