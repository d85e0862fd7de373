"""The network's offer catalogue for reporters (issue 13): search the active offers by concern,
age, area (postcode or neighbourhood) and language, with plain descriptions and no staff data;
and the information sessions and trainings partners announce, with registration."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from netsterk import ical
from netsterk.crypto import normalise, pseudonym
from netsterk.db import utcnow
from netsterk.i18n import both, t
from netsterk.refusal import Refusal
from services.matching.catalogue_models import InfoSession, SessionRegistration
from services.matching.models import Offer, Organisation

KINDS = ("information", "training")
LOCAL = ZoneInfo("Europe/Brussels")
MAX_RESULTS = 200


def _age(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        age = int(str(value).strip())
    except ValueError:
        raise Refusal(422, both("catalogue.bad_age"), "age") from None
    if not 0 <= age <= 30:
        raise Refusal(422, both("catalogue.bad_age"), "age")
    return age


def search(session: Session, network: str, *, concern=None, age=None, area=None, language=None) -> dict:
    """Active offers of the network matching every given criterion (empty = any)."""
    if not network:
        raise Refusal(422, both("field.required"), "network")
    age = _age(age)
    concern = (concern or "").strip() or None
    language = (language or "").strip().lower() or None
    area = (area or "").strip() or None
    rows = session.execute(select(Offer, Organisation).join(Organisation).where(
        Offer.network == network, Offer.active.is_(True), Organisation.active.is_(True))
        .order_by(Organisation.name, Offer.name)).all()
    found = []
    for offer, organisation in rows:
        if concern and concern not in (offer.categories or []):
            continue
        if age is not None and not offer.min_age <= age <= offer.max_age:
            continue
        if language and language not in [l.lower() for l in offer.languages or []]:
            continue
        if area and area not in (offer.postcodes or []) and normalise(area) not in [
                normalise(n) for n in offer.neighbourhoods or []]:
            continue
        found.append({
            "offer_id": offer.id, "name": offer.name,
            "description": offer.description or organisation.description or "",
            "organisation_id": organisation.id, "organisation": organisation.name,
            "organisation_description": organisation.description or "",
            "categories": list(offer.categories or []), "min_age": offer.min_age, "max_age": offer.max_age,
            "postcodes": list(offer.postcodes or []), "neighbourhoods": list(offer.neighbourhoods or []),
            "languages": list(offer.languages or []), "school_levels": list(offer.school_levels or []),
            "how_to_reach": offer.how_to_reach or organisation.how_to_reach or "",
            "opening_hours": list(offer.opening_hours or []),
            "phone": organisation.phone, "website": organisation.website, "email": organisation.email})
    return {"network": network, "criteria": {"concern": concern, "age": age, "area": area,
                                             "language": language},
            "total": len(found), "offers": found[:MAX_RESULTS]}


def facets(session: Session, network: str) -> dict:
    """What the search form offers to choose from: concerns, languages, postcodes, neighbourhoods."""
    offers = session.scalars(select(Offer).where(Offer.network == network, Offer.active.is_(True))).all()
    pick = lambda attr: sorted({v for o in offers for v in (getattr(o, attr) or [])})  # noqa: E731
    return {"categories": pick("categories"), "languages": pick("languages"),
            "postcodes": pick("postcodes"), "neighbourhoods": pick("neighbourhoods")}


def _text(data: dict, key: str, limit: int, *, required: bool = True) -> str:
    value = data.get(key)
    value = value.strip() if isinstance(value, str) else ""
    if not value and required:
        raise Refusal(422, both("field.required"), key)
    if len(value) > limit:
        raise Refusal(422, both("wrap.too_long", limit=limit), key)
    return value


def _time(data: dict, key: str) -> datetime:
    value = _text(data, key, 40)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Refusal(422, both("wrap.bad_time"), key) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=LOCAL)).astimezone(timezone.utc)


def announce(session: Session, network: str, organisation_id: str, data: dict, by: str,
             categories: list[str] | None = None) -> dict:
    """A partner announces an information session or training for the network's professionals."""
    organisation = session.get(Organisation, str(organisation_id or ""))
    if organisation is None or organisation.network != network:
        raise Refusal(403, both("wrap.forbidden"))
    if not isinstance(data, dict):
        raise Refusal(422, both("wrap.bad_request"))
    kind = data.get("kind")
    if kind not in KINDS:
        raise Refusal(422, both("field.invalid_choice", choices=", ".join(KINDS)), "kind")
    theme = _text(data, "theme", 64)
    if categories and theme not in categories:
        raise Refusal(422, both("field.invalid_choice", choices=", ".join(categories)), "theme")
    starts, ends = _time(data, "starts_at"), _time(data, "ends_at")
    if starts <= utcnow():
        raise Refusal(422, both("catalogue.session.past"), "starts_at")
    if ends <= starts:
        raise Refusal(422, both("catalogue.session.ends_before"), "ends_at")
    try:
        capacity = int(str(data.get("capacity") or "").strip())
    except ValueError:
        capacity = 0
    if not 1 <= capacity <= 1000:
        raise Refusal(422, both("catalogue.session.capacity"), "capacity")
    row = InfoSession(id=str(uuid.uuid4()), network=network, organisation_id=organisation.id, kind=kind,
                      title=_text(data, "title", 200), theme=theme,
                      description=_text(data, "description", 4000, required=False),
                      starts_at=starts, ends_at=ends, location=_text(data, "location", 200),
                      capacity=capacity, created_by=str(by)[:200], created_at=utcnow())
    session.add(row)
    session.flush()
    return _session_view(session, row, organisation.name)


