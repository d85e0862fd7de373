"""A small, hand-countable history of one network (used by unit, service and end-to-end tests).

12 referrals in 2026:
- r01..r06: March, neighbourhood Nekkerspoel, truancy, secondary, age 14, web
- r07..r08: March, Battel, truancy + wellbeing, primary, age 9, e-mail
- r09..r12: April, Nekkerspoel, wellbeing, secondary, age 17, phone; r09 is the same young
  person as r01 (a repeat); r12 was engaged directly by a partner (channel direct)
r01 goes the whole way: triage (3 days, 2 days late), matching (on time), awaiting partner
(Arktos accepts after 1 day, on time), in progress, closed in April with re_engaged "yes".
r07: Profo declines (no_capacity). One gap for r08 (no_offer, Battel, 6-11, primary)."""
from __future__ import annotations

from netsterk import contracts
from netsterk.envelope import make_envelope

ENGAGEMENT_CHANGED = "engagement_changed"
GAP_RECORDED = "gap_recorded"


def _submitted(network, n, month, neighbourhood, categories, level, age, channel, person=None,
               direct=None):
    referral_id = f"{network}-r{n:02d}"
    return contracts.INTAKE, contracts.REFERRAL_SUBMITTED, make_envelope(contracts.REFERRAL_SUBMITTED, {
        "referral_id": referral_id, "ref": f"NS-2026-{n:06d}", "network": network, "channel": channel,
        "categories": list(categories), "postcode": "2800", "neighbourhood": neighbourhood, "age": age,
        "school_level": level, "languages": ["nl"], "urgency": "normal", "school_efforts_done": True,
        "reporter_email": "teacher@school.example", "reporter_lang": "nl", "school_email": None,
        "consent": True, "person_key": person or f"person-{referral_id}", "household_key": f"h-{n}",
        "possible_duplicates": [], "draft": False, "direct_engagement": direct,
        "submitted_at": f"2026-{month:02d}-02T08:00:00+00:00"},
        network=network, referral_ref=f"NS-2026-{n:06d}")


def _moved(network, n, sequence, from_state, to_state, at, due_at=None, **extra):
    referral_id = f"{network}-r{n:02d}"
    payload = {"referral_id": referral_id, "ref": f"NS-2026-{n:06d}", "network": network,
               "from_state": from_state, "to_state": to_state, "by": "coordinator", "reason": "free text",
               "at": at, "categories": ["truancy"], "due_at": due_at, "fhir_status": "received", **extra}
    return contracts.WORKFLOW, contracts.REFERRAL_STATE_CHANGED, make_envelope(
        contracts.REFERRAL_STATE_CHANGED, payload, network=network,
        message_id=f"referral-{referral_id}:{sequence}")


def _engagement(network, n, organisation, offer, status, at, reason_code=None, **extra):
    referral_id = f"{network}-r{n:02d}"
    return contracts.WORKFLOW, ENGAGEMENT_CHANGED, make_envelope(ENGAGEMENT_CHANGED, {
        "referral_id": referral_id, "ref": f"NS-2026-{n:06d}", "network": network,
        "organisation_id": organisation, "offer_id": offer, "status": status,
        "reason_code": reason_code, "at": at, **extra},
        network=network, message_id=f"referral-{referral_id}:engagement:{offer}:{status}")


def events(network: str = "fixture") -> list[tuple[str, str, dict]]:
    """(source, event_type, envelope) in the order they are published."""
    out = []
    for n in range(1, 7):
        out.append(_submitted(network, n, 3, "Nekkerspoel", ["truancy"], "secondary", 14, "web"))
    for n in (7, 8):
        out.append(_submitted(network, n, 3, "Battel", ["truancy", "wellbeing"], "primary", 9, "email"))
    for n in (9, 10, 11, 12):
        out.append(_submitted(
            network, n, 4, "Nekkerspoel", ["wellbeing"], "secondary", 17, "direct" if n == 12 else "phone",
            person=f"person-{network}-r01" if n == 9 else None,
            direct={"organisation_id": "jam", "offer_id": "jam-jeugdwerk"} if n == 12 else None))
    out += [
        _moved(network, 1, 1, None, "triage", "2026-03-02T09:00:00+00:00", "2026-03-03T09:00:00+00:00"),
        _moved(network, 1, 2, "triage", "matching", "2026-03-05T09:00:00+00:00", "2026-03-06T09:00:00+00:00"),
        _moved(network, 1, 3, "matching", "awaiting_partner", "2026-03-05T12:00:00+00:00",
               "2026-03-09T12:00:00+00:00"),
        _engagement(network, 1, "arktos", "arktos-naft", "proposed", "2026-03-05T12:00:00+00:00"),
        _engagement(network, 1, "arktos", "arktos-naft", "accepted", "2026-03-06T12:00:00+00:00"),
        _moved(network, 1, 4, "awaiting_partner", "in_progress", "2026-03-06T12:00:00+00:00"),
        _moved(network, 1, 5, "in_progress", "closed", "2026-04-10T12:00:00+00:00", re_engaged="yes"),
        _engagement(network, 7, "profo", "profo-time-out", "proposed", "2026-03-05T12:00:00+00:00"),
        _engagement(network, 7, "profo", "profo-time-out", "declined", "2026-03-08T12:00:00+00:00",
                    reason_code="no_capacity"),
        (contracts.MATCHING, GAP_RECORDED, make_envelope(GAP_RECORDED, {
            "gap_id": f"{network}-g1", "referral_id": f"{network}-r08", "network": network,
            "categories": ["truancy", "wellbeing"], "postcode": "2800", "neighbourhood": "Battel",
            "age": 9, "age_band": "6-11", "school_level": "primary", "reason": "no_offer",
            "detail": "no offer for these concerns", "at": "2026-03-02T08:05:00+00:00"}, network=network)),
    ]
    return out
