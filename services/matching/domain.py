"""matching's use cases on its own database: the directory (import, entries, partners' pending
changes), the capacity picture (reservations, engagement facts), ranking with exclusions and
rules per network, and the gaps."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from netsterk.contracts import MATCHING
from netsterk.db import add_to_outbox, delete_rows, utcnow
from netsterk.envelope import make_envelope
from services.matching import ranking
from services.matching.models import (
    DirectoryVersion, Engagement, Gap, NetworkRules, Offer, Organisation, Outbox, PendingChange,
    ReferralSubject, Staff,
)
from services.matching.schemas import (
    DEFAULT_RULES, InvalidDirectory, InvalidRankRequest, clean_organisation,
    validate_directory, validate_engagement, validate_organisation, validate_rank_request,
    validate_rules,
)

GAP_RECORDED = "gap_recorded"
OPEN_STATUSES = ("proposed", "accepted")
TRIED_STATUSES = ("declined", "ended")


class NoFreePlace(Exception):
    """reserve_place: the offer's capacity of this period is taken (or it is closed)."""


class UnknownOffer(ValueError):
    """An offer id that is not in this network's directory."""


class UnknownChange(ValueError):
    """A pending change id that is not pending in this network."""


def _network(network) -> str:
    if not isinstance(network, str) or not network.strip():
        raise InvalidRankRequest(["network must be a non-empty code"])
    return network


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


# --- capacity periods ------------------------------------------------------------------------

def period_start(period: str, today: date) -> date:
    if period == "week":
        return today - timedelta(days=today.weekday())
    if period == "quarter":
        return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return today.replace(day=1)


def period_end(period: str, today: date) -> date:
    """The last day of the period `today` is in."""
    start = period_start(period, today)
    if period == "week":
        return start + timedelta(days=6)
    months = 3 if period == "quarter" else 1
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def free_places(offer: Offer, today: date) -> int:
    if offer.full_until is not None and offer.full_until >= today:
        return 0
    taken = offer.taken if offer.period_start == period_start(offer.capacity_period, today) else 0
    return max(0, offer.capacity - taken)


# --- the version that invalidates prepared ranking indexes ------------------------------------

def bump_version(session: Session, network: str) -> None:
    result = session.execute(update(DirectoryVersion).where(DirectoryVersion.network == network)
                             .values(version=DirectoryVersion.version + 1))
    if result.rowcount == 0:
        try:
            with session.begin_nested():
                session.add(DirectoryVersion(network=network, version=1))
        except IntegrityError:
            session.execute(update(DirectoryVersion).where(DirectoryVersion.network == network)
                            .values(version=DirectoryVersion.version + 1))


def current_version(session: Session, network: str) -> int:
    return session.scalar(select(DirectoryVersion.version).where(DirectoryVersion.network == network)) or 0


# --- directory -------------------------------------------------------------------------------

def _apply_organisation(session: Session, network: str, data: dict, *, keep_staff: bool) -> int:
    org = session.get(Organisation, data["id"])
    if org is None:
        org = Organisation(id=data["id"], network=network)
        session.add(org)
    for key in ("name", "kind", "email", "active", "description", "phone", "website",
                "how_to_reach", "last_confirmed"):
        setattr(org, key, data[key])
    org.updated_at = utcnow()
    listed = set()
    for offer_data in data["offers"]:
        offer = session.get(Offer, offer_data["id"])
        if offer is None:
            offer = Offer(id=offer_data["id"], organisation_id=data["id"], network=network, taken=0)
            session.add(offer)
        for key, value in offer_data.items():
            if key != "id":
                setattr(offer, key, value)
        offer.updated_at = utcnow()
        listed.add(offer_data["id"])
    session.flush()
    for stale in session.scalars(select(Offer).where(
            Offer.organisation_id == data["id"], Offer.id.not_in(listed or {""}))):
        stale.active = False
    if not keep_staff:
        kept = set()
        for person in data["staff"]:
            staff = session.get(Staff, person["id"])
            if staff is None:
                staff = Staff(id=person["id"], organisation_id=data["id"], network=network)
                session.add(staff)
            for key in ("name", "phone", "email", "languages", "offer_ids", "active"):
                setattr(staff, key, person[key])
            kept.add(person["id"])
        session.flush()
        for gone in session.scalars(select(Staff).where(
                Staff.organisation_id == data["id"], Staff.id.not_in(kept or {""}))):
            gone.active = False
    return len(data["offers"])


