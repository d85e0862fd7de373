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

from netsterk import links
from netsterk.crypto import pseudonym
from netsterk.db import delete_rows, session_scope, utcnow
from netsterk.logging import get_logger, log_context
from netsterk.settings import get_settings
from services.notifications import mailer
from services.notifications.models import FailingAddress, OutgoingMail, TemplateOverride
from services.notifications.schemas import validate_send_request
from services.notifications.templates import render, render_html

log = get_logger(__name__)

LEASE = timedelta(seconds=120)


class RetryPolicy:
    def __init__(self, base_seconds: float = 30.0, max_seconds: float = 3600.0, max_attempts: int = 20):
        self.base_seconds = base_seconds
        self.max_seconds = max_seconds
        self.max_attempts = max_attempts

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.base_seconds * 2 ** max(attempts - 1, 0), self.max_seconds))


def address_key(address: str) -> str:
    return pseudonym("mail-address", address)


# which portal page link in a context becomes which signed single-action links
SIGNED = {"accept_url": ("accept", "decline"), "feedback_url": ("feedback",),
          "answer_url": ("answer",), "confirm_url": ("confirm_efforts",),
          "complete_url": ("complete_draft",)}


def sign_links(context: dict, *, settings=None, now: float | None = None) -> dict:
    """Add signed, expiring, single-action links for the portal pages a context links to:
    `accept_url` (the engagement page) gets `accept_link` and `decline_link`; `feedback_url`,
    `answer_url`, `confirm_url` and `complete_url` (`/drafts/<referral>/<draft token>`) are
    replaced by a signed link for that one action."""
    settings = settings or get_settings()
    key, days = links.link_key(settings), settings.link_days
    out = dict(context)
    for field, actions in SIGNED.items():
        target = links.parse_portal_url(out.get(field) or "")
        if target is None:
            continue
        _kind, referral_id, token, base = target
        for action in actions:
            link_id = links.draft_link_id(referral_id) if action == "complete_draft" else None
            link = links.Link.new(action, referral_id, token, days=days, now=now, link_id=link_id)
            url = links.url(base, link, key)
            if field == "accept_url":
                out[f"{action}_link"] = url
            else:
                out[field] = url
    if out.get("accept_url") and not out.get("accept_link"):  # not a portal page: the page itself
        out["accept_link"] = out["decline_link"] = out["accept_url"]
    return out


def mark_draft_link_used(session: Session, envelope: dict) -> None:
    """A referral left the state `draft` (completed by the reporter or a coordinator): its
    complete_draft link is used from then on."""
    from services.notifications.models import UsedLink
    p = envelope.get("payload") or {}
    if p.get("from_state") != "draft" or p.get("to_state") in (None, "draft") or not p.get("referral_id"):
        return
    link_id = links.draft_link_id(str(p["referral_id"]))
    if session.get(UsedLink, link_id) is None:
        session.add(UsedLink(link_id=link_id, action="complete_draft", referral_id=str(p["referral_id"])[:64]))


# templates whose recipient is the network's coordinators
COORDINATOR_TEMPLATES = ("coordinator_escalation", "coordinator_digest", "coordinator_bounce")
STAFF_LANGUAGES = ("nl", "en", "fr")


def recipient_language(factory: sessionmaker, network: str, to: str, template: str, requested: str,
                       settings=None) -> str:
    """The one rule for the language of an e-mail: the language the network admin chose for this
    address; else for coordinator mails NETSTERK_COORDINATOR_LANG; else what the sender asked
    (the reporter's own language). French only where the network enables it."""
    settings = settings or get_settings()
    from services.notifications.models import RecipientLanguage
    with session_scope(factory) as session:
        chosen = session.get(RecipientLanguage, (network, address_key(str(to).strip().lower())))
        lang = chosen.lang if chosen else None
    if lang is None:
        lang = settings.coordinator_lang if template in COORDINATOR_TEMPLATES else requested
    return language_for(network, lang if lang in STAFF_LANGUAGES else requested, settings)


