"""notifications' use cases: store an e-mail first, deliver it, retry what is still pending.

Delivery is at least once: an attempt first takes a lease on the row (an atomic update of
`next_attempt_at`), so a timer and a send_email call, or two instances, never send one mail at
the same time; a crash between the SMTP hand-over and marking it sent can resend it once."""
from __future__ import annotations

import smtplib
import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from netsterk.db import session_scope, utcnow
from netsterk.logging import get_logger, log_context
from services.notifications import mailer
from services.notifications.models import OutgoingMail
from services.notifications.schemas import validate_send_request
from services.notifications.templates import render

log = get_logger(__name__)

LEASE = timedelta(seconds=120)


class RetryPolicy:
    def __init__(self, base_seconds: float = 30.0, max_seconds: float = 3600.0, max_attempts: int = 20):
        self.base_seconds = base_seconds
        self.max_seconds = max_seconds
        self.max_attempts = max_attempts

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.base_seconds * 2 ** max(attempts - 1, 0), self.max_seconds))


def store(factory: sessionmaker, request) -> tuple[str, bool]:
    """Validate, render and store the e-mail. Returns (mail_id, created); created is False when
    the idempotency key was seen before (then nothing new is stored)."""
    clean = validate_send_request(request)
    subject, body = render(clean["template"], clean["lang"], clean["context"])
    with session_scope(factory) as session:
        existing = session.scalar(select(OutgoingMail.id).where(
            OutgoingMail.idempotency_key == clean["idempotency_key"]))
        if existing:
            return existing, False
    mail_id = str(uuid.uuid4())
    try:
        with session_scope(factory) as session:
            session.add(OutgoingMail(
                id=mail_id, idempotency_key=clean["idempotency_key"], network=clean["network"],
                referral_ref=clean["referral_ref"], correlation_id=clean["correlation_id"],
                to=clean["to"], template=clean["template"], lang=clean["lang"], subject=subject,
                body=body, status="pending", attempts=0, next_attempt_at=utcnow()))
    except IntegrityError:
        with session_scope(factory) as session:
            return session.scalar(select(OutgoingMail.id).where(
                OutgoingMail.idempotency_key == clean["idempotency_key"])), False
    return mail_id, True


def _claim(factory: sessionmaker, mail_id: str) -> bool:
    now = utcnow()
    with session_scope(factory) as session:
        result = session.execute(
            update(OutgoingMail)
            .where(OutgoingMail.id == mail_id, OutgoingMail.status == "pending",
                   OutgoingMail.next_attempt_at <= now)
            .values(next_attempt_at=now + LEASE, attempts=OutgoingMail.attempts + 1))
        return result.rowcount == 1


def attempt(factory: sessionmaker, mail_id: str, *, sender: str, host: str, port: int,
            policy: RetryPolicy) -> str:
    """One delivery attempt; returns the mail's status afterwards (pending, sent or failed).
    Returns "pending" without sending when another attempt holds the lease."""
    if not _claim(factory, mail_id):
        return "pending"
    with session_scope(factory) as session:
        mail = session.get(OutgoingMail, mail_id)
        message = mailer.build_message(mail_id=mail.id, sender=sender, to=mail.to, subject=mail.subject,
                                       body=mail.body, referral_ref=mail.referral_ref)
        context = {"network": mail.network, "referral_ref": mail.referral_ref,
                   "correlation_id": mail.correlation_id}
    with log_context(**context):
        try:
            mailer.deliver(message, host, port)
        except (OSError, smtplib.SMTPException) as exc:
            with session_scope(factory) as session:
                mail = session.get(OutgoingMail, mail_id)
                mail.last_error = mailer.describe_error(exc)
                if mailer.is_permanent(exc) or mail.attempts >= policy.max_attempts:
                    mail.status = "failed"
                else:
                    mail.next_attempt_at = utcnow() + policy.delay(mail.attempts)
                status, attempts, error = mail.status, mail.attempts, mail.last_error
            log.warning("mail_not_sent", mail_id=mail_id, status=status, attempts=attempts, error=error)
            return status
        with session_scope(factory) as session:
            mail = session.get(OutgoingMail, mail_id)
            mail.status, mail.sent_at, mail.last_error = "sent", utcnow(), None
            template = mail.template
        log.info("mail_sent", mail_id=mail_id, template=template)
        return "sent"


def due_mail_ids(factory: sessionmaker, limit: int = 50) -> list[str]:
    with session_scope(factory) as session:
        return list(session.scalars(
            select(OutgoingMail.id)
            .where(OutgoingMail.status == "pending", OutgoingMail.next_attempt_at <= utcnow())
            .order_by(OutgoingMail.next_attempt_at).limit(limit)))


def mail_status(factory: sessionmaker, mail_id: str) -> dict | None:
    """Delivery state of one mail, without address or body (for staff and ops)."""
    with session_scope(factory) as session:
        mail = session.get(OutgoingMail, mail_id)
        if mail is None:
            return None
        return {"mail_id": mail.id, "network": mail.network, "referral_ref": mail.referral_ref,
                "template": mail.template, "lang": mail.lang, "status": mail.status,
                "attempts": mail.attempts, "last_error": mail.last_error,
                "created_at": mail.created_at.isoformat(),
                "sent_at": mail.sent_at.isoformat() if mail.sent_at else None}


def find_sent_mail(factory: sessionmaker, message_ids: list[str]) -> dict | None:
    """The first of these Message-IDs (`<mail_id@domain>`, as build_message sets them) that is a
    mail we sent: {mail_id, referral_ref, network, to}. Intake threads replies with it."""
    ids = [str(m).strip().strip("<>").partition("@")[0] for m in (message_ids or [])[:50]]
    with session_scope(factory) as session:
        for mail_id in ids:
            mail = session.get(OutgoingMail, mail_id) if mail_id else None
            if mail is not None:
                return {"mail_id": mail.id, "referral_ref": mail.referral_ref,
                        "network": mail.network, "to": mail.to}
    return None


ANONYMISED = "anonymised after the retention period"


def anonymise_referral(session: Session, envelope: dict) -> int:
    """`referral_workflow.referral_anonymise`: wipe the address and body of every mail of the
    referral (a pending one is not sent any more). Idempotent; returns how many mails changed."""
    payload = envelope["payload"]
    network, ref = payload.get("network"), payload.get("ref")
    if not network or not ref:
        raise ValueError("referral_anonymise needs network and ref")
    changed = 0
    for mail in session.scalars(select(OutgoingMail).where(OutgoingMail.network == network,
                                                           OutgoingMail.referral_ref == ref)):
        if mail.to == "" and mail.body == "" and mail.status != "pending":
            continue
        mail.to, mail.body = "", ""
        if mail.status == "pending":
            mail.status, mail.last_error = "failed", ANONYMISED
        changed += 1
    log.info("mails_anonymised", count=changed)
    return changed