def _taken(session: Session, session_id: str) -> int:
    return session.scalar(select(func.count()).select_from(SessionRegistration).where(
        SessionRegistration.session_id == session_id)) or 0


def _session_view(session: Session, row: InfoSession, organisation_name: str) -> dict:
    taken = _taken(session, row.id)
    return {"id": row.id, "network": row.network, "organisation_id": row.organisation_id,
            "organisation": organisation_name, "kind": row.kind, "title": row.title, "theme": row.theme,
            "description": row.description, "starts_at": row.starts_at.isoformat(),
            "ends_at": row.ends_at.isoformat(), "location": row.location, "capacity": row.capacity,
            "registered": taken, "places_left": max(row.capacity - taken, 0)}


def list_sessions(session: Session, network: str, *, theme=None, upcoming: bool = True,
                  organisation_id: str | None = None) -> list[dict]:
    query = select(InfoSession, Organisation.name).join(Organisation).where(InfoSession.network == network)
    if upcoming:
        query = query.where(InfoSession.ends_at > utcnow())
    if theme:
        query = query.where(InfoSession.theme == theme)
    if organisation_id:
        query = query.where(InfoSession.organisation_id == organisation_id)
    return [_session_view(session, row, name) for row, name in
            session.execute(query.order_by(InfoSession.starts_at)).all()]


def register(session: Session, network: str, session_id: str, data: dict) -> dict:
    """A professional registers (no account): name, organisation, e-mail; once per e-mail."""
    row = session.get(InfoSession, str(session_id or ""))
    if row is None or row.network != network:
        raise Refusal(404, both("catalogue.session.not_found"))
    if not isinstance(data, dict):
        raise Refusal(422, both("wrap.bad_request"))
    if row.ends_at.replace(tzinfo=row.ends_at.tzinfo or timezone.utc) <= utcnow():
        raise Refusal(422, both("catalogue.session.over"))
    name = _text(data, "name", 200)
    organisation = _text(data, "organisation", 200)
    email = _text(data, "email", 254)
    if email.count("@") != 1 or "." not in email.rsplit("@", 1)[1] or any(c.isspace() for c in email):
        raise Refusal(422, both("catalogue.bad_email"), "email")
    if _taken(session, row.id) >= row.capacity:
        raise Refusal(422, both("catalogue.session.full"))
    try:
        with session.begin_nested():
            session.add(SessionRegistration(session_id=row.id, name=name, organisation=organisation,
                                            email=email, email_key=pseudonym(email),
                                            created_at=utcnow()))
    except IntegrityError:
        raise Refusal(422, both("catalogue.session.already"), "email") from None
    organisation_name = session.get(Organisation, row.organisation_id).name
    return _session_view(session, row, organisation_name)


def registrations(session: Session, network: str, organisation_id: str, session_id: str) -> dict:
    """The partner that announced the session sees who registered."""
    row = session.get(InfoSession, str(session_id or ""))
    if row is None or row.network != network or row.organisation_id != organisation_id:
        raise Refusal(404, both("catalogue.session.not_found"))
    people = session.scalars(select(SessionRegistration).where(
        SessionRegistration.session_id == row.id).order_by(SessionRegistration.id)).all()
    organisation_name = session.get(Organisation, row.organisation_id).name
    return {**_session_view(session, row, organisation_name),
            "registrations": [{"name": p.name, "organisation": p.organisation, "email": p.email,
                               "at": p.created_at.isoformat()} for p in people]}


def registration_mail(session: Session, network: str, session_id: str, email: str) -> dict | None:
    """The confirmation of a registration: an e-mail with the session as a calendar invitation
    (METHOD:REQUEST, the announcing organisation as organizer), for notifications.send_invitation."""
    row = session.get(InfoSession, str(session_id or ""))
    person = session.scalar(select(SessionRegistration).where(
        SessionRegistration.session_id == str(session_id or ""), SessionRegistration.email_key == pseudonym(email)))
    if row is None or row.network != network or person is None:
        return None
    organisation = session.get(Organisation, row.organisation_id)
    start = row.starts_at if row.starts_at.tzinfo else row.starts_at.replace(tzinfo=timezone.utc)
    end = row.ends_at if row.ends_at.tzinfo else row.ends_at.replace(tzinfo=timezone.utc)
    ics = ical.invitation([ical.Event(uid=f"session-{row.id}@netsterk", start=start, end=end,
                                      summary=row.title, description=row.description, location=row.location,
                                      status="CONFIRMED", attendees=[(person.email, person.name)])],
                          organizer=organisation.email)
    when = start.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
    body = "\n\n".join(t("catalogue.session.mail_body", lng, name=person.name, title=row.title, when=when,
                          location=row.location, organisation=organisation.name) for lng in ("nl", "en"))
    return {"idempotency_key": f"session:{row.id}:{person.email_key}", "to": person.email, "lang": "nl",
            "subject": f"{t('catalogue.session.mail_subject', 'nl', title=row.title)} / "
                       f"{t('catalogue.session.mail_subject', 'en', title=row.title)}",
            "body": body, "ics": ics, "method": "REQUEST", "network": network,
            "referral_ref": f"session-{row.id[:8]}", "correlation_id": None}