def set_recipient_language(factory: sessionmaker, network: str, address: str, lang: str | None,
                           by: str = "") -> dict:
    """Choose (or with lang empty forget) the language of one address's e-mails in a network."""
    from services.notifications.models import RecipientLanguage
    address = str(address or "").strip().lower()
    if not network or "@" not in address or len(address) > 254 or any(c.isspace() for c in address):
        raise ValueError("a network and one e-mail address are needed")
    if lang and lang not in STAFF_LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(STAFF_LANGUAGES)}")
    with session_scope(factory) as session:
        row = session.get(RecipientLanguage, (network, address_key(address)))
        if not lang:
            if row is not None:
                session.delete(row)
            return {"network": network, "lang": None}
        if row is None:
            row = RecipientLanguage(network=network, to_key=address_key(address))
            session.add(row)
        row.address, row.lang, row.updated_by, row.updated_at = address, lang, str(by)[:64], utcnow()
    return {"network": network, "lang": lang}


def recipient_languages(factory: sessionmaker, network: str) -> list[dict]:
    from services.notifications.models import RecipientLanguage
    with session_scope(factory) as session:
        rows = session.scalars(select(RecipientLanguage).where(RecipientLanguage.network == network))
        return sorted(({"address": r.address, "lang": r.lang, "updated_by": r.updated_by,
                        "updated_at": r.updated_at.isoformat() if r.updated_at else None} for r in rows),
                      key=lambda r: r["address"])


def language_for(network: str, lang: str, settings=None) -> str:
    """French only where the network enables it (NETSTERK_FRENCH_NETWORKS); else English."""
    if lang != "fr":
        return lang
    enabled = {n.strip() for n in (settings or get_settings()).french_networks.split(",") if n.strip()}
    return "fr" if "*" in enabled or network in enabled else "en"


def template_override(factory: sessionmaker, network: str, template: str, lang: str) -> dict | None:
    with session_scope(factory) as session:
        row = session.get(TemplateOverride, (network, template, lang))
        return {"subject": row.subject, "body": row.body} if row else None


def store(factory: sessionmaker, request) -> tuple[str, bool]:
    """Validate, render and store the e-mail. Returns (mail_id, created); created is False when
    the idempotency key was seen before (then nothing new is stored)."""
    clean = validate_send_request(request)
    with session_scope(factory) as session:
        existing = session.scalar(select(OutgoingMail.id).where(
            OutgoingMail.idempotency_key == clean["idempotency_key"]))
        if existing:
            return existing, False
    clean["lang"] = recipient_language(factory, clean["network"], clean["to"], clean["template"], clean["lang"])
    context = sign_links(clean["context"])
    override = template_override(factory, clean["network"], clean["template"], clean["lang"])
    subject, body = render(clean["template"], clean["lang"], context, override)
    html = render_html(clean["template"], clean["lang"], context, override)
    mail_id = str(uuid.uuid4())
    try:
        with session_scope(factory) as session:
            session.add(OutgoingMail(
                id=mail_id, idempotency_key=clean["idempotency_key"], network=clean["network"],
                referral_ref=clean["referral_ref"], correlation_id=clean["correlation_id"],
                to=clean["to"], template=clean["template"], lang=clean["lang"], subject=subject,
                body=body, html=html, to_key=address_key(clean["to"]), status="pending", attempts=0,
                next_attempt_at=utcnow()))
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


