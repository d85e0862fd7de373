"""Building and delivering one e-mail over SMTP. Error descriptions never carry addresses.

The relay is configurable (NETSTERK_SMTP_HOST/PORT, NETSTERK_SMTP_TLS = none | starttls | ssl,
NETSTERK_SMTP_USERNAME/PASSWORD for AUTH). A message carries plain text and, when given, an HTML
alternative; its Message-ID is `<mail_id@sender-domain>` and the subject ends in `[ref]`, so a
reply threads back to the referral through intake."""
from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from netsterk.db import utcnow

SMTP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    tls: str = "none"            # none | starttls | ssl
    username: str | None = None
    password: str | None = None
    cafile: str | None = None    # trust this CA (tests, a private relay); default: the system's

    @classmethod
    def from_settings(cls, settings) -> "Relay":
        tls = (settings.smtp_tls or "none").lower()
        if tls not in ("none", "starttls", "ssl"):
            raise ValueError(f"NETSTERK_SMTP_TLS must be none, starttls or ssl, not {tls!r}")
        return cls(host=settings.smtp_host, port=settings.smtp_port, tls=tls,
                   username=settings.smtp_username or None, password=settings.smtp_password or None,
                   cafile=os.environ.get("NETSTERK_SMTP_CAFILE") or None)

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)


def build_message(*, mail_id: str, sender: str, to: str, subject: str, body: str,
                  referral_ref: str, html: str | None = None, lang: str | None = None) -> EmailMessage:
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
    if html:
        message.add_alternative(html, subtype="html")
    if lang:  # after the content: set_content drops Content-* headers
        message["Content-Language"] = lang
    return message


def deliver(message: EmailMessage, host: str | Relay, port: int | None = None) -> None:
    relay = host if isinstance(host, Relay) else Relay(host=host, port=int(port))
    if relay.tls == "ssl":
        smtp = smtplib.SMTP_SSL(relay.host, relay.port, timeout=SMTP_TIMEOUT, context=relay.context())
    else:
        smtp = smtplib.SMTP(relay.host, relay.port, timeout=SMTP_TIMEOUT)
    with smtp:
        if relay.tls == "starttls":
            smtp.starttls(context=relay.context())
        if relay.username:
            smtp.login(relay.username, relay.password or "")
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