def _check_ownership(session: Session, network: str, clean: list[dict]) -> None:
    problems = []
    org_ids = [org["id"] for org in clean]
    offers = {offer["id"]: org["id"] for org in clean for offer in org["offers"]}
    staff = {person["id"]: org["id"] for org in clean for person in org["staff"]}
    if org_ids:
        for org in session.scalars(select(Organisation).where(Organisation.id.in_(org_ids))):
            if org.network != network:
                problems.append(f"organisation {org.id} belongs to another network")
    if offers:
        for offer in session.scalars(select(Offer).where(Offer.id.in_(list(offers)))):
            if offer.organisation_id != offers[offer.id]:
                problems.append(f"offer {offer.id} belongs to another organisation")
    if staff:
        for person in session.scalars(select(Staff).where(Staff.id.in_(list(staff)))):
            if person.organisation_id != staff[person.id]:
                problems.append(f"staff {person.id} belongs to another organisation")
    if problems:
        raise InvalidDirectory(problems)


def import_directory(session: Session, network, organisations, *, keep_staff: bool = False) -> dict:
    """Upsert organisations, their offers and staff by id. Offers (and staff) of an imported
    organisation that the import no longer lists are deactivated. All or nothing: any bad entry
    changes nothing. `keep_staff`: leave staff as they are (imports without staff, e.g. CSV)."""
    clean = validate_directory(network, organisations)
    _check_ownership(session, network, clean)
    offer_count = sum(_apply_organisation(session, network, data, keep_staff=keep_staff) for data in clean)
    bump_version(session, network)
    return {"organisations": len(clean), "offers": offer_count}


def _offer_entry(offer: Offer) -> dict:
    return {
        "id": offer.id, "name": offer.name, "description": offer.description or "",
        "categories": list(offer.categories), "postcodes": list(offer.postcodes),
        "neighbourhoods": list(offer.neighbourhoods or []), "languages": list(offer.languages),
        "min_age": offer.min_age, "max_age": offer.max_age,
        "school_levels": list(offer.school_levels), "capacity": offer.capacity,
        "capacity_period": offer.capacity_period, "waiting_list": offer.waiting_list,
        "opening_hours": list(offer.opening_hours or []), "how_to_reach": offer.how_to_reach or "",
        "last_confirmed": offer.last_confirmed.isoformat() if offer.last_confirmed else None,
        "active": offer.active,
    }


def _organisation_entry(org: Organisation, offers: list[Offer], staff: list[Staff]) -> dict:
    return {
        "id": org.id, "name": org.name, "kind": org.kind, "email": org.email, "active": org.active,
        "description": org.description or "", "phone": org.phone, "website": org.website,
        "how_to_reach": org.how_to_reach or "",
        "last_confirmed": org.last_confirmed.isoformat() if org.last_confirmed else None,
        "offers": [_offer_entry(o) for o in offers],
        "staff": [{"id": s.id, "name": s.name, "phone": s.phone, "email": s.email,
                   "languages": list(s.languages), "offer_ids": list(s.offer_ids), "active": s.active}
                  for s in staff if s.active],
    }


def export_directory(session: Session, network) -> list[dict]:
    """Every organisation of the network as an import entry (the inverse of import_directory)."""
    _network(network)
    orgs = session.scalars(select(Organisation).where(Organisation.network == network)
                           .order_by(Organisation.name, Organisation.id)).all()
    offers, staff = {}, {}
    for offer in session.scalars(select(Offer).where(Offer.network == network).order_by(Offer.name, Offer.id)):
        offers.setdefault(offer.organisation_id, []).append(offer)
    for person in session.scalars(select(Staff).where(Staff.network == network).order_by(Staff.id)):
        staff.setdefault(person.organisation_id, []).append(person)
    return [_organisation_entry(org, offers.get(org.id, []), staff.get(org.id, [])) for org in orgs]


