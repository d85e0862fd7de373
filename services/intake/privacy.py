"""Intake's privacy rules in one place: who may see which referral (scope by network and role),
the audit entry for every read and change of personal data, the right of access (an export of
what intake holds) and erasure where the law allows it."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from netsterk import audit, contracts
from netsterk.db import add_to_outbox, utcnow
from netsterk.envelope import make_envelope
from services.intake.models import AUDIT, Draft, Outbox, Referral, ReferralLink

# the personal fields of a referral (encrypted columns): names only ever go to the audit log
PERSONAL_FIELDS = (
    "reporter_name", "reporter_email", "reporter_phone", "school_email", "first_name", "last_name",
    "birth_date", "description", "school_efforts", "school_efforts_when", "school_efforts_result",
    "consent_reason", "expectations",
)
# what is held about the young person and the reporter without being secret (kept clear for
# matching and counts)
CLEAR_FIELDS = ("network", "ref", "channel", "state", "lang", "reporter_organisation", "reporter_role",
                "reporter_is_school", "age", "school", "grade", "school_level", "postcode",
                "neighbourhood", "languages", "categories", "consent", "urgency", "entered_by",
                "direct_engagement", "created_at", "state_at")
MAIL_FIELDS = ("envelope_from", "raw", "from_addr", "subject", "text")

# roles allowed per purpose; everything else is refused as "not found" (no existence leaks)
ROLES_FOR = {
    "export": ("coordinator",),
    "erase": ("coordinator",),
    "audit": ("network_admin",),
}
# a referral still in care keeps its data (legal obligation / task in the public interest);
# erasure is for referrals that ended, and drafts nobody completed
ERASABLE_STATES = tuple(contracts.FINAL_STATES) + ("draft", "closed")


class NotAllowed(LookupError):
    """The caller may not see this record (answered like an unknown record: 404)."""


class ErasureRefused(ValueError):
    """Erasure is not allowed (yet) for this referral; the message says why."""

    def __init__(self, state: str):
        super().__init__(state)
        self.state = state


def log(session: Session, actor: dict, action: str, *, record_type: str, record_id: str | None,
        fields, purpose: str, network: str | None = None, record_ref: str | None = None) -> None:
    actor = audit.actor_of(actor)
    audit.record(session, AUDIT, actor=actor["username"], role=actor["role"], action=action,
                 record_type=record_type, record_id=record_id, record_ref=record_ref,
                 fields=fields, purpose=actor["purpose"] or purpose,
                 network=network or actor["network"], origin=actor["origin"])


def log_draft(session: Session, token: str, action: str, origin: str | None, network: str | None = None) -> None:
    """A form draft (encrypted form values) saved or opened through its secret link."""
    from services.intake.domain import _token_hash

    log(session, {"username": "draft link holder", "role": "reporter", "origin": origin}, action,
        record_type="draft", record_id=_token_hash(token or "")[:32], fields=["data"],
        purpose="draft saved" if action == "update" else "draft resumed", network=network)


def log_referral(session: Session, actor: dict, action: str, referral: Referral, purpose: str,
                 fields=PERSONAL_FIELDS) -> None:
    log(session, actor, action, record_type="referral", record_id=referral.id, fields=fields,
        purpose=purpose, network=referral.network, record_ref=referral.ref)


def scoped_referral(session: Session, actor: dict, purpose: str, *, referral_id: str | None = None,
                    ref: str | None = None) -> Referral:
    """The referral, when the caller's role may do `purpose` and it is in the caller's network;
    else NotAllowed (the same answer as for a referral that does not exist)."""
    actor = audit.actor_of(actor)
    if actor["role"] not in ROLES_FOR[purpose] or not actor["network"]:
        raise NotAllowed("not found")
    if referral_id:
        referral = session.get(Referral, referral_id)
    elif ref:
        referral = session.scalar(select(Referral).where(Referral.ref == ref.strip()))
    else:
        referral = None
    if referral is None or referral.network != actor["network"]:
        raise NotAllowed("not found")
    return referral


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def export_referral(session: Session, actor: dict, *, referral_id: str | None = None,
                    ref: str | None = None) -> dict:
    """Right of access (GDPR art. 15): everything intake holds about this referral, in clear,
    with the audit trail of who saw or changed it. Audited as an export."""
    from services.intake.mail.models import MailAttachment, MailMessage

    referral = scoped_referral(session, actor, "export", referral_id=referral_id, ref=ref)
    data = {"id": referral.id}
    data.update({name: _iso(getattr(referral, name)) for name in CLEAR_FIELDS})
    data.update({name: getattr(referral, name) for name in PERSONAL_FIELDS})
    links = [{"linked_referral_id": link.linked_referral_id, "match": link.match,
              "overlapping": link.overlapping}
             for link in session.scalars(select(ReferralLink).where(ReferralLink.referral_id == referral.id))]
    mails = []
    for mail in session.scalars(select(MailMessage).where(MailMessage.referral_id == referral.id)):
        mails.append({"id": mail.id, "received_at": _iso(mail.received_at), "kind": mail.kind,
                      "status": mail.status, "from": mail.from_addr, "subject": mail.subject,
                      "text": mail.text, "attachments": [
                          {"name": a.name, "content_type": a.content_type, "size": a.size}
                          for a in session.scalars(select(MailAttachment).where(MailAttachment.mail_id == mail.id))]})
    log_referral(session, actor, "export", referral, "right of access (export)",
                 fields=PERSONAL_FIELDS + (MAIL_FIELDS if mails else ()))
    trail = audit.listing(session, AUDIT, record_id=referral.id, limit=500)
    return {"service": contracts.INTAKE, "exported_at": utcnow().isoformat(), "referral": data,
            "possible_duplicates": links, "mails": mails,
            "audit": [{k: e[k] for k in ("at", "actor", "role", "action", "fields", "purpose")}
                      for e in trail],
            "retention": "personal data are wiped when the retention period after closure ends "
                         "(default 24 months, per network)"}


def wipe_referral(session: Session, referral: Referral) -> bool:
    """Irreversibly wipe the personal fields of the referral, of its stored outgoing events and of
    its mail (used by retention and erasure). Returns whether anything was left to wipe."""
    from services.intake import domain

    changed = any(getattr(referral, name) for name in domain.WIPED_TEXT + domain.WIPED_OPTIONAL)
    for name in domain.WIPED_TEXT:
        setattr(referral, name, "")
    for name in domain.WIPED_OPTIONAL:
        setattr(referral, name, None)
    for row in session.scalars(select(Outbox).where(Outbox.event_type == contracts.REFERRAL_SUBMITTED)):
        body = row.body or {}
        if (body.get("payload") or {}).get("referral_id") != referral.id:
            continue
        payload = dict(body["payload"])
        if any(payload.get(key) for key in domain.WIPED_EVENT_KEYS):
            payload.update({key: None for key in domain.WIPED_EVENT_KEYS if key in payload})
            row.body = dict(body, payload=payload)
            changed = True
    for draft in session.scalars(select(Draft)):
        if f'"mail_referral_id": "{referral.id}"' in (draft.data or ""):
            session.delete(draft)
            changed = True
    return domain.wipe_mail_of(session, referral.id) or changed


REFERRAL_ERASED = contracts.REFERRAL_ERASED
SYSTEM_ORIGIN = "amqp"
CONTACT_FIELDS = {"reporter": ("reporter_email",), "school_or_reporter": ("school_email", "reporter_email"),
                  "school_other_than_reporter": ("school_email", "reporter_email")}


def contact_address(session: Session, referral_id: str, role: str, purpose: str = "notification",
                    caller: str = "referral workflow") -> str | None:
    """The address a mail for `role` of the referral goes to, resolved at send time (events and
    workflow inputs carry no addresses). None when there is none (any more: wiped or erased).
    Audited as a read of the address fields, with the purpose."""
    if role not in contracts.CONTACT_ROLES:
        raise ValueError(f"role must be one of {', '.join(contracts.CONTACT_ROLES)}")
    referral = session.get(Referral, referral_id) if isinstance(referral_id, str) else None
    if referral is None:
        raise LookupError(f"no referral {referral_id}")
    reporter = (referral.reporter_email or "").strip() or None
    school = (referral.school_email or "").strip() or None
    if role == "reporter":
        address = reporter
    elif role == "school_or_reporter":
        address = school or reporter
    else:
        address = school if school and school.lower() != (reporter or "").lower() else None
    if address:
        log_referral(session, {"username": caller, "role": "system", "origin": SYSTEM_ORIGIN},
                     "read", referral, purpose or "notification", fields=CONTACT_FIELDS[role])
    return address


def apply_erasure_receipt(session: Session, envelope: dict) -> None:
    """`<service>.erasure_confirmed`: one service wiped its copy of an erased referral; recorded
    in the audit chain (action erase, the service as actor, the stores as fields)."""
    payload = envelope["payload"]
    service = payload.get("service")
    if service not in contracts.ERASURE_CONFIRMERS:
        raise ValueError(f"erasure_confirmed from an unknown service {service!r}")
    referral = session.get(Referral, payload.get("referral_id") or "")
    if referral is None:
        raise LookupError(f"erasure_confirmed for unknown referral {payload.get('ref')}")
    removed = payload.get("removed") if isinstance(payload.get("removed"), dict) else {}
    log_referral(session, {"username": service, "role": "system", "origin": SYSTEM_ORIGIN}, "erase",
                 referral, f"erasure confirmed by {service}",
                 fields=[f"{store}:{count}" for store, count in sorted(removed.items())] or ["nothing left"])


def erasure_status(session: Session, actor: dict, *, referral_id: str | None = None,
                   ref: str | None = None) -> dict:
    """Which services confirmed the erasure of this referral (from the audit chain)."""
    referral = scoped_referral(session, actor, "erase", referral_id=referral_id, ref=ref)
    entries = audit.listing(session, AUDIT, record_id=referral.id, limit=1000)
    erased = [e for e in entries if e["action"] == "erase"]
    confirmed = {e["actor"]: e["at"] for e in erased if e["role"] == "system"}
    requested = [e["at"] for e in erased if e["role"] != "system"]
    services = {name: confirmed.get(name) for name in contracts.ERASURE_CONFIRMERS}
    return {"referral_id": referral.id, "ref": referral.ref,
            "erased_at": min(requested) if requested else None, "services": services,
            "complete": bool(requested) and all(services.values())}


def erase_referral(session: Session, actor: dict, *, referral_id: str | None = None,
                   ref: str | None = None, reason: str = "") -> dict:
    """Erasure (GDPR art. 17) where the law allows it: the referral must have ended (or be an
    uncompleted e-mail draft). Wipes intake's personal data at once and announces
    `intake.referral_erased` (references only) so every other service wipes its part."""
    referral = scoped_referral(session, actor, "erase", referral_id=referral_id, ref=ref)
    if referral.state not in ERASABLE_STATES:
        raise ErasureRefused(referral.state)
    wiped = wipe_referral(session, referral)
    log_referral(session, actor, "erase", referral, reason or "right to erasure")
    add_to_outbox(session, Outbox, contracts.INTAKE, make_envelope(
        REFERRAL_ERASED, {"referral_id": referral.id, "ref": referral.ref, "network": referral.network,
                          "at": utcnow().isoformat()},
        network=referral.network, referral_ref=referral.ref, correlation_id=referral.correlation_id))
    return {"referral_id": referral.id, "ref": referral.ref, "erased": True, "had_data": wiped}


def audit_log(session: Session, actor: dict, *, limit: int = 200, before: int | None = None) -> dict:
    """The network admin's view: the entries of their network (no personal data is in them) and
    the state of the whole chain."""
    actor = audit.actor_of(actor)
    if actor["role"] not in ROLES_FOR["audit"] or not actor["network"]:
        raise NotAllowed("not found")
    return {"entries": audit.listing(session, AUDIT, network=actor["network"], limit=limit, before=before),
            "chain": audit.verify(session, AUDIT)}


def apply_access_event(session: Session, envelope: dict) -> None:
    """`portal.personal_data_accessed`: a read or change of a referral's workflow record in the
    portal, appended to this network's audit chain (consumed once, by message id)."""
    payload = envelope["payload"]
    actor = audit.actor_of(payload.get("actor"))
    if not actor["network"] or payload.get("action") not in audit.ACTIONS:
        raise ValueError("personal_data_accessed needs the actor's network and a known action")
    log(session, actor, payload["action"], record_type=str(payload.get("record_type") or "record")[:32],
        record_id=payload.get("record_id"), record_ref=payload.get("ref"),
        fields=list(payload.get("fields") or []), purpose=payload.get("purpose") or payload["action"])
