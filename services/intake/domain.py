"""Intake's one write path: store a referral and its `referral_submitted` event in one
transaction (the outbox relays the event after commit)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from netsterk import contracts
from netsterk.crypto import pseudonym
from netsterk.db import add_to_outbox, utcnow
from netsterk.envelope import make_envelope
from services.intake.models import Network, Outbox, RefCounter, Referral


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
        session.add(RefCounter(year=year, last=1))
        session.flush()
        number = 1
    return f"NS-{year}-{number:06d}"


def submit_referral(session: Session, clean: dict, *, now: datetime | None = None) -> Referral:
    now = now or utcnow()
    referral = Referral(
        id=str(uuid.uuid4()), ref=next_ref(session, now.year), network=clean["network"],
        channel=clean["channel"], state="submitted", lang=clean["lang"],
        reporter_name=clean["reporter_name"], reporter_organisation=clean["reporter_organisation"],
        reporter_role=clean["reporter_role"], reporter_email=clean["reporter_email"],
        reporter_phone=clean["reporter_phone"], reporter_is_school=clean["reporter_is_school"],
        school_email=clean["school_email"],
        first_name=clean["first_name"], last_name=clean["last_name"],
        birth_date=clean["birth_date"], age=clean["age"], school=clean["school"],
        school_level=clean["school_level"], postcode=clean["postcode"],
        languages=clean["languages"],
        person_key=pseudonym(clean["first_name"], clean["last_name"], clean["birth_date"] or ""),
        categories=clean["categories"], description=clean["description"],
        school_efforts=clean["school_efforts"], urgency=clean["urgency"],
        correlation_id=str(uuid.uuid4()), created_at=now,
    )
    session.add(referral)
    session.flush()
    add_to_outbox(session, Outbox, contracts.INTAKE, submitted_event(referral, clean))
    return referral


def submitted_event(referral: Referral, clean: dict) -> dict:
    payload = {
        "referral_id": referral.id, "ref": referral.ref, "network": referral.network,
        "channel": referral.channel, "categories": list(referral.categories),
        "postcode": referral.postcode, "age": referral.age, "school_level": referral.school_level,
        "languages": list(referral.languages), "urgency": referral.urgency,
        "school_efforts_done": bool(referral.school_efforts),
        "reporter_email": clean["reporter_email"], "reporter_lang": referral.lang,
        "school_email": referral.school_email,
        "submitted_at": referral.created_at.isoformat(),
    }
    return make_envelope(contracts.REFERRAL_SUBMITTED, payload, network=referral.network,
                         referral_ref=referral.ref, correlation_id=referral.correlation_id)


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