def organisation_entry(session: Session, network: str, organisation_id: str) -> dict | None:
    org = session.get(Organisation, organisation_id)
    if org is None or org.network != network:
        return None
    offers = session.scalars(select(Offer).where(Offer.organisation_id == org.id)
                             .order_by(Offer.name, Offer.id)).all()
    staff = session.scalars(select(Staff).where(Staff.organisation_id == org.id).order_by(Staff.id)).all()
    return _organisation_entry(org, offers, staff)


def list_offers(session: Session, network) -> list[dict]:
    return offer_views(session, _network(network))


# --- the ranking index -------------------------------------------------------------------------

def offer_views(session: Session, network: str, *, today: date | None = None) -> list[dict]:
    """Every offer of the network with its organisation, free places, load and staff languages."""
    today = today or date.today()
    load = dict(session.execute(
        select(Engagement.offer_id, func.count()).where(Engagement.network == network,
                                                        Engagement.status == "accepted")
        .group_by(Engagement.offer_id)).all())
    staff_langs: dict[str, set] = {}
    for offer_ids, languages in session.execute(
            select(Staff.offer_ids, Staff.languages).where(Staff.network == network, Staff.active.is_(True))):
        for offer_id in offer_ids or []:
            staff_langs.setdefault(offer_id, set()).update(languages or [])
    views = []
    query = (select(Offer, Organisation).join(Organisation, Offer.organisation_id == Organisation.id)
             .where(Offer.network == network).order_by(Organisation.name, Offer.name, Offer.id))
    for offer, org in session.execute(query):
        views.append({
            "offer_id": offer.id, "offer_name": offer.name, "organisation_id": org.id,
            "organisation_name": org.name, "organisation_kind": org.kind, "contact_email": org.email,
            "categories": list(offer.categories), "postcodes": list(offer.postcodes),
            "neighbourhoods": list(offer.neighbourhoods or []),
            "languages": list(offer.languages), "staff_languages": sorted(staff_langs.get(offer.id, ())),
            "min_age": offer.min_age, "max_age": offer.max_age,
            "school_levels": list(offer.school_levels), "capacity": offer.capacity,
            "capacity_period": offer.capacity_period, "waiting_list": offer.waiting_list,
            "free_places": free_places(offer, today), "load": load.get(offer.id, 0),
            "last_confirmed": offer.last_confirmed.isoformat() if offer.last_confirmed else None,
            "active": offer.active and org.active,
        })
    return views


_INDEXES: dict[tuple[str, str], tuple[int, date, dict, dict]] = {}


def ranking_input(session: Session, network: str) -> tuple[dict, dict]:
    """(prepared index, rules) of the network; rebuilt only when the network's version moved
    (or the day changed: capacity periods roll over)."""
    key = (str(session.get_bind().url), network)
    version, today = current_version(session, network), date.today()
    cached = _INDEXES.get(key)
    if cached and cached[0] == version and cached[1] == today:
        return cached[2], cached[3]
    index = ranking.build_index(offer_views(session, network, today=today))
    rules = get_rules(session, network)
    _INDEXES[key] = (version, today, index, rules)
    return index, rules


# --- exclusion (DESIGN §6) -----------------------------------------------------------------------

def exclusions(session: Session, clean: dict) -> dict[str, str]:
    """organisation id -> reason code for organisations that must not be proposed."""
    excluded = {org_id: "already_engaged" for org_id in clean["exclude_organisation_ids"]}
    referral_id = clean.get("referral_id")
    if referral_id:
        for (org_id,) in session.execute(select(Engagement.organisation_id).where(
                Engagement.referral_id == referral_id, Engagement.status.in_(TRIED_STATUSES))):
            excluded.setdefault(org_id, "all_declined")
    keys = [(ReferralSubject.person_key, clean.get("person_key")),
            (ReferralSubject.household_key, clean.get("household_key"))]
    conditions = [column == value for column, value in keys if value]
    if conditions:
        query = (select(Engagement.organisation_id, ReferralSubject.categories)
                 .join(ReferralSubject, ReferralSubject.referral_id == Engagement.referral_id)
                 .where(or_(*conditions), Engagement.network == clean["network"],
                        Engagement.status.in_(OPEN_STATUSES)))
        if referral_id:
            query = query.where(Engagement.referral_id != referral_id)
        wanted = set(clean["categories"])
        for org_id, categories in session.execute(query):
            if wanted & set(categories or []):
                excluded[org_id] = "already_engaged"
    return excluded


