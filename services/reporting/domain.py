"""reporting's use cases: take in events (log, then facts), rebuild from the log, count.

Every consumed event is first reduced to the fields reporting may keep (no names, no contact
data, no free text), then applied to the facts, then appended to `event_log` with whatever the
application derived (the repeat number of a referral), all in one transaction. `rebuild` wipes
the facts and cells and replays the log through the same functions."""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from netsterk import contracts
from netsterk.contracts import STATES
from netsterk.db import delete_rows
from services.reporting import facts
from services.reporting.facts import as_utc
from services.reporting.models import (
    EngagementFact, EventLog, GapFact, ReferralFact, ReportCell, StageFact, TransitionFact,
)

SUBMITTED = "submitted"
ENGAGEMENT_CHANGED = "engagement_changed"     # referral_workflow, docs/contracts.md
GAP_RECORDED = "gap_recorded"                 # matching, docs/contracts.md
ANONYMISE = contracts.REFERRAL_ANONYMISE if hasattr(contracts, "REFERRAL_ANONYMISE") else "referral_anonymise"

ENGAGEMENT_STATUSES = ("proposed", "accepted", "declined", "ended")
DECLINE_REASONS = ("no_capacity", "outside_area", "not_our_expertise", "family_unreachable", "other")
END_OUTCOMES = ("goal_reached", "partly_reached", "not_reached", "stopped")
RE_ENGAGED = ("yes", "partly", "no")
GAP_REASONS = ("no_offer", "outside_area", "age", "school_level", "languages", "no_capacity",
               "already_engaged", "all_declined")


class InvalidEvent(ValueError):
    """An event whose payload cannot be turned into a fact; it goes to the dead-letter queue."""


class InvalidQuery(ValueError):
    """A counts request without a usable network."""


# --- reading payloads ------------------------------------------------------------------------

def _timestamp(payload: dict, key: str, *, required: bool = True) -> datetime | None:
    value = payload.get(key)
    if value is None and not required:
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except (TypeError, ValueError):
        raise InvalidEvent(f"payload {key} must be an ISO 8601 timestamp") from None


def _code(payload: dict, key: str, codes: tuple[str, ...] | None = None, *, required=False,
          limit: int = 100) -> str | None:
    value = payload.get(key)
    if value in (None, "") and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidEvent(f"payload {key} must be a code of 1 to {limit} characters")
    if codes is not None and value not in codes:
        raise InvalidEvent(f"payload {key} must be one of {', '.join(codes)}")
    return value.strip()


def _categories(payload: dict) -> list[str]:
    categories = payload.get("categories") or []
    if not isinstance(categories, list) or not all(isinstance(c, str) and c for c in categories):
        raise InvalidEvent("payload categories must be a list of codes")
    return categories


def _referral_and_network(envelope: dict, *, required: bool = True) -> tuple[str | None, str]:
    payload = envelope["payload"]
    referral_id, network = payload.get("referral_id"), payload.get("network") or envelope.get("network")
    if referral_id is not None or required:
        if not isinstance(referral_id, str) or not referral_id or len(referral_id) > 36:
            raise InvalidEvent("payload referral_id must be a non-empty id")
    if not isinstance(network, str) or not network or len(network) > 64:
        raise InvalidEvent("payload network must be a non-empty code")
    return referral_id, network


def _age_band(payload: dict) -> str | None:
    band = payload.get("age_band")
    if isinstance(band, str) and band:
        return band[:16]
    return facts.age_band(payload.get("age"))


