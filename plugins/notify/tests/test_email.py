"""EmailServerCredentials and email_send_message against aiosmtpd on 127.0.0.1 (STARTTLS and SSL)."""

from __future__ import annotations

import email

import pytest
from headwater import flow
from headwater_notify import EmailServerCredentials, NotificationDeliveryError, email_send_message

PASSWORD = "app-pw-123"


def _creds(smtp, **kw):
    return EmailServerCredentials(
        smtp_server="127.0.0.1", smtp_port=smtp["port"], smtp_type=smtp["type"], username="etl",
        password=PASSWORD, verify=False, email_from="etl@example.org", **kw,
    )


def test_notify_sends_to_recipients_after_tls_login(smtp):
    _creds(smtp, notify_to=["oncall@example.org"]).save("mail")
    EmailServerCredentials.load("mail").notify("nightly load failed", subject="etl alert")
    [env] = smtp["mailbox"].messages
    assert env.rcpt_tos == ["oncall@example.org"] and env.mail_from == "etl@example.org"
    message = email.message_from_bytes(env.content)
    assert message["Subject"] == "etl alert"
    assert "nightly load failed" in message.get_payload(decode=True).decode()
    assert smtp["mailbox"].logins == [("etl", PASSWORD)]


def test_email_send_message_task_with_html_cc_bcc_and_attachment(smtp, tmp_path):
    report = tmp_path / "report.csv"
    report.write_text("a,b\n1,2\n")

    @flow
    def send():
        return email_send_message(
            subject="report", msg="<h1>Report</h1>", msg_plain="Report", email_server_credentials=_creds(smtp),
            email_to="a@example.org", email_to_cc=["c@example.org"], email_to_bcc="b@example.org",
            attachments=[str(report)],
        )

    send()
    [env] = smtp["mailbox"].messages
    assert sorted(env.rcpt_tos) == ["a@example.org", "b@example.org", "c@example.org"]
    message = email.message_from_bytes(env.content)
    assert message["Bcc"] is None and message["Cc"] == "c@example.org"
    parts = {part.get_content_type(): part for part in message.walk()}
    assert "text/html" in parts and "text/plain" in parts
    assert parts["text/csv"].get_payload(decode=True) == b"a,b\n1,2\n"


def test_wrong_password_is_one_line_without_the_password(smtp):
    creds = _creds(smtp, notify_to=["x@example.org"])
    creds.password = "wrong-pw-456"  # type: ignore[assignment]
    with pytest.raises(NotificationDeliveryError, match="refused the login of 'etl'") as info:
        creds.notify("x")
    assert "wrong-pw-456" not in str(info.value)


def test_certificate_is_verified_by_default(smtp):
    creds = _creds(smtp, notify_to=["x@example.org"])
    creds.verify = True
    with pytest.raises(NotificationDeliveryError, match="TLS failed"):
        creds.notify("x")


def test_unreachable_server_is_one_line():
    creds = EmailServerCredentials(smtp_server="127.0.0.1", smtp_port=9, smtp_type="starttls", notify_to=["x@y.z"],
                                   email_from="a@b.c")
    with pytest.raises(NotificationDeliveryError, match=r"127.0.0.1:9 could not be reached"):
        creds.notify("x")
