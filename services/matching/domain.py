"""matching's use cases on its own database: import the directory, rank offers, record gaps."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.matching import ranking
from services.matching.models import Gap, Offer, Organisation
from services.matching.schemas import (
    InvalidDirectory, InvalidRankRequest, validate_directory, validate_rank_request,
)


def import_directory(session: Session, network, organisations) -> dict:
    """Upsert organisations and their offers by id. Offers of an imported organisation that the
    import no longer lists are deactivated. All or nothing: any bad entry changes nothing."""
    clean = validate_directory(network, organisations)
    problems = []
    org_ids = [org["id"] for org in clean]
    offer_ids = {offer["id"]: org["id"] for org in clean for offer in org["offers"]}
    existing_orgs = {o.id: o for o in session.scalars(
        select(Organisation).where(Organisation.id.in_(org_ids)))} if org_ids else {}
    existing_offers = {o.id: o for o in session.scalars(
        select(Offer).where(Offer.id.in_(list(offer_ids))))} if offer_ids else {}
    for org_id, org in existing_orgs.items():
        if org.network != network:
            problems.append(f"organisation {org_id} belongs to another network")
    for offer_id, offer in existing_offers.items():
        if offer.organisation_id != offer_ids[offer_id]:
            problems.append(f"offer {offer_id} belongs to another organisation")
    if problems:
        raise InvalidDirectory(problems)

    offer_count = 0
    for data in clean:
        org = existing_orgs.get(data["id"])
        if org is None:
            org = Organisation(id=data["id"], network=network)
            session.add(org)
        org.name, org.kind, org.email, org.active = data["name"], data["kind"], data["email"], data["active"]
        listed = set()
        for offer_data in data["offers"]:
            offer = existing_offers.get(offer_data["id"])
            if offer is None:
                offer = Offer(id=offer_data["id"], organisation_id=data["id"], network=network)
                session.add(offer)
            for key, value in offer_data.items():
                if key != "id":
                    setattr(offer, key, value)
            listed.add(offer_data["id"])
            offer_count += 1
        session.flush()
        for stale in session.scalars(select(Offer).where(
                Offer.organisation_id == data["id"], Offer.id.not_in(listed or {""}))):
            stale.active = False
    return {"organisations": len(clean), "offers": offer_count}


def _offer_view(offer: Offer, org: Organisation) -> dict:
    return {
        "offer_id": offer.id, "offer_name": offer.name, "organisation_id": org.id,
        "organisation_name": org.name, "organisation_kind": org.kind, "contact_email": org.email,
        "categories": list(offer.categories), "postcodes": list(offer.postcodes),
        "languages": list(offer.languages), "min_age": offer.min_age, "max_age": offer.max_age,
        "school_levels": list(offer.school_levels), "capacity": offer.capacity,
        "active": offer.active and org.active,
    }


def offers_of(session: Session, network: str, *, only_active: bool) -> list[dict]:
    query = (select(Offer, Organisation).join(Organisation, Offer.organisation_id == Organisation.id)
             .where(Offer.network == network).order_by(Organisation.name, Offer.name, Offer.id))
    if only_active:
        query = query.where(Offer.active.is_(True), Organisation.active.is_(True))
    return [_offer_view(offer, org) for offer, org in session.execute(query)]


def list_offers(session: Session, network) -> list[dict]:
    if not isinstance(network, str) or not network.strip():
        raise InvalidRankRequest(["network must be a non-empty code"])
    return offers_of(session, network, only_active=False)


def rank_offers(session: Session, request) -> list[dict]:
    """Ranked candidates; when there are none the need is recorded as a gap."""
    clean = validate_rank_request(request)
    candidates = ranking.rank(clean, offers_of(session, clean["network"], only_active=True))
    if not candidates:
        session.add(Gap(network=clean["network"], categories=clean["categories"],
                        postcode=clean["postcode"]))
    return candidates


def list_gaps(session: Session, network) -> list[dict]:
    if not isinstance(network, str) or not network.strip():
        raise InvalidRankRequest(["network must be a non-empty code"])
    rows = session.scalars(select(Gap).where(Gap.network == network).order_by(Gap.at, Gap.id))
    return [{"network": g.network, "categories": list(g.categories), "postcode": g.postcode,
             "at": g.at.isoformat()} for g in rows]
