"""Intake's one write path: store a referral and its `referral_submitted` event in one
transaction (the outbox relays the event after commit)."""
from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from netsterk import contracts
from netsterk.crypto import pseudonym
from netsterk.db import add_to_outbox, utcnow
from netsterk.envelope import make_envelope
from services.intake.models import Draft, Network, Outbox, RefCounter, Referral, ReferralLink

DRAFT_DAYS = 30


def network_categories(session: Session, code: str | None) -> list[str] | None:
    network = session.get(Network, code) if code else None
    return None if network is None else list(network.categories)


def list_networks(session: Session) -> list[dict]:
    return [{"code": n.code, "name": n.name, "categories": n.categories}
            for n in session.scalars(select(Network).order_by(Network.name))]


def upsert_network(session: Session, code: str, name: str, categories: list[str]) -> dict:
    if not code or not name or not isinstance(categories, list) or not categories:
        raise ValueError("a network needs a code, a name and at least one concern category")
    network = session.get(Network, code) or Network(code=code)
    network.name = name
    network.categories = list(categories)
    session.add(network)
    return {"code": code, "name": name, "categories": list(categories)}


def next_ref(session: Session, year: int) -> str:
    """NS-<year>-<6 digits>, gap-free per year; the row update serialises concurrent submits."""
    result = session.execute(update(RefCounter).where(RefCounter.year == year)
                             .values(last=RefCounter.last + 1).returning(RefCounter.last))
    number = result.scalar_one_or_none()
    if number is None:
        try:  # the year's first referral; a replica submitting at the same moment may win
            with session.begin_nested():
                session.add(RefCounter(year=year, last=1))
            number = 1
        except IntegrityError:
            return next_ref(session, year)
    return f"NS-{year}-{number:06d}"


def person_key(clean: dict) -> str:
    return pseudonym(clean["first_name"], clean["last_name"], clean["birth_date"] or str(clean["age"]))


def household_key(clean: dict) -> str:
    return pseudonym(clean["last_name"], clean["postcode"])


FORM_COLUMNS = (
    "lang", "reporter_name", "reporter_organisation", "reporter_role", "reporter_email",
    "reporter_phone", "reporter_is_school", "school_email", "first_name", "last_name", "birth_date",
    "age", "school", "grade", "school_level", "postcode", "neighbourhood", "languages", "categories",
    "description", "school_efforts", "school_efforts_when", "school_efforts_result", "consent",
    "consent_reason", "expectations", "urgency",
)


def _fill(referral: Referral, clean: dict) -> None:
    """The validated form's values onto the referral, and its pseudonymous keys."""
    for column in FORM_COLUMNS:
        setattr(referral, column, clean[column])
    referral.person_key = person_key(clean)
    referral.household_key = household_key(clean)


def submit_referral(session: Session, clean: dict, *, now: datetime | None = None,
                    entered_by: str | None = None, direct: dict | None = None) -> Referral:
    """The one write path: the referral, its duplicate links and its event, in one transaction.
    `direct` = the partner and offer when a partner reports a direct engagement."""
    now = now or utcnow()
    referral = Referral(
        id=str(uuid.uuid4()), ref=next_ref(session, now.year), network=clean["network"],
        channel=clean["channel"], state="submitted", entered_by=entered_by,
        direct_engagement=direct_engagement(direct) if direct else None,
        correlation_id=str(uuid.uuid4()), created_at=now,
    )
    _fill(referral, clean)
    return _store(session, referral)


def complete_referral(session: Session, referral_id: str, clean: dict) -> Referral:
    """A draft that came in by e-mail, completed through the form: the same referral (id, ref,
    channel) gets the form's values, and `referral_submitted` goes out again with draft false."""
    referral = session.get(Referral, referral_id)
    if referral is None or referral.state != "draft":
        raise LookupError("this draft referral does not exist or was already completed")
    if referral.network != clean["network"]:
        raise LookupError("a draft cannot move to another network")
    _fill(referral, clean)
    referral.state = "submitted"
    return _store(session, referral)