def reduce_event(event_type: str, envelope: dict) -> dict:
    """The envelope with only what reporting keeps; validates on the way (InvalidEvent)."""
    payload = envelope["payload"]
    referral_id, network = _referral_and_network(envelope, required=event_type != GAP_RECORDED)
    kept = {"referral_id": referral_id, "network": network}
    if event_type == contracts.REFERRAL_SUBMITTED:
        direct = payload.get("direct_engagement")
        kept.update(
            categories=_categories(payload), submitted_at=_timestamp(payload, "submitted_at").isoformat(),
            channel=_code(payload, "channel", limit=32), urgency=_code(payload, "urgency", limit=16),
            neighbourhood=_code(payload, "neighbourhood") or _code(payload, "postcode", limit=16),
            age_band=_age_band(payload), school_level=_code(payload, "school_level", limit=32),
            person_key=_code(payload, "person_key", limit=64),
            direct=bool(direct), direct_organisation_id=(direct or {}).get("organisation_id")
            if isinstance(direct, dict) else None,
            direct_offer_id=(direct or {}).get("offer_id") if isinstance(direct, dict) else None)
    elif event_type == contracts.REFERRAL_STATE_CHANGED:
        if payload.get("to_state") not in STATES:
            raise InvalidEvent(f"payload to_state must be one of {', '.join(STATES)}")
        if payload.get("from_state") not in (None, SUBMITTED) + STATES:
            raise InvalidEvent(f"payload from_state must be one of {', '.join(STATES)}")
        kept.update(from_state=payload.get("from_state"), to_state=payload["to_state"],
                    at=_timestamp(payload, "at").isoformat(),
                    due_at=_iso(_timestamp(payload, "due_at", required=False)),
                    categories=_categories(payload), urgency=_code(payload, "urgency", limit=16),
                    re_engaged=_code(payload, "re_engaged", RE_ENGAGED))
    elif event_type == ENGAGEMENT_CHANGED:
        kept.update(offer_id=_code(payload, "offer_id", required=True),
                    organisation_id=_code(payload, "organisation_id", limit=64),
                    status=_code(payload, "status", ENGAGEMENT_STATUSES, required=True),
                    reason_code=_code(payload, "reason_code", DECLINE_REASONS),
                    end_outcome=_code(payload, "end_outcome", END_OUTCOMES),
                    at=_timestamp(payload, "at").isoformat())
    elif event_type == GAP_RECORDED:
        gap_id = payload.get("gap_id")
        if not isinstance(gap_id, (str, int)) or str(gap_id) == "" or len(str(gap_id)) > 64:
            raise InvalidEvent("payload gap_id must be a non-empty id")
        kept.update(gap_id=str(gap_id), categories=_categories(payload),
                    neighbourhood=_code(payload, "neighbourhood") or _code(payload, "postcode", limit=16),
                    age_band=_age_band(payload), school_level=_code(payload, "school_level", limit=32),
                    reason=_code(payload, "reason", required=True, limit=32),
                    at=_timestamp(payload, "at").isoformat())
    elif event_type == ANONYMISE:
        kept["at"] = _iso(_timestamp(payload, "at", required=False))
    else:
        raise InvalidEvent(f"reporting does not take {event_type!r} events")
    return {"message_id": envelope["message_id"], "type": event_type,
            "occurred_at": envelope.get("occurred_at"), "network": network, "payload": kept}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- taking in an event ----------------------------------------------------------------------

def ingest(session: Session, event_type: str, envelope: dict) -> dict:
    """Reduce, apply and log one event (the caller claimed its message id)."""
    reduced = reduce_event(event_type, envelope)
    lock_referral(session, reduced["payload"].get("referral_id"))
    derived = APPLY[event_type](session, reduced["payload"], {})
    reduced["derived"] = derived
    session.add(EventLog(message_id=reduced["message_id"], event_type=event_type,
                         network=reduced["network"], referral_id=reduced["payload"].get("referral_id"),
                         body=reduced))
    session.flush()
    return reduced


def lock_referral(session: Session, referral_id: str | None) -> None:
    """Serialise the events of one referral across replicas (PostgreSQL advisory lock); SQLite
    already serialises writers."""
    if referral_id and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:id))"), {"id": referral_id})


def _fact(session: Session, referral_id: str, network: str, categories: list[str]) -> ReferralFact:
    fact = session.get(ReferralFact, referral_id)
    if fact is None:
        fact = ReferralFact(referral_id=referral_id, network=network, categories=categories,
                            state=SUBMITTED, direct=False, anonymised=False, contributions=[])
        session.add(fact)
    return fact


def apply_submitted(session: Session, p: dict, derived: dict) -> dict:
    fact = _fact(session, p["referral_id"], p["network"], p["categories"])
    if fact.submitted_at is not None:
        return {"repeat_number": fact.repeat_number}      # the same referral submitted twice
    fact.submitted_at = datetime.fromisoformat(p["submitted_at"])
    fact.categories = p["categories"] or fact.categories
    fact.neighbourhood, fact.age_band, fact.school_level = p["neighbourhood"], p["age_band"], p["school_level"]
    fact.channel, fact.direct = p["channel"], p["direct"]
    fact.urgency = fact.urgency or p["urgency"]
    fact.person_key = None if fact.anonymised else p["person_key"]
    if "repeat_number" in derived:
        fact.repeat_number = derived["repeat_number"]
    elif fact.person_key:
        earlier = session.scalar(select(func.count()).select_from(ReferralFact).where(
            ReferralFact.network == fact.network, ReferralFact.person_key == fact.person_key,
            ReferralFact.referral_id != fact.referral_id, ReferralFact.submitted_at.is_not(None)))
        fact.repeat_number = earlier + 1
    else:
        fact.repeat_number = 1
    if fact.direct and p.get("direct_offer_id"):
        engagement = session.get(EngagementFact, (fact.referral_id, p["direct_offer_id"]))
        if engagement is None:
            session.add(EngagementFact(
                referral_id=fact.referral_id, offer_id=p["direct_offer_id"], network=fact.network,
                organisation_id=p.get("direct_organisation_id"), status="accepted",
                status_at=fact.submitted_at, accepted_at=fact.submitted_at, direct=True))
    refresh(session, fact)
    return {"repeat_number": fact.repeat_number}