def _remember(session: Session, clean: dict) -> None:
    if not clean.get("referral_id"):
        return
    subject = session.get(ReferralSubject, clean["referral_id"])
    if subject is None:
        subject = ReferralSubject(referral_id=clean["referral_id"])
        session.add(subject)
    subject.network, subject.person_key = clean["network"], clean.get("person_key")
    subject.household_key, subject.categories = clean.get("household_key"), clean["categories"]
    subject.request = {k: v for k, v in clean.items() if k not in ("person_key", "household_key")}
    subject.ranked_at = utcnow()


def _referral_of(envelope: dict) -> str:
    referral_id = (envelope.get("payload") or {}).get("referral_id")
    if not isinstance(referral_id, str) or not referral_id:
        raise ValueError(f"{envelope.get('type')} needs a referral_id")
    return referral_id


def anonymise_subject(session: Session, envelope: dict) -> None:
    """`referral_anonymise` (retention ended): the ranked referral keeps no pseudonymous person
    or household key (nobody can be linked to it any more). Idempotent."""
    subject = session.get(ReferralSubject, _referral_of(envelope))
    if subject is not None:
        subject.person_key = subject.household_key = None


def erase_referral(session: Session, envelope: dict) -> dict:
    """`intake.referral_erased`: what matching keyed to the referral goes (its ranked facts, its
    engagements); the gaps it revealed stay as directory facts without the referral. The places
    already counted in an offer's period stay taken. Idempotent; returns {table: rows}."""
    referral_id = _referral_of(envelope)
    networks = set(session.scalars(select(Engagement.network).where(Engagement.referral_id == referral_id)))
    removed = {
        "referral_subject": delete_rows(session, ReferralSubject, ReferralSubject.referral_id == referral_id),
        "engagement": delete_rows(session, Engagement, Engagement.referral_id == referral_id),
        "gap": session.execute(update(Gap).where(Gap.referral_id == referral_id)
                               .values(referral_id=None)).rowcount or 0,
    }
    for network in networks:   # the ranking input changed (load, exclusions)
        bump_version(session, network)
    return removed


def rank_offers(session: Session, request) -> list[dict]:
    """Ranked candidates; when there are none the need is recorded as a gap (and announced)."""
    clean = validate_rank_request(request)
    index, rules = ranking_input(session, clean["network"])
    excluded = exclusions(session, clean)
    candidates, diagnosis = ranking.rank(clean, index, rules, excluded=excluded)
    _remember(session, clean)
    if not candidates:
        record_gap(session, clean, ranking.gap_reason(diagnosis), diagnosis)
    return candidates


# --- gaps --------------------------------------------------------------------------------------

def age_band(age: int | None) -> str | None:
    if age is None:
        return None
    for low, high in ((6, 11), (12, 15), (16, 18), (19, 25)):
        if low <= age <= high:
            return f"{low}-{high}"
    return "other"


def record_gap(session: Session, clean: dict, reason: str, diagnosis: dict) -> Gap | None:
    """Store a gap and put `matching.gap_recorded` in the outbox; once per referral and reason."""
    if clean.get("referral_id") and session.scalar(select(Gap.id).where(
            Gap.referral_id == clean["referral_id"], Gap.reason == reason)):
        return None
    detail = (f"{diagnosis['considered']} offer(s) share a concern; excluded: "
              f"{dict(diagnosis['excluded']) or 0}; failed: {dict(diagnosis['failed']) or 0}")
    gap = Gap(network=clean["network"], categories=clean["categories"], postcode=clean["postcode"],
              neighbourhood=clean.get("neighbourhood"), age=clean["age"],
              school_level=clean["school_level"], reason=reason, detail=detail,
              referral_id=clean.get("referral_id"), at=utcnow())
    session.add(gap)
    session.flush()
    payload = {"gap_id": gap.id, "referral_id": gap.referral_id, "network": gap.network,
               "categories": list(gap.categories), "postcode": gap.postcode,
               "neighbourhood": gap.neighbourhood, "age": gap.age, "age_band": age_band(gap.age),
               "school_level": gap.school_level, "reason": reason, "detail": detail,
               "at": gap.at.isoformat()}
    add_to_outbox(session, Outbox, MATCHING, make_envelope(GAP_RECORDED, payload, network=gap.network))
    return gap