def _store(session: Session, referral: Referral) -> Referral:
    session.add(referral)
    session.flush()
    links = link_possible_duplicates(session, referral)
    add_to_outbox(session, Outbox, contracts.INTAKE, submitted_event(referral, links))
    return referral


DIRECT_KEYS = ("organisation_id", "organisation_name", "contact_email", "offer_id", "offer_name")


def direct_engagement(direct: dict) -> dict:
    """The directory facts of a direct engagement; organisation_id is required."""
    if not isinstance(direct, dict) or not direct.get("organisation_id"):
        raise ValueError("a direct engagement needs the partner's organisation_id")
    return {key: (str(direct[key])[:200] if direct.get(key) is not None else None) for key in DIRECT_KEYS}


def link_possible_duplicates(session: Session, referral: Referral) -> list[dict]:
    """Open referrals in the same network for the same young person or household whose concerns
    overlap: linked, and flagged in the event for the coordinator (DESIGN §6)."""
    # only the clear columns: loading whole rows would decrypt every personal field of each one
    candidates = session.execute(select(
        Referral.id, Referral.ref, Referral.categories, Referral.person_key).where(
        Referral.network == referral.network, Referral.id != referral.id,
        Referral.state.not_in(contracts.FINAL_STATES),
        or_(Referral.person_key == referral.person_key,
            Referral.household_key == referral.household_key)))
    links = []
    for other in candidates:
        overlapping = sorted(set(other.categories) & set(referral.categories))
        if not overlapping:
            continue
        match = "person" if other.person_key == referral.person_key else "household"
        session.add(ReferralLink(referral_id=referral.id, linked_referral_id=other.id, match=match,
                                 overlapping=overlapping))
        links.append({"referral_id": other.id, "ref": other.ref, "match": match,
                      "overlapping": overlapping})
    return links


def submitted_event(referral: Referral, links: list[dict]) -> dict:
    """References, codes and pseudonymous keys only: no names, no addresses (the workflow asks
    `contact_address` when it sends a mail)."""
    payload = {
        "referral_id": referral.id, "ref": referral.ref, "network": referral.network,
        "channel": referral.channel, "categories": list(referral.categories),
        "postcode": referral.postcode, "neighbourhood": referral.neighbourhood,
        "age": referral.age, "school_level": referral.school_level,
        "languages": list(referral.languages), "urgency": referral.urgency,
        "school_efforts_done": bool(referral.school_efforts),
        "reporter_lang": referral.lang, "consent": referral.consent,
        "person_key": referral.person_key, "household_key": referral.household_key,
        "possible_duplicates": links, "draft": False,
        "direct_engagement": referral.direct_engagement,
        "submitted_at": referral.created_at.isoformat(),
    }
    return make_envelope(contracts.REFERRAL_SUBMITTED, payload, network=referral.network,
                         referral_ref=referral.ref, correlation_id=referral.correlation_id)


# --- drafts: a form saved half-way, resumed through a secret link ------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def save_draft(session: Session, data: dict, *, token: str | None = None,
               now: datetime | None = None) -> tuple[str, datetime]:
    """Store the form values as they are (encrypted); returns (token, expires_at). Saving again
    with the same token replaces the values."""
    now = now or utcnow()
    token = token if token and session.get(Draft, _token_hash(token)) else secrets.token_urlsafe(24)
    draft = session.get(Draft, _token_hash(token)) or Draft(token_hash=_token_hash(token))
    if draft.data:   # the link to the referral an e-mail draft completes survives a re-save
        kept = {k: v for k, v in json.loads(draft.data).items() if k.startswith("mail_")}
        data = {**{k: v for k, v in data.items() if not str(k).startswith("mail_")}, **kept}
    draft.network = str(data.get("network") or "")[:64] or None
    draft.data = json.dumps(data, ensure_ascii=False)
    draft.expires_at = now + timedelta(days=DRAFT_DAYS)
    session.add(draft)
    return token, draft.expires_at