def apply_state_changed(session: Session, p: dict, derived: dict) -> dict:
    at = datetime.fromisoformat(p["at"])
    fact = _fact(session, p["referral_id"], p["network"], p["categories"])
    session.add(TransitionFact(referral_id=fact.referral_id, network=fact.network,
                               from_state=p["from_state"], to_state=p["to_state"], at=at,
                               due_at=datetime.fromisoformat(p["due_at"]) if p["due_at"] else None))
    if fact.state_at is None or at >= as_utc(fact.state_at):
        fact.state, fact.state_at = p["to_state"], at
    if p["categories"] and not fact.categories:
        fact.categories = p["categories"]
    fact.urgency = fact.urgency or p["urgency"]
    if p["to_state"] == "closed":
        fact.closed_at = at
        fact.re_engaged = p["re_engaged"] or fact.re_engaged
    refresh(session, fact)
    return {}


def apply_engagement_changed(session: Session, p: dict, derived: dict) -> dict:
    at = datetime.fromisoformat(p["at"])
    fact = _fact(session, p["referral_id"], p["network"], [])
    engagement = session.get(EngagementFact, (fact.referral_id, p["offer_id"]))
    if engagement is None:
        engagement = EngagementFact(referral_id=fact.referral_id, offer_id=p["offer_id"],
                                    network=fact.network, status=p["status"], status_at=at, direct=False)
        session.add(engagement)
    engagement.organisation_id = p["organisation_id"] or engagement.organisation_id
    status = p["status"]
    if status == "proposed":
        engagement.proposed_at = min(filter(None, [as_utc(engagement.proposed_at), at]))
    elif status in ("accepted", "declined"):
        engagement.answered_at = at
        if status == "accepted":
            engagement.accepted_at = at
        else:
            engagement.reason_code = p["reason_code"] or "other"
    elif status == "ended":
        engagement.ended_at = at
        engagement.end_outcome = p["end_outcome"] or engagement.end_outcome
    # the status of the newest change stands (events can overtake each other)
    if as_utc(engagement.status_at) <= at or engagement.status == status:
        engagement.status, engagement.status_at = status, at
    session.flush()
    refresh(session, fact)
    return {}


def apply_gap_recorded(session: Session, p: dict, derived: dict) -> dict:
    if session.get(GapFact, p["gap_id"]) is not None:
        return {}
    gap = GapFact(gap_id=p["gap_id"], network=p["network"], referral_id=p["referral_id"],
                  categories=p["categories"], neighbourhood=p["neighbourhood"], age_band=p["age_band"],
                  school_level=p["school_level"], reason=p["reason"],
                  at=datetime.fromisoformat(p["at"]))
    gap.contributions = facts.gap_contributions(gap)
    session.add(gap)
    facts.apply_difference(session, gap.network, [], gap.contributions)
    return {}


def apply_anonymise(session: Session, p: dict, derived: dict) -> dict:
    """Retention ended: drop the pseudonymous person key here and in the log; counts stay."""
    fact = session.get(ReferralFact, p["referral_id"])
    if fact is not None:
        fact.person_key, fact.anonymised = None, True
    else:
        _fact(session, p["referral_id"], p["network"], []).anonymised = True
    for row in session.scalars(select(EventLog).where(EventLog.referral_id == p["referral_id"],
                                                      EventLog.event_type == contracts.REFERRAL_SUBMITTED)):
        body = dict(row.body)
        body["payload"] = dict(body["payload"], person_key=None)
        row.body = body
    return {}


def erase(session: Session, envelope: dict) -> dict:
    """`intake.referral_erased`: every fact of the referral and its logged events go, and the
    report cells lose what it contributed (the counts no longer include it). Idempotent;
    returns {table: rows removed}."""
    referral_id, _network = _referral_and_network(envelope)
    lock_referral(session, referral_id)
    fact = session.get(ReferralFact, referral_id)
    if fact is not None:
        facts.apply_difference(session, fact.network, fact.contributions or [], [])
    for gap in session.scalars(select(GapFact).where(GapFact.referral_id == referral_id)):
        facts.apply_difference(session, gap.network, gap.contributions or [], [])
    return {model.__tablename__: delete_rows(session, model, model.referral_id == referral_id)
            for model in (StageFact, TransitionFact, EngagementFact, GapFact, ReferralFact, EventLog)}