def attempt(factory: sessionmaker, mail_id: str, *, sender: str, host, port: int | None = None,
            policy: RetryPolicy) -> str:
    """One delivery attempt; returns the mail's status afterwards (pending, sent or failed).
    Returns "pending" without sending when another attempt holds the lease."""
    if not _claim(factory, mail_id):
        return "pending"
    with session_scope(factory) as session:
        mail = session.get(OutgoingMail, mail_id)
        message = mailer.build_message(mail_id=mail.id, sender=sender, to=mail.to, subject=mail.subject,
                                       body=mail.body, referral_ref=mail.referral_ref, html=mail.html,
                                       lang=mail.lang)
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
        mail.to, mail.body, mail.html = "", "", None
        if mail.status == "pending":
            mail.status, mail.last_error = "failed", ANONYMISED
        changed += 1
    if payload.get("referral_id"):   # the events kept for a webhook hold the workflow's free texts
        changed += _drop_webhook_deliveries(session, payload["referral_id"], pending_too=False)
    log.info("mails_anonymised", count=changed)
    return changed


def _drop_webhook_deliveries(session: Session, referral_id: str, *, pending_too: bool) -> int:
    from services.notifications.models import WebhookDelivery

    conditions = [WebhookDelivery.body.contains(f'"referral_id":"{referral_id}"')]
    if not pending_too:
        conditions.append(WebhookDelivery.status != "pending")
    return delete_rows(session, WebhookDelivery, *conditions)


def erase_referral(session: Session, envelope: dict) -> dict:
    """`intake.referral_erased`: everything notifications holds of the referral goes: its mails
    (addresses, bodies), the used links, the digest read models, the failing-address mark it
    caused, the webhook deliveries. Idempotent; returns {store: rows removed}."""
    from services.notifications.models import EngagementView, TaskView, UsedLink

    payload = envelope["payload"]
    referral_id, network, ref = payload.get("referral_id"), payload.get("network"), payload.get("ref")
    if not referral_id or not network or not ref:
        raise ValueError("referral_erased needs referral_id, network and ref")
    removed = {
        "outgoing_mail": delete_rows(session, OutgoingMail, OutgoingMail.network == network,
                                     OutgoingMail.referral_ref == ref),
        "failing_address": delete_rows(session, FailingAddress, FailingAddress.network == network,
                                       FailingAddress.last_referral_ref == ref),
        "used_link": delete_rows(session, UsedLink, UsedLink.referral_id == referral_id),
        "task_view": delete_rows(session, TaskView, TaskView.referral_id == referral_id),
        "engagement_view": delete_rows(session, EngagementView, EngagementView.referral_id == referral_id),
    }
    removed["webhook_delivery"] = _drop_webhook_deliveries(session, referral_id, pending_too=True)
    log.info("referral_erased", **removed)
    return removed


# --- the failed list ------------------------------------------------------------------------------

def _mail_row(mail: OutgoingMail) -> dict:
    return {"mail_id": mail.id, "network": mail.network, "referral_ref": mail.referral_ref,
            "template": mail.template, "lang": mail.lang, "status": mail.status,
            "attempts": mail.attempts, "last_error": mail.last_error,
            "created_at": mail.created_at.isoformat() if mail.created_at else None}


def failed_mails(factory: sessionmaker, network: str | None, limit: int = 200) -> list[dict]:
    """Mails that will not be sent without someone acting (no addresses, no bodies)."""
    with session_scope(factory) as session:
        query = select(OutgoingMail).where(OutgoingMail.status == "failed")
        if network:
            query = query.where(OutgoingMail.network == network)
        return [_mail_row(m) for m in session.scalars(
            query.order_by(OutgoingMail.created_at.desc()).limit(limit))]


def retry_failed(factory: sessionmaker, mail_id: str, network: str | None) -> dict | None:
    """Put a failed mail back in line (staff, after fixing the cause); None if no such mail of
    that network. An anonymised mail stays failed."""
    with session_scope(factory) as session:
        mail = session.get(OutgoingMail, mail_id)
        if mail is None or (network and mail.network != network):
            return None
        if mail.status == "failed" and mail.to:
            mail.status, mail.attempts, mail.next_attempt_at = "pending", 0, utcnow()
        return _mail_row(mail)