def list_gaps(session: Session, network) -> list[dict]:
    rows = session.scalars(select(Gap).where(Gap.network == _network(network)).order_by(Gap.at, Gap.id))
    return [{"id": g.id, "network": g.network, "categories": list(g.categories), "postcode": g.postcode,
             "neighbourhood": g.neighbourhood, "age": g.age, "age_band": age_band(g.age),
             "school_level": g.school_level, "reason": g.reason, "detail": g.detail,
             "referral_id": g.referral_id, "at": as_utc(g.at).isoformat()} for g in rows]


# --- capacity: reservations and engagement facts -------------------------------------------------

def _roll_period(session: Session, offer_id: str, start: date) -> None:
    session.execute(update(Offer).where(Offer.id == offer_id, or_(
        Offer.period_start.is_(None), Offer.period_start != start)).values(period_start=start, taken=0))


def reserve_place(session: Session, network, offer_id, referral_id, *, today: date | None = None) -> dict:
    """Take one place of the offer's current period for this referral. Atomic: the check and the
    increment are one conditional UPDATE, so concurrent accepts never overbook."""
    _network(network)
    if not isinstance(referral_id, str) or not referral_id.strip() or len(referral_id) > 64:
        raise InvalidRankRequest(["referral_id must be a non-empty id"])
    today = today or date.today()
    offer = session.get(Offer, offer_id) if isinstance(offer_id, str) else None
    if offer is None or offer.network != network:
        raise UnknownOffer(f"offer {offer_id!r} is not in the directory of {network}")
    engagement = session.scalar(select(Engagement).where(
        Engagement.referral_id == referral_id, Engagement.offer_id == offer_id))
    if engagement is not None and engagement.counted:
        session.refresh(offer)
        return {"reserved": True, "offer_id": offer_id, "free_places": free_places(offer, today)}
    start = period_start(offer.capacity_period, today)
    _roll_period(session, offer_id, start)
    taken = session.execute(update(Offer).where(
        Offer.id == offer_id, Offer.period_start == start, Offer.taken < Offer.capacity,
        or_(Offer.full_until.is_(None), Offer.full_until < today))
        .values(taken=Offer.taken + 1))
    if taken.rowcount != 1:
        raise NoFreePlace(f"offer {offer_id} has no free place left this {offer.capacity_period}")
    if engagement is None:
        engagement = Engagement(referral_id=referral_id, offer_id=offer_id, status="accepted",
                                organisation_id=offer.organisation_id, network=network, at=utcnow())
        session.add(engagement)
    engagement.status, engagement.counted, engagement.at = "accepted", True, utcnow()
    session.flush()
    bump_version(session, network)
    session.refresh(offer)
    return {"reserved": True, "offer_id": offer_id, "free_places": free_places(offer, today)}


def apply_engagement(session: Session, envelope: dict, *, today: date | None = None) -> None:
    """One `referral_workflow.engagement_changed` fact. Older facts change nothing; an accepted
    engagement takes a place (unless reserve_place took it already); a decline `no_capacity`
    closes the offer for the rest of its period."""
    payload = validate_engagement(envelope["payload"])
    today = today or date.today()
    try:
        at = as_utc(datetime.fromisoformat(payload["at"]))
    except ValueError:
        raise ValueError("invalid engagement_changed payload: at must be an ISO 8601 time") from None
    engagement = session.scalar(select(Engagement).where(
        Engagement.referral_id == payload["referral_id"], Engagement.offer_id == payload["offer_id"]))
    if engagement is not None and as_utc(engagement.at) > at:
        return
    offer = session.get(Offer, payload["offer_id"])
    organisation_id = payload.get("organisation_id") or (offer.organisation_id if offer else None)
    if organisation_id is None:
        return   # an offer matching never listed and no organisation: nothing to count or exclude
    if engagement is None:
        engagement = Engagement(referral_id=payload["referral_id"], offer_id=payload["offer_id"],
                                organisation_id=organisation_id, network=payload["network"],
                                counted=False, status=payload["status"], at=at)
        session.add(engagement)
    status = payload["status"]
    if status == "accepted" and not engagement.counted and offer is not None:
        start = period_start(offer.capacity_period, today)
        _roll_period(session, offer.id, start)
        session.execute(update(Offer).where(Offer.id == offer.id).values(taken=Offer.taken + 1))
        engagement.counted = True
    if status == "declined" and payload.get("reason_code") == "no_capacity" and offer is not None:
        offer.full_until = period_end(offer.capacity_period, today)
    engagement.status, engagement.reason_code, engagement.at = status, payload.get("reason_code"), at
    session.flush()
    bump_version(session, payload["network"])


