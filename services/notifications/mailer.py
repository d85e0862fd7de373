"""Building and delivering one e-mail over SMTP. Error descriptions never carry addresses."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import format_datetime

from netsterk.db import utcnow

SMTP_TIMEOUT = 15.0


def build_message(*, mail_id: str, sender: str, to: str, subject: str, body: str,
                  referral_ref: str) -> EmailMessage:
    domain = sender.rsplit("@", 1)[-1]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = f"<{mail_id}@{domain}>"
    message["X-Netsterk-Ref"] = referral_ref
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return message


def deliver(message: EmailMessage, host: str, port: int) -> None:
    with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT) as smtp:
        smtp.send_message(message)


def is_permanent(exc: BaseException) -> bool:
    """A 5xx answer or a refused recipient: retrying will not help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return True
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def describe_error(exc: BaseException) -> str:
    """What went wrong, without the addresses some SMTP errors carry."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _msg in exc.recipients.values()})
        return f"SMTPRecipientsRefused: {', '.join(map(str, codes))}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {exc.smtp_code}"
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc.strerror or exc}"[:500]
    return type(exc).__name__