def load_draft(session: Session, token: str, *, now: datetime | None = None) -> dict | None:
    draft = session.get(Draft, _token_hash(token or ""))
    if draft is None:
        return None
    expires = draft.expires_at if draft.expires_at.tzinfo else draft.expires_at.replace(tzinfo=(now or utcnow()).tzinfo)
    if expires < (now or utcnow()):
        session.delete(draft)
        return None
    return json.loads(draft.data)


def delete_draft(session: Session, token: str | None) -> None:
    draft = session.get(Draft, _token_hash(token)) if token else None
    if draft is not None:
        session.delete(draft)


def apply_state_change(session: Session, envelope: dict) -> None:
    """Mirror the workflow's state so intake can tell a reporter where their referral stands."""
    payload = envelope["payload"]
    referral = session.get(Referral, payload["referral_id"])
    if referral is None:
        raise LookupError(f"state change for unknown referral {payload.get('ref')}")
    at = datetime.fromisoformat(payload["at"])
    if referral.state_at is not None:
        known = referral.state_at if referral.state_at.tzinfo else referral.state_at.replace(tzinfo=at.tzinfo)
        if at < known:
            return
    referral.state = payload["to_state"]
    referral.state_at = at


def status_view(referral: Referral) -> dict:
    """What the API returns about a referral: no personal data."""
    return {"id": referral.id, "ref": referral.ref, "network": referral.network,
            "state": referral.state, "channel": referral.channel,
            "submitted_at": referral.created_at.isoformat()}


# --- retention: the workflow's referral_anonymise -----------------------------------------------

WIPED_TEXT = ("reporter_name", "reporter_email", "first_name", "last_name", "description",
              "person_key", "household_key")
WIPED_OPTIONAL = ("reporter_phone", "school_email", "birth_date", "school_efforts",
                  "school_efforts_when", "school_efforts_result", "consent_reason", "expectations")
# events stored before issue 10 still carry the addresses
WIPED_EVENT_KEYS = ("reporter_email", "school_email", "person_key", "household_key")


def anonymise_referral(session: Session, envelope: dict) -> bool:
    """`referral_workflow.referral_anonymise`: wipe the personal fields of the referral and of
    its stored outgoing events, irreversibly. Counts (age, postcode, categories, state) stay.
    Idempotent; returns False when there was nothing (left) to wipe. Audited."""
    from services.intake import privacy

    payload = envelope["payload"]
    referral = session.get(Referral, payload.get("referral_id") or "")
    if referral is None:
        raise LookupError(f"anonymise for unknown referral {payload.get('ref')}")
    changed = privacy.wipe_referral(session, referral)
    from services.intake.wraparound import anonymise as anonymise_wraparound

    changed = anonymise_wraparound(session, referral.id) or changed
    if changed:
        privacy.log_referral(session, {"username": "retention timer", "role": "system",
                                       "origin": "workflow"},
                             "anonymise", referral, "retention period ended")
    return changed


def wipe_mail_of(session: Session, referral_id: str) -> bool:
    """The e-mail that came in for this referral: raw bytes, sender, subject, text and the
    attachments go; what the message was (kind, size, dates, hash) stays for the counts."""
    from services.intake.mail.models import MailAttachment, MailMessage

    changed = False
    for mail in session.scalars(select(MailMessage).where(MailMessage.referral_id == referral_id)):
        if mail.raw or mail.from_addr or mail.text or mail.subject or mail.envelope_from:
            mail.raw, mail.from_addr, mail.subject, mail.text, mail.envelope_from = "", None, None, None, None
            changed = True
        for attachment in session.scalars(select(MailAttachment).where(MailAttachment.mail_id == mail.id)):
            if attachment.data is not None or attachment.name:
                attachment.data, attachment.name = None, ""
                changed = True
    return changed