def capacity_picture(session: Session, network) -> list[dict]:
    """Per offer: capacity, free places, load, waiting list, declines by reason."""
    declines: dict[str, dict] = {}
    for offer_id, reason, count in session.execute(
            select(Engagement.offer_id, Engagement.reason_code, func.count())
            .where(Engagement.network == _network(network), Engagement.status == "declined")
            .group_by(Engagement.offer_id, Engagement.reason_code)):
        declines.setdefault(offer_id, {})[reason or "other"] = count
    return [{"offer_id": v["offer_id"], "offer_name": v["offer_name"],
             "organisation_name": v["organisation_name"], "capacity": v["capacity"],
             "capacity_period": v["capacity_period"], "free_places": v["free_places"],
             "load": v["load"], "waiting_list": v["waiting_list"],
             "declines": declines.get(v["offer_id"], {})}
            for v in offer_views(session, network) if v["active"]]


# --- rules per network ---------------------------------------------------------------------------

def get_rules(session: Session, network) -> dict:
    row = session.get(NetworkRules, _network(network))
    return validate_rules(row.rules) if row else validate_rules(DEFAULT_RULES)


def set_rules(session: Session, network, rules, by) -> dict:
    clean = validate_rules(rules)
    row = session.get(NetworkRules, _network(network))
    if row is None:
        row = NetworkRules(network=network)
        session.add(row)
    row.rules, row.updated_by, row.updated_at = clean, str(by)[:64], utcnow()
    bump_version(session, network)
    return clean


def _top(candidates: list[dict], n: int = 3) -> list[dict]:
    return [{"offer_id": c["offer_id"], "offer_name": c["offer_name"],
             "organisation_name": c["organisation_name"], "score": c["score"]} for c in candidates[:n]]


def preview_rules(session: Session, network, rules, limit=20) -> dict:
    """How the recent referrals would rank under `rules`, next to the current rules (against
    today's directory and capacity). Changes nothing."""
    proposed = validate_rules(rules)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 200:
        limit = 20
    index, current = ranking_input(session, _network(network))
    subjects = session.scalars(select(ReferralSubject).where(ReferralSubject.network == network)
                               .order_by(ReferralSubject.ranked_at.desc()).limit(limit)).all()
    rows, changed, gaps_before, gaps_after = [], 0, 0, 0
    for subject in subjects:
        request = validate_rank_request(subject.request)
        excluded = {o: "already_engaged" for o in request["exclude_organisation_ids"]}
        before, _ = ranking.rank(request, index, current, excluded=excluded)
        after, _ = ranking.rank(request, index, proposed, excluded=excluded)
        different = [c["offer_id"] for c in before] != [c["offer_id"] for c in after]
        changed += different
        gaps_before += not before
        gaps_after += not after
        rows.append({"referral_id": subject.referral_id, "ranked_at": as_utc(subject.ranked_at).isoformat(),
                     "categories": list(subject.categories), "postcode": request["postcode"],
                     "age": request["age"], "before": _top(before), "after": _top(after),
                     "changed": different})
    return {"network": network, "referrals": len(rows), "changed": changed,
            "gaps_before": gaps_before, "gaps_after": gaps_after, "rows": rows,
            "current": current, "proposed": proposed}


# --- partners' own entries, approved by the network admin ---------------------------------------

