"""reporting's use cases: keep one fact per referral from the events, count them."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from netsterk.contracts import STATES
from services.reporting.models import ReferralFact

SUBMITTED = "submitted"


class InvalidEvent(ValueError):
    """An event whose payload cannot be turned into a fact; it goes to the dead-letter queue."""


class InvalidQuery(ValueError):
    """A counts request without a usable network."""


def _as_utc(value: datetime) -> datetime:
    """SQLite gives naive datetimes back: they are UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _timestamp(payload: dict, key: str) -> datetime:
    value = payload.get(key)
    try:
        return _as_utc(datetime.fromisoformat(value))
    except (TypeError, ValueError):
        raise InvalidEvent(f"payload {key} must be an ISO 8601 timestamp") from None


def _common(envelope: dict) -> tuple[str, str, list[str]]:
    payload = envelope["payload"]
    referral_id, network = payload.get("referral_id"), payload.get("network") or envelope.get("network")
    categories = payload.get("categories", [])
    if not isinstance(referral_id, str) or not referral_id or len(referral_id) > 36:
        raise InvalidEvent("payload referral_id must be a non-empty id")
    if not isinstance(network, str) or not network:
        raise InvalidEvent("payload network must be a non-empty code")
    if not isinstance(categories, list) or not all(isinstance(c, str) and c for c in categories):
        raise InvalidEvent("payload categories must be a list of codes")
    return referral_id, network, categories


def apply_submitted(session: Session, envelope: dict) -> None:
    referral_id, network, categories = _common(envelope)
    submitted_at = _timestamp(envelope["payload"], "submitted_at")
    fact = session.get(ReferralFact, referral_id)
    if fact is None:
        session.add(ReferralFact(referral_id=referral_id, network=network, categories=categories,
                                 state=SUBMITTED, submitted_at=submitted_at))
        return
    # a state change arrived first: keep its state, fill in what only the submission knows
    fact.submitted_at = submitted_at
    fact.categories = categories or fact.categories


def apply_state_changed(session: Session, envelope: dict) -> None:
    referral_id, network, categories = _common(envelope)
    payload = envelope["payload"]
    if payload.get("to_state") not in STATES:
        raise InvalidEvent(f"payload to_state must be one of {', '.join(STATES)}")
    at = _timestamp(payload, "at")
    fact = session.get(ReferralFact, referral_id)
    if fact is None:
        session.add(ReferralFact(referral_id=referral_id, network=network, categories=categories,
                                 state=payload["to_state"], state_at=at))
        return
    if fact.state_at is not None and at < _as_utc(fact.state_at):
        return  # an older change arriving late: the newer state stands
    fact.state, fact.state_at = payload["to_state"], at
    if categories:
        fact.categories = categories


def counts(session: Session, network) -> dict:
    if not isinstance(network, str) or not network.strip():
        raise InvalidQuery("network must be a non-empty code")
    by_state, by_category = Counter(), Counter()
    total = 0
    for state, categories in session.execute(
            select(ReferralFact.state, ReferralFact.categories).where(ReferralFact.network == network)):
        total += 1
        by_state[state] += 1
        by_category.update(set(categories))
    return {"network": network, "total": total, "by_state": dict(sorted(by_state.items())),
            "by_category": dict(sorted(by_category.items()))}
