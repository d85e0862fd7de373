"""Bounces of our own mails: intake's gateway receives them (parse.py classifies them as `bounce`
and finds the Message-ID of the mail they return); this module reads the delivery report
(Final-Recipient, Action, Status, Diagnostic-Code; else X-Failed-Recipients and the status code in
the text) and, for a permanent failure of a mail we sent, tells notifications
(`record_bounce`): that mail goes on the failed list, its address is marked failing and the
coordinator is told. A delayed-delivery notice (4.x.x / Action: delayed) changes nothing."""
from __future__ import annotations

import base64
import email
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message

from services.intake.mail.threading import domain_of

STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
SMTP_CODE = re.compile(r"\b([45])\d\d\b")


@dataclass
class BounceReport:
    original_message_id: str | None
    recipients: list[str] = field(default_factory=list)
    action: str = ""
    status: str = ""
    diagnostic: str = ""

    @property
    def permanent(self) -> bool:
        if self.action in ("delayed", "relayed", "delivered", "expanded"):
            return False
        if self.status:
            return self.status.startswith("5")
        return self.action == "failed"

    def as_json(self) -> dict:
        return {"original_message_id": self.original_message_id, "recipients": self.recipients,
                "action": self.action, "status": self.status, "diagnostic": self.diagnostic,
                "permanent": self.permanent}


def _fields(block: Message) -> dict:
    return {k.lower(): " ".join(str(v).split()) for k, v in block.items()}


def read_report(raw: bytes, original_message_id: str | None) -> BounceReport:
    """What a bounce says about the mail it returns (never raises on odd input)."""
    report = BounceReport(original_message_id=original_message_id)
    try:
        message = email.message_from_bytes(raw, policy=policy.compat32)
    except Exception:
        return report
    for part in message.walk():
        if part.get_content_type() not in ("message/delivery-status", "message/global-delivery-status"):
            continue
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        for block in blocks:
            values = _fields(block)
            if values.get("final-recipient"):
                report.recipients.append(values["final-recipient"].split(";")[-1].strip().strip("<>"))
                report.action = report.action or values.get("action", "").lower()
                report.status = report.status or values.get("status", "")
                report.diagnostic = report.diagnostic or values.get("diagnostic-code", "")
    failed = message.get_all("X-Failed-Recipients") or []
    for value in failed:
        report.recipients += [a.strip() for a in str(value).split(",") if a.strip()]
    if not report.status:
        text = " ".join(str(p.get_payload(decode=True) or b"", "utf-8", "replace")
                        if isinstance(p.get_payload(decode=True), bytes) else ""
                        for p in message.walk() if p.get_content_type() == "text/plain")
        found = STATUS.search(text)
        if found:
            report.status = found.group(0)
        elif failed and SMTP_CODE.search(text):
            report.status = SMTP_CODE.search(text).group(1) + ".0.0"
        elif failed:
            report.status = "5.0.0"
    report.recipients = list(dict.fromkeys(r.lower() for r in report.recipients))[:10]
    report.diagnostic = report.diagnostic[:250]
    report.status = report.status[:16]
    return report


def forward(raw_b64: str, parsed, own_domains: set[str], record_bounce) -> dict | None:
    """For a permanent bounce of one of our mails, call `record_bounce(report)` (notifications)
    and return its answer; None when there is nothing to tell. Raises when notifications cannot
    be reached, so the caller keeps the message for another try (quarantine, reprocess)."""
    if parsed.kind != "bounce" or not parsed.answers or domain_of(parsed.answers) not in own_domains:
        return None
    report = read_report(base64.b64decode(raw_b64), parsed.answers)
    if not report.permanent:
        return None
    return record_bounce(report.as_json())
