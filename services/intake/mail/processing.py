"""Intake's side of the e-mail gateway: keep what the gateway hands over (encrypted, deduplicated),
then parse and act on it — a new concern becomes a draft referral, a reply is threaded onto its
referral (or goes to the coordinator's review list), auto-replies and bounces are linked to what
they answer, and what cannot be processed goes to the quarantine. Nothing is dropped."""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from email.parser import BytesHeaderParser
from email import policy

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from netsterk import contracts
from netsterk.crypto import pseudonym
from netsterk.db import add_to_outbox, utcnow
from netsterk.logging import get_logger
from netsterk.settings import Settings
from services.intake import domain
from services.intake.mail import authentication
from services.intake.mail.addresses import own_domains
from services.intake.mail.models import MailAttachment, MailMessage
from services.intake.mail.parse import ParsedMail, parse_mail
from services.intake.mail.threading import domain_of, normalise_message_id, parties_match
from services.intake.models import Network, Outbox, Referral

log = get_logger(__name__)

MAX_ATTACHMENTS = 50
DESCRIPTION_MAX = 5000
DUTCH = re.compile(r"\b(de|het|een|niet|wij|ik|leerling|school|zorg|ouders|graag|met|van)\b", re.IGNORECASE)
ENGLISH = re.compile(r"\b(the|and|is|not|we|pupil|student|please|parents|with|of)\b", re.IGNORECASE)


class MailError(ValueError):
    """A handed-over message that is not usable (bad fields); the gateway keeps its copy."""


# --- receiving (RPC from the gateway) ----------------------------------------------------------

def _message_id_of(raw: bytes) -> str | None:
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        value = headers.get("Message-ID")
        return normalise_message_id(str(value))[:255] if value else None
    except Exception:  # headers so broken the parser gives up: deduplicate by content only
        return None


