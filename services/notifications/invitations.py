"""Invitations with an iCalendar attachment (case conferences, issue 13).

`send_invitation(request)` with {idempotency_key, to, lang, subject, body, ics, method?, network,
referral_ref, correlation_id}: one e-mail, plain text plus a `text/calendar; method=REQUEST`
part (invite.ics; `method: CANCEL` sends cancel.ics for times that were dropped), sent over SMTP
at once. The same idempotency_key is sent once: after a
successful hand-over the mail is kept in outgoing_mail (status sent, so replies thread back to
the referral and anonymisation wipes it); a failed hand-over stores nothing and raises, so the
caller can send again."""
from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from netsterk.db import session_scope, utcnow
from netsterk.logging import get_logger
from services.notifications import mailer
from services.notifications.models import OutgoingMail
from services.notifications.schemas import EMAIL, InvalidEmailRequest

log = get_logger(__name__)

TEMPLATE = "conference_invitation"
MAX_ICS = 64_000
METHODS = ("REQUEST", "CANCEL")


def validate(request) -> dict:
    if not isinstance(request, dict):
        raise InvalidEmailRequest(["request must be an object"])
    problems = []
    for key, limit in (("idempotency_key", 200), ("subject", 300), ("body", 20_000),
                       ("network", 64), ("referral_ref", 64)):
        value = request.get(key)
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            problems.append(f"{key} must be a non-empty string of at most {limit} characters")
    if not isinstance(request.get("to"), str) or not EMAIL.match(request["to"]):
        problems.append("to must be an e-mail address")
    method = request.get("method", "REQUEST")
    if method not in METHODS:
        problems.append("method must be REQUEST or CANCEL")
    ics = request.get("ics")
    if not isinstance(ics, str) or not ics.startswith("BEGIN:VCALENDAR") or len(ics) > MAX_ICS \
            or f"\r\nMETHOD:{method}\r\n" not in ics:
        problems.append(f"ics must be an iCalendar text with METHOD:{method}")
    if problems:
        raise InvalidEmailRequest(problems)
    return {**request, "method": method,
            "lang": request.get("lang") if request.get("lang") in ("nl", "en") else "nl"}


def send_invitation(factory: sessionmaker, request, *, sender: str, host, port: int | None) -> dict:
    """`host`: the relay (mailer.Relay, TLS and auth as configured) or a host name with `port`."""
    clean = validate(request)
    with session_scope(factory) as session:
        existing = session.scalar(select(OutgoingMail.id).where(
            OutgoingMail.idempotency_key == clean["idempotency_key"]))
    if existing:
        return {"status": "duplicate", "mail_id": existing}
    mail_id = str(uuid.uuid4())
    message = mailer.build_message(mail_id=mail_id, sender=sender, to=clean["to"],
                                   subject=clean["subject"], body=clean["body"],
                                   referral_ref=clean["referral_ref"])
    message.add_attachment(clean["ics"].encode("utf-8"), maintype="text", subtype="calendar",
                           filename="invite.ics" if clean["method"] == "REQUEST" else "cancel.ics",
                           params={"method": clean["method"], "charset": "utf-8"})
    mailer.deliver(message, host, port)
    now = utcnow()
    with session_scope(factory) as session:
        session.add(OutgoingMail(
            id=mail_id, idempotency_key=clean["idempotency_key"], network=clean["network"],
            referral_ref=clean["referral_ref"], correlation_id=clean.get("correlation_id"),
            to=clean["to"], template=TEMPLATE, lang=clean["lang"], subject=clean["subject"],
            body=clean["body"], status="sent", attempts=1, next_attempt_at=now, sent_at=now))
    log.info("invitation_sent", mail_id=mail_id)
    return {"status": "sent", "mail_id": mail_id}