def propose_change(session: Session, network, organisation_id, entry, by) -> dict:
    """A partner's new version of its own entry (offers, staff, hours, capacity...). It waits for
    the network admin; an earlier pending proposal of the same organisation is superseded."""
    network = _network(network)
    org = session.get(Organisation, organisation_id) if isinstance(organisation_id, str) else None
    if org is None or org.network != network:
        raise InvalidDirectory([f"organisation {organisation_id!r} is not in the directory of {network}"])
    if not isinstance(entry, dict):
        raise InvalidDirectory(["entry must be an object"])
    entry = dict(entry, id=org.id, kind=org.kind)
    problems = validate_organisation(entry, f"organisation {org.id}")
    if problems:
        raise InvalidDirectory(problems)
    clean = clean_organisation(entry)
    _check_ownership(session, network, [clean])
    for earlier in session.scalars(select(PendingChange).where(
            PendingChange.organisation_id == org.id, PendingChange.status == "pending")):
        earlier.status = "superseded"
    change = PendingChange(network=network, organisation_id=org.id, status="pending",
                           entry=json.dumps(clean, default=str), submitted_by=str(by)[:64],
                           submitted_at=utcnow(), note="")
    session.add(change)
    session.flush()
    return {"id": change.id, "status": change.status, "organisation_id": org.id}


def _differences(current: dict | None, proposed: dict) -> list[str]:
    """Field paths that differ, e.g. `offers[arktos-naft].capacity`, `staff[s1]`."""
    if current is None:
        return ["*"]
    out = []
    for key in ("name", "email", "description", "phone", "website", "how_to_reach", "active"):
        if (current.get(key) or None) != (proposed.get(key) or None):
            out.append(key)
    old = {o["id"]: o for o in current["offers"]}
    for offer in proposed["offers"]:
        before = old.pop(offer["id"], None)
        if before is None:
            out.append(f"offers[{offer['id']}] (new)")
            continue
        for key, value in offer.items():
            if key != "last_confirmed" and (before.get(key) or None) != (value or None):
                out.append(f"offers[{offer['id']}].{key}")
    out.extend(f"offers[{offer_id}] (removed)" for offer_id, o in old.items() if o["active"])
    old_staff = {s["id"]: s for s in current["staff"]}
    for person in proposed["staff"]:
        before = old_staff.pop(person["id"], None)
        if before != person:
            out.append(f"staff[{person['id']}]" + (" (new)" if before is None else ""))
    out.extend(f"staff[{staff_id}] (removed)" for staff_id in old_staff)
    return out


def list_changes(session: Session, network, status="pending") -> list[dict]:
    query = select(PendingChange).where(PendingChange.network == _network(network))
    if status:
        query = query.where(PendingChange.status == status)
    rows = []
    for change in session.scalars(query.order_by(PendingChange.submitted_at, PendingChange.id)):
        proposed = json.loads(change.entry)
        current = organisation_entry(session, network, change.organisation_id)
        rows.append({"id": change.id, "organisation_id": change.organisation_id,
                     "organisation_name": proposed["name"], "status": change.status,
                     "submitted_by": change.submitted_by,
                     "submitted_at": as_utc(change.submitted_at).isoformat(),
                     "decided_by": change.decided_by, "note": change.note,
                     "entry": proposed, "changes": _differences(current, proposed)})
    return rows


def decide_change(session: Session, network, change_id, approve, by, note="") -> dict:
    """The network admin approves (applied now, last confirmed today) or rejects a change."""
    change = session.get(PendingChange, change_id) if isinstance(change_id, int) else None
    if change is None or change.network != _network(network) or change.status != "pending":
        raise UnknownChange(f"change {change_id!r} is not pending in {network}")
    if not isinstance(approve, bool):
        raise InvalidDirectory(["approve must be true or false"])
    if approve:
        data = json.loads(change.entry)
        today = date.today().isoformat()
        data["last_confirmed"] = today
        for offer in data["offers"]:
            offer["last_confirmed"] = today
        clean = validate_directory(network, [data])
        _check_ownership(session, network, clean)
        _apply_organisation(session, network, clean[0], keep_staff=False)
        bump_version(session, network)
    change.status = "approved" if approve else "rejected"
    change.decided_by, change.decided_at = str(by)[:64], utcnow()
    change.note = (note or "")[:2000] if isinstance(note, str) else ""
    return {"id": change.id, "status": change.status, "organisation_id": change.organisation_id}