def receive(session: Session, message: dict) -> dict:
    """Store one message from the gateway, once. Returns {"id", "status": stored|duplicate}."""
    if not isinstance(message, dict):
        raise MailError("message must be an object")
    mail_id = message.get("id")
    if not isinstance(mail_id, str) or not re.fullmatch(r"[0-9]{20}-[0-9a-f]{12}", mail_id):
        raise MailError("message id missing or malformed")
    try:
        raw = base64.b64decode(message.get("raw") or "", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MailError("raw is not base64") from exc
    sha256 = hashlib.sha256(raw).hexdigest()
    if message.get("sha256") and message["sha256"] != sha256:
        raise MailError("content hash does not match the bytes")
    if session.get(MailMessage, mail_id) is not None:
        return {"id": mail_id, "status": "duplicate"}
    message_id = _message_id_of(raw)
    if message_id:
        first = session.scalar(select(MailMessage.id).where(MailMessage.message_id_header == message_id))
        if first:
            log.info("mail_duplicate_message_id", mail_id=mail_id, first=first)
            return {"id": mail_id, "status": "duplicate", "duplicate_of": first}
    else:
        first = session.scalar(select(MailMessage.id).where(MailMessage.sha256 == sha256,
                                                            MailMessage.message_id_header.is_(None)))
        if first:
            return {"id": mail_id, "status": "duplicate", "duplicate_of": first}
    row = MailMessage(id=mail_id, sha256=sha256, size=len(raw),
                      envelope_from=str(message.get("mail_from") or ""),
                      rcpt_tos=[str(r).lower() for r in message.get("rcpt_tos") or []][:20],
                      raw=base64.b64encode(raw).decode("ascii"), message_id_header=message_id,
                      status="received", problems=[], attempts=0)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same Message-ID arrived at the same moment on another worker
        return {"id": mail_id, "status": "duplicate"}
    log.info("mail_received", mail_id=mail_id, size=len(raw))
    return {"id": mail_id, "status": "stored"}


def pending_ids(session: Session, limit: int = 20) -> list[str]:
    return list(session.scalars(select(MailMessage.id).where(MailMessage.status == "received")
                                .order_by(MailMessage.received_at, MailMessage.id).limit(limit)))


# --- processing ------------------------------------------------------------------------------------

def parse_stored(session: Session, mail_id: str, settings: Settings) -> ParsedMail | None:
    """Read and parse a received message (no writes); None when it is not waiting."""
    row = session.get(MailMessage, mail_id)
    if row is None or row.status != "received":
        return None
    return parse_mail(base64.b64decode(row.raw), own_domains=own_domains(settings),
                      envelope_from=row.envelope_from)


def thread_of(parsed: ParsedMail) -> list[str]:
    return list(dict.fromkeys(([parsed.answers] if parsed.answers else []) + parsed.thread_ids))


def sent_mail_for(parsed: ParsedMail, settings: Settings, lookup_sent) -> dict | None:
    """Ask notifications (outside any transaction) which of our mails this one answers:
    {referral_ref, to} or None. When notifications is away, intake decides on what it knows."""
    ours = [mid for mid in thread_of(parsed) if domain_of(mid) in own_domains(settings)]
    if not ours or lookup_sent is None or parsed.kind not in ("reply", "auto_reply", "bounce"):
        return None
    try:
        return lookup_sent(ours)
    except Exception as exc:
        log.warning("sent_mail_lookup_failed", error=type(exc).__name__)
        return None


def process(session: Session, mail_id: str, settings: Settings, parsed: ParsedMail,
            sent: dict | None = None) -> dict | None:
    """Act on one parsed message in the caller's transaction (no network calls in here: a
    transaction that waits on I/O would hold SQLite's write lock). Claims the row first, so a
    message is processed once even with several workers."""
    claimed = session.execute(update(MailMessage).where(
        MailMessage.id == mail_id, MailMessage.status == "received").values(
        status="processing", attempts=MailMessage.attempts + 1))
    if claimed.rowcount != 1:  # processed by another worker meanwhile: once only
        return None
    row = session.get(MailMessage, mail_id, populate_existing=True)
    row.kind = parsed.kind
    row.from_addr = parsed.from_addr
    row.subject = parsed.subject
    row.text = parsed.text
    row.problems = list(parsed.problems)
    row.answers = (parsed.answers or (parsed.thread_ids[0] if parsed.thread_ids else None) or None)
    row.answers = row.answers[:255] if row.answers else None
    row.processed_at = utcnow()
    _store_attachments(session, row, parsed, settings)
    checked = authentication.check_stored(row.raw, {a.strip().lower() for a in
                                                    settings.intake_mail_authserv_ids.split(",") if a.strip()})
    if checked["failures"]:
        row.problems = row.problems + [f"sender not verified: {', '.join(checked['failures'])}"]

    if parsed.kind == "unprocessable":
        _quarantine(row, "; ".join(parsed.problems) or "not a mail message")
    elif checked["failures"] and parsed.kind in ("referral", "reply"):
        # a spoofed sender must not open a referral or speak for a party: a person looks first
        _link(row, find_referral(session, parsed, sent) if parsed.kind == "reply" else None)
        row.status = "review"
        row.review_reason = f"sender not verified (Authentication-Results: {', '.join(checked['failures'])})"[:200]
        row.network = row.network or _network_for(session, row, settings)
    elif parsed.kind == "referral":
        _new_referral(session, row, parsed, settings)
    elif parsed.kind == "reply":
        _reply(session, row, parsed, settings, sent)
    else:  # bounce, auto_reply: never a referral; linked to what they answer when we know it
        _link(row, find_referral(session, parsed, sent))
        row.status = "processed"
    log.info("mail_processed", mail_id=row.id, kind=row.kind, status=row.status,
             referral_ref=row.referral_ref)
    return view(row)


def _quarantine(row: MailMessage, error: str) -> None:
    row.status = "quarantined"
    row.error = error[:500]


def quarantine(session: Session, mail_id: str, error: str) -> None:
    """A message whose processing failed: kept, with the reason, for ops and re-processing."""
    row = session.get(MailMessage, mail_id)
    if row is not None:
        row.attempts += 1
        _quarantine(row, error)
        log.warning("mail_quarantined", mail_id=mail_id)


def reprocess(session: Session, mail_id: str) -> bool:
    """Put a quarantined (or reviewed) message back in line; False when there is no such message."""
    row = session.get(MailMessage, mail_id)
    if row is None:
        return False
    if row.status in ("quarantined", "review"):
        row.status, row.error, row.review_reason = "received", None, None
    return True


def _store_attachments(session: Session, row: MailMessage, parsed: ParsedMail, settings: Settings) -> None:
    for old in session.scalars(select(MailAttachment).where(MailAttachment.mail_id == row.id)):
        session.delete(old)
    session.flush()
    limit = settings.intake_mail_attachment_max_bytes
    for index, attachment in enumerate(parsed.attachments):
        if index >= MAX_ATTACHMENTS:
            row.problems = row.problems + [f"more than {MAX_ATTACHMENTS} attachments; the rest not kept"]
            break
        stored = attachment.size <= limit
        if not stored:
            row.problems = row.problems + [f"attachment {attachment.name!r} over {limit} bytes; not kept"]
        session.add(MailAttachment(
            id=str(uuid.uuid4()), mail_id=row.id, name=attachment.name,
            content_type=attachment.content_type[:127], declared_type=attachment.declared_type[:127],
            size=attachment.size, sha256=hashlib.sha256(attachment.data).hexdigest(), stored=stored,
            data=base64.b64encode(attachment.data).decode("ascii") if stored else None))


def _link(row: MailMessage, referral: Referral | None) -> None:
    if referral is not None:
        row.referral_id, row.referral_ref, row.network = referral.id, referral.ref, referral.network


def find_referral(session: Session, parsed: ParsedMail, sent: dict | None) -> Referral | None:
    """By the reference in the subject, then by an earlier mail of the thread that we linked,
    then by the mail of ours it answers (`sent`, from notifications)."""
    if parsed.reference:
        referral = session.scalar(select(Referral).where(Referral.ref == parsed.reference))
        if referral is not None:
            return referral
    thread = thread_of(parsed)
    if thread:
        earlier = session.scalar(select(MailMessage).where(
            MailMessage.message_id_header.in_(thread), MailMessage.referral_id.is_not(None)).limit(1))
        if earlier is not None:
            return session.get(Referral, earlier.referral_id)
    if sent and sent.get("referral_ref"):
        return session.scalar(select(Referral).where(Referral.ref == sent["referral_ref"]))
    return None


def _reply(session: Session, row: MailMessage, parsed: ParsedMail, settings: Settings,
           sent: dict | None) -> None:
    referral = find_referral(session, parsed, sent)
    _link(row, referral)
    if referral is None:
        row.status, row.review_reason = "review", "reply to an unknown referral"
        row.network = row.network or _network_for(session, row, settings)
    elif not parties_match(parsed.from_addr, [referral.reporter_email, referral.school_email,
                                              (sent or {}).get("to")]):
        row.status, row.review_reason = "review", "sender is not a party of the referral"
    else:
        row.status = "processed"


def _network_for(session: Session, row: MailMessage, settings: Settings) -> str | None:
    """The network whose code is the recipient's local part, else the configured default."""
    for rcpt in row.rcpt_tos or []:
        local = rcpt.split("@")[0]
        if session.get(Network, local) is not None:
            return local
    return settings.intake_mail_network if session.get(Network, settings.intake_mail_network) else None


def _language(text: str) -> str:
    return "en" if len(ENGLISH.findall(text)) > len(DUTCH.findall(text)) else "nl"


def _new_referral(session: Session, row: MailMessage, parsed: ParsedMail, settings: Settings) -> None:
    """A new concern by e-mail: a referral in state `draft` holding what the mail tells, a form
    draft (prefilled) the reporter completes through a link, and `referral_submitted` with
    `draft: true`, channel `email`."""
    network = _network_for(session, row, settings)
    if network is None:
        _quarantine(row, "no network for the recipient address; add the network or set "
                         "NETSTERK_INTAKE_MAIL_NETWORK")
        return
    if not parsed.from_addr:
        _quarantine(row, "no sender address to reply to")
        return
    now = utcnow()
    referral_id = str(uuid.uuid4())
    description = "\n\n".join(p for p in (parsed.subject, parsed.text) if p)[:DESCRIPTION_MAX]
    lang = _language(description)
    referral = Referral(
        id=referral_id, ref=domain.next_ref(session, now.year), network=network, channel="email",
        state="draft", lang=lang, reporter_name=parsed.from_name or "", reporter_organisation="",
        reporter_role="", reporter_email=parsed.from_addr, reporter_phone=None,
        reporter_is_school=False, school_email=None, first_name="", last_name="", birth_date=None,
        age=0, school=None, school_level="none", postcode="", languages=[],
        person_key=pseudonym("mail-draft", referral_id), household_key=pseudonym("mail-draft", referral_id),
        categories=[], description=description or "(leeg / empty)", consent="unknown",
        urgency="normal", entered_by=None, correlation_id=str(uuid.uuid4()), created_at=now)
    session.add(referral)
    session.flush()
    from services.intake import privacy
    privacy.log_referral(session, {"username": "e-mail gateway", "role": "system", "origin": "smtp"},
                         "create", referral, "referral by e-mail",
                         fields=("reporter_name", "reporter_email", "description"))
    form = {"network": network, "reporter_name": parsed.from_name or "",
            "reporter_email": parsed.from_addr, "description": description, "lang": lang,
            "mail_referral_id": referral.id, "mail_ref": referral.ref}
    token, _expires = domain.save_draft(session, form, now=now)
    envelope = domain.submitted_event(referral, [])
    envelope["payload"].update({
        "draft": True, "channel": "email", "postcode": None, "neighbourhood": None, "age": None,
        "school_level": None, "consent": None, "person_key": None, "household_key": None,
        "draft_token": token, "mail_id": row.id,
    })
    add_to_outbox(session, Outbox, contracts.INTAKE, envelope)
    _link(row, referral)
    row.status = "processed"


# --- views --------------------------------------------------------------------------------------

def view(row: MailMessage) -> dict:
    """What ops and the coordinator see of a message (no raw bytes, no text)."""
    return {"id": row.id, "sha256": row.sha256, "size": row.size, "status": row.status,
            "kind": row.kind, "received_at": row.received_at.isoformat() if row.received_at else None,
            "message_id": row.message_id_header, "network": row.network,
            "referral_id": row.referral_id, "referral_ref": row.referral_ref, "answers": row.answers,
            "review_reason": row.review_reason, "error": row.error, "problems": list(row.problems or []),
            "attempts": row.attempts}


def listing(session: Session, status: str, network: str | None = None, *,
            include_unassigned: bool = False) -> list[dict]:
    query = select(MailMessage).where(MailMessage.status == status)
    if network and include_unassigned:
        query = query.where(or_(MailMessage.network == network, MailMessage.network.is_(None)))
    elif network:
        query = query.where(MailMessage.network == network)
    return [view(row) for row in session.scalars(query.order_by(MailMessage.received_at).limit(500))]


def attachments_of(session: Session, mail_id: str) -> list[dict]:
    return [{"id": a.id, "name": a.name, "content_type": a.content_type,
             "declared_type": a.declared_type, "size": a.size, "stored": a.stored, "sha256": a.sha256}
            for a in session.scalars(select(MailAttachment).where(MailAttachment.mail_id == mail_id))]
