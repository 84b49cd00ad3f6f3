"""SMTP server credentials: a block to send e-mail with (SSL, STARTTLS, or plain on a trusted host)."""

from __future__ import annotations

import smtplib
import ssl
from enum import Enum
from typing import Any

from headwater.blocks.notifications import NotificationBlock
from headwater.redaction import redact
from pydantic import Field, SecretStr, field_validator

from headwater_notify.errors import NotificationDeliveryError

__all__ = ["EmailServerCredentials", "SMTPType"]


class SMTPType(str, Enum):
    """How the connection is secured; the value is the usual port."""

    SSL = "SSL"
    STARTTLS = "STARTTLS"
    INSECURE = "INSECURE"

    @property
    def default_port(self) -> int:
        return {"SSL": 465, "STARTTLS": 587, "INSECURE": 25}[self.value]


class EmailServerCredentials(NotificationBlock):
    """An SMTP server and the account to send with, as in prefect-email.

    ``notify(body, subject)`` sends to ``notify_to``; the ``email_send_message`` task sends
    any message.

    Example:
        >>> EmailServerCredentials(smtp_server="smtp.example.org", username="etl@example.org",
        ...     password="app-password", notify_to=["oncall@example.org"]).save("mail")  # doctest: +SKIP
    """

    _block_type_slug = "email-server-credentials"

    smtp_server: str = Field(description="The SMTP server's host name.")
    smtp_type: SMTPType = Field(default=SMTPType.SSL, description="SSL (465), STARTTLS (587) or INSECURE (25).")
    smtp_port: int | None = Field(default=None, ge=1, le=65535, description="Port; the type's usual one if unset.")
    username: str | None = Field(default=None, description="Account to log in with; no login if unset.")
    password: SecretStr | None = Field(default=None, description="The account's password (a credential).")
    verify: bool = Field(default=True, description="Verify the server's TLS certificate (keep on outside tests).")
    timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for the server.")
    email_from: str | None = Field(default=None, description="Sender address; username if unset.")
    notify_to: list[str] = Field(default_factory=list, description="Recipients of notify().")

    @field_validator("smtp_type", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    def get_server(self) -> smtplib.SMTP:
        """A connected (and logged-in, when ``username`` is set) :class:`smtplib.SMTP`.

        Raises:
            NotificationDeliveryError: the server cannot be reached, refuses TLS or the login.
        """
        port = self.smtp_port or self.smtp_type.default_port
        where = f"{self.smtp_server}:{port}"
        context = ssl.create_default_context()
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            if self.smtp_type is SMTPType.SSL:
                server: smtplib.SMTP = smtplib.SMTP_SSL(self.smtp_server, port, timeout=self.timeout, context=context)
            else:
                server = smtplib.SMTP(self.smtp_server, port, timeout=self.timeout)
                if self.smtp_type is SMTPType.STARTTLS:
                    server.starttls(context=context)
            if self.username:
                server.login(self.username, self.password.get_secret_value() if self.password else "")
            return server
        except smtplib.SMTPAuthenticationError:
            raise NotificationDeliveryError(f"SMTP server {where} refused the login of {self.username!r}") from None
        except ssl.SSLError as exc:
            raise NotificationDeliveryError(
                f"SMTP server {where}: TLS failed ({exc.reason or exc}); check smtp_type and the certificate"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise NotificationDeliveryError(f"SMTP server {where} could not be reached ({redact(reason)})") from None

    def notify(self, body: str, subject: str | None = None) -> None:
        """E-mail ``body`` to ``notify_to``."""
        if not self.notify_to:
            raise NotificationDeliveryError(
                "EmailServerCredentials: notify_to is empty; set the recipients of notify()"
            )
        from headwater_notify._mail import send_message

        send_message(self, subject=subject or "Headwater notification", msg=body, email_to=self.notify_to)