APPLY = {
    contracts.REFERRAL_SUBMITTED: apply_submitted,
    contracts.REFERRAL_STATE_CHANGED: apply_state_changed,
    ENGAGEMENT_CHANGED: apply_engagement_changed,
    GAP_RECORDED: apply_gap_recorded,
    ANONYMISE: apply_anonymise,
}


def refresh(session: Session, fact: ReferralFact) -> None:
    """Recompute the referral's stays per state and its contributions; move the cells by the
    difference."""
    session.flush()
    session.execute(delete(StageFact).where(StageFact.referral_id == fact.referral_id))
    engagements = list(session.scalars(select(EngagementFact).where(
        EngagementFact.referral_id == fact.referral_id).order_by(EngagementFact.offer_id)))
    accepted = [e for e in engagements if e.accepted_at is not None]
    transitions = list(session.scalars(select(TransitionFact).where(
        TransitionFact.referral_id == fact.referral_id).order_by(TransitionFact.at, TransitionFact.id)))
    stages = []
    for i, change in enumerate(transitions):
        left = transitions[i + 1].at if i + 1 < len(transitions) else None
        organisation = None
        if change.to_state in ("awaiting_partner", "in_progress") and accepted:
            organisation = max(accepted, key=lambda e: as_utc(e.accepted_at)).organisation_id
        stage = StageFact(referral_id=fact.referral_id, network=fact.network, state=change.to_state,
                          entered_at=change.at, left_at=left, due_at=change.due_at,
                          organisation_id=organisation)
        session.add(stage)
        stages.append(stage)
    new = facts.referral_contributions(fact, stages, engagements)
    facts.apply_difference(session, fact.network, fact.contributions or [], new)
    fact.contributions = new


# --- rebuild ---------------------------------------------------------------------------------

FACT_TABLES = (ReportCell, StageFact, TransitionFact, EngagementFact, GapFact, ReferralFact)


def rebuild(session: Session, *, batch: int = 2000) -> dict:
    """Wipe facts and cells, replay the whole event log in arrival order. Returns a summary."""
    for model in FACT_TABLES:
        session.execute(delete(model))
    session.flush()
    replayed = Counter()
    last = 0
    while True:
        rows = session.scalars(select(EventLog).where(EventLog.seq > last)
                               .order_by(EventLog.seq).limit(batch)).all()
        if not rows:
            break
        for row in rows:
            APPLY[row.event_type](session, row.body["payload"], row.body.get("derived") or {})
            replayed[row.event_type] += 1
            last = row.seq
        session.flush()
        session.expunge_all()
    return {"events": sum(replayed.values()), "by_type": dict(sorted(replayed.items())),
            "cells": session.scalar(select(func.count()).select_from(ReportCell))}


def snapshot_cells(session: Session) -> dict:
    """All non-empty cells (to compare a rebuild with the live store)."""
    return {(c.network, c.view, c.period, c.dim, c.value): (c.n, c.on_time, c.late, round(c.days, 4),
                                                           round(c.late_days, 4))
            for c in session.scalars(select(ReportCell))
            if any((c.n, c.on_time, c.late, round(c.days, 4), round(c.late_days, 4)))}


# --- counts ----------------------------------------------------------------------------------

def _network(network) -> str:
    if not isinstance(network, str) or not network.strip():
        raise InvalidQuery("network must be a non-empty code")
    return network


def counts(session: Session, network) -> dict:
    network = _network(network)
    by_state, by_category = Counter(), Counter()
    total = 0
    for state, categories in session.execute(
            select(ReferralFact.state, ReferralFact.categories).where(ReferralFact.network == network)):
        total += 1
        by_state[state] += 1
        by_category.update(set(categories or []))
    return {"network": network, "total": total, "by_state": dict(sorted(by_state.items())),
            "by_category": dict(sorted(by_category.items()))}


def gap_counts(session: Session, network) -> dict:
    network = _network(network)
    by_reason, by_category, by_age_band = Counter(), Counter(), Counter()
    total = 0
    for reason, categories, band in session.execute(
            select(GapFact.reason, GapFact.categories, GapFact.age_band).where(GapFact.network == network)):
        total += 1
        by_reason[reason] += 1
        by_category.update(set(categories or []))
        by_age_band[band or facts.UNKNOWN] += 1
    return {"network": network, "total": total, "by_reason": dict(sorted(by_reason.items())),
            "by_category": dict(sorted(by_category.items())),
            "by_age_band": dict(sorted(by_age_band.items()))}