# --- bounces (intake tells us) ---------------------------------------------------------------------

def _mail_id_of(message_id: str | None) -> str:
    return str(message_id or "").strip().strip("<>").partition("@")[0]


def record_bounce(factory: sessionmaker, report: dict) -> dict:
    """A bounce intake received for one of our mails: the mail ends on the failed list, its
    address is marked failing for the network. Returns what the coordinator must be told:
    {recorded, first, mail_id, network, referral_ref, template, reason}. Idempotent: the same
    bounce again gives first=False."""
    if not isinstance(report, dict):
        raise ValueError("bounce report must be an object")
    mail_id = _mail_id_of(report.get("original_message_id"))
    status_code = str(report.get("status") or "")[:16]
    reason = " ".join(str(report.get("diagnostic") or report.get("status") or "bounced").split())[:250]
    with session_scope(factory) as session:
        mail = session.get(OutgoingMail, mail_id) if mail_id else None
        if mail is None:
            return {"recorded": False, "first": False, "reason": "not a mail of ours"}
        first = not (mail.status == "failed" and (mail.last_error or "").startswith("bounced"))
        mail.status = "failed"
        mail.last_error = f"bounced: {status_code} {reason}".strip()[:500]
        key = mail.to_key or (address_key(mail.to) if mail.to else None)
        if key:
            failing = session.scalar(select(FailingAddress).where(
                FailingAddress.network == mail.network, FailingAddress.to_key == key))
            if failing is None:
                session.add(FailingAddress(id=str(uuid.uuid4()), network=mail.network, to_key=key,
                                           address=mail.to, status_code=status_code, reason=reason,
                                           bounces=1, last_referral_ref=mail.referral_ref))
            elif first:
                failing.bounces += 1
                failing.last_at, failing.status_code, failing.reason = utcnow(), status_code, reason
                failing.last_referral_ref = mail.referral_ref
        result = {"recorded": True, "first": first, "mail_id": mail.id, "network": mail.network,
                  "referral_ref": mail.referral_ref, "template": mail.template, "reason": reason,
                  "correlation_id": mail.correlation_id}
    log.info("mail_bounced", mail_id=mail_id, first=first)
    return result


def failing_addresses(factory: sessionmaker, network: str | None) -> list[dict]:
    """Addresses that bounced, for the coordinator of that network (who may see them)."""
    with session_scope(factory) as session:
        query = select(FailingAddress)
        if network:
            query = query.where(FailingAddress.network == network)
        return [{"network": f.network, "address": f.address, "status": f.status_code, "reason": f.reason,
                 "bounces": f.bounces, "last_at": f.last_at.isoformat() if f.last_at else None,
                 "referral_ref": f.last_referral_ref}
                for f in session.scalars(query.order_by(FailingAddress.last_at.desc()).limit(200))]


def is_failing(factory: sessionmaker, network: str, address: str) -> bool:
    with session_scope(factory) as session:
        return session.scalar(select(FailingAddress.id).where(
            FailingAddress.network == network, FailingAddress.to_key == address_key(address))) is not None


# --- signed links: used once ----------------------------------------------------------------------

def link_used(factory: sessionmaker, link_id: str) -> str | None:
    """When the link was used (ISO time), or None."""
    from services.notifications.models import UsedLink
    with session_scope(factory) as session:
        row = session.get(UsedLink, str(link_id))
        return row.used_at.isoformat() if row else None


def use_link(factory: sessionmaker, link_id: str, action: str, referral_id: str) -> dict:
    """Mark a link used; {"first": True} the first time, else when it was used."""
    from services.notifications.models import UsedLink
    try:
        with session_scope(factory) as session:
            session.add(UsedLink(link_id=str(link_id)[:64], action=str(action)[:32],
                                 referral_id=str(referral_id)[:64]))
        return {"first": True, "used_at": None}
    except IntegrityError:
        return {"first": False, "used_at": link_used(factory, link_id)}
