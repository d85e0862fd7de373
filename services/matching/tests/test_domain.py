"""matching's use cases on a real SQLite database (migrated with Alembic): exclusion of
already-engaged organisations, the capacity picture, pending changes, rules, gaps, encryption."""
from datetime import date

import pytest
from sqlalchemy import text

from netsterk.db import session_scope
from netsterk.envelope import make_envelope
from services.matching import domain
from services.matching.models import Outbox
from services.matching.schemas import InvalidDirectory


def rank(factory, **overrides):
    request = {"network": "mechelen", "categories": ["truancy"], "postcode": "2800", "age": 14,
               "school_level": "secondary", "languages": ["nl"], "urgency": "normal"}
    request.update(overrides)
    with session_scope(factory) as session:
        return domain.rank_offers(session, request)


def engagement(referral_id, offer_id, organisation_id, status, at, reason_code=None, message_id=None):
    return make_envelope("engagement_changed", {
        "referral_id": referral_id, "ref": "NS-2026-000001", "network": "mechelen",
        "organisation_id": organisation_id, "offer_id": offer_id, "status": status,
        "reason_code": reason_code, "at": at}, network="mechelen", message_id=message_id)


def apply(factory, envelope):
    with session_scope(factory) as session:
        domain.apply_engagement(session, envelope)


def orgs(candidates):
    return [c["organisation_id"] for c in candidates]


def test_organisation_engaged_with_the_same_young_person_on_an_overlapping_question_is_excluded(factory):
    first = rank(factory, referral_id="r-1", person_key="p-key", household_key="h-key")
    assert "arktos" in orgs(first)
    apply(factory, engagement("r-1", "arktos-naft-traject", "arktos", "accepted", "2026-11-02T10:00:00+00:00"))
    # a new referral of the same young person about truancy: Arktos is already engaged
    assert "arktos" not in orgs(rank(factory, referral_id="r-2", person_key="p-key"))
    # the same household (a brother) with an overlapping concern: excluded as well
    assert "arktos" not in orgs(rank(factory, referral_id="r-3", person_key="other", household_key="h-key"))
    # another question (leisure only) does not overlap: nothing excluded
    leisure = rank(factory, referral_id="r-4", person_key="p-key", categories=["motivation"])
    assert "arktos" in orgs(leisure)
    # once the engagement ended, Arktos can be proposed again
    apply(factory, engagement("r-1", "arktos-naft-traject", "arktos", "ended", "2026-11-20T10:00:00+00:00"))
    assert "arktos" in orgs(rank(factory, referral_id="r-5", person_key="p-key"))


def test_decline_moves_on_and_no_capacity_closes_the_offer_for_the_period(factory):
    before = rank(factory, referral_id="r-9", languages=["ar"])
    assert orgs(before)[0] == "arktos"
    apply(factory, engagement("r-9", "arktos-naft-traject", "arktos", "declined", "2026-11-03T09:00:00+00:00",
                              reason_code="no_capacity"))
    after = rank(factory, referral_id="r-9", languages=["ar"])
    assert "arktos" not in orgs(after)                     # declined this referral: not proposed again
    other = rank(factory, referral_id="r-10", categories=["truancy", "motivation"])
    arktos = next(c for c in other if c["offer_id"] == "arktos-naft-traject")
    assert arktos["free_places"] == 0 and "capacity" in arktos["unmatched"]
    with session_scope(factory) as session:
        [row] = [c for c in domain.capacity_picture(session, "mechelen") if c["offer_id"] == "arktos-naft-traject"]
    assert row["declines"] == {"no_capacity": 1} and row["free_places"] == 0


def test_accepted_engagements_take_places_and_count_as_load_once(factory):
    accepted = engagement("r-20", "pros-naft-begeleiding", "pros", "accepted", "2026-11-04T09:00:00+00:00")
    apply(factory, accepted)
    apply(factory, engagement("r-20", "pros-naft-begeleiding", "pros", "accepted", "2026-11-04T09:00:01+00:00"))
    # an older "proposed" arriving late changes nothing
    apply(factory, engagement("r-20", "pros-naft-begeleiding", "pros", "proposed", "2026-11-01T09:00:00+00:00"))
    [pros] = [c for c in rank(factory, referral_id="r-21") if c["offer_id"] == "pros-naft-begeleiding"]
    assert pros["free_places"] == 3 and pros["load"] == 1
    with session_scope(factory) as session:   # reserve_place after the fact: idempotent
        assert domain.reserve_place(session, "mechelen", "pros-naft-begeleiding", "r-20")["free_places"] == 3


def test_reserve_place_until_full_then_refuses(factory):
    with session_scope(factory) as session:
        results = [domain.reserve_place(session, "mechelen", "profo-schoolbrug", f"r-{i}")["free_places"]
                   for i in range(3)]
    assert results == [2, 1, 0]
    with pytest.raises(domain.NoFreePlace), session_scope(factory) as session:
        domain.reserve_place(session, "mechelen", "profo-schoolbrug", "r-99")
    with pytest.raises(domain.UnknownOffer), session_scope(factory) as session:
        domain.reserve_place(session, "gent", "profo-schoolbrug", "r-99")


def test_capacity_periods_roll_over():
    assert domain.period_start("week", date(2026, 11, 26)) == date(2026, 11, 23)
    assert domain.period_end("month", date(2026, 12, 5)) == date(2026, 12, 31)
    assert domain.period_start("quarter", date(2026, 11, 26)) == date(2026, 10, 1)
    assert domain.period_end("quarter", date(2026, 11, 26)) == date(2026, 12, 31)


def test_no_fit_records_a_gap_once_per_referral_with_an_outbox_event(factory):
    assert rank(factory, referral_id="r-30", categories=["housing"]) == []
    assert rank(factory, referral_id="r-30", categories=["housing"]) == []
    with session_scope(factory) as session:
        [gap] = domain.list_gaps(session, "mechelen")
        [row] = session.query(Outbox).all()
    assert gap["reason"] == "no_offer" and gap["age_band"] == "12-15" and gap["categories"] == ["housing"]
    assert row.event_type == "gap_recorded" and row.body["payload"]["reason"] == "no_offer"
    assert row.body["payload"]["gap_id"] == gap["id"]


def test_all_declined_is_a_gap_with_that_reason(factory):
    offers = [c for c in rank(factory, referral_id="r-40", categories=["learning"], age=8,
                              school_level="primary")]
    for number, candidate in enumerate(offers):
        apply(factory, engagement("r-40", candidate["offer_id"], candidate["organisation_id"], "declined",
                                  f"2026-11-05T09:00:0{number}+00:00", reason_code="not_our_expertise"))
    assert rank(factory, referral_id="r-40", categories=["learning"], age=8, school_level="primary") == []
    with session_scope(factory) as session:
        assert [g["reason"] for g in domain.list_gaps(session, "mechelen")] == ["all_declined"]


def test_staff_personal_data_is_encrypted_at_rest(factory):
    with session_scope(factory) as session:
        raw = session.execute(text("SELECT name, phone, email FROM staff WHERE id = 'arktos-staff-1'")).one()
        entry = domain.organisation_entry(session, "mechelen", "arktos")
    assert "Sofie" not in "".join(raw) and "arktos.example.org" not in raw[2]
    assert entry["staff"][0]["name"] == "Sofie Verbeeck"


def test_partner_change_waits_for_approval_then_applies(factory):
    with session_scope(factory) as session:
        entry = domain.organisation_entry(session, "mechelen", "pros")
    entry["offers"][0]["capacity"] = 9
    entry["staff"].append({"id": "pros-staff-2", "name": "Lotte Maes", "email": "lotte@pros.example.org",
                           "languages": ["nl", "pl"], "offer_ids": ["pros-naft-begeleiding"]})
    with session_scope(factory) as session:
        change = domain.propose_change(session, "mechelen", "pros", entry, "pros-user")
    with session_scope(factory) as session:
        assert domain.organisation_entry(session, "mechelen", "pros")["offers"][0]["capacity"] == 4
        [pending] = domain.list_changes(session, "mechelen")
        raw = session.execute(text("SELECT entry FROM pending_change")).scalar()
    assert "Lotte" not in raw                                     # encrypted while it waits
    assert pending["changes"] == ["offers[pros-naft-begeleiding].capacity", "staff[pros-staff-2] (new)"]
    with session_scope(factory) as session:
        assert domain.decide_change(session, "mechelen", change["id"], True, "admin")["status"] == "approved"
    with session_scope(factory) as session:
        now = domain.organisation_entry(session, "mechelen", "pros")
        assert domain.list_changes(session, "mechelen") == []
    assert now["offers"][0]["capacity"] == 9 and now["last_confirmed"] == date.today().isoformat()
    assert [s["name"] for s in now["staff"]] == ["Emre Yilmaz", "Lotte Maes"]
    [pros] = [c for c in rank(factory, languages=["pl"]) if c["organisation_id"] == "pros"]
    assert "een medewerker spreekt Pools" in pros["explanation"]


def test_bad_or_foreign_change_is_refused(factory):
    with pytest.raises(InvalidDirectory, match="email is not a valid"), session_scope(factory) as session:
        domain.propose_change(session, "mechelen", "pros", {"name": "PrOS", "email": "x"}, "u")
    with pytest.raises(InvalidDirectory, match="not in the directory of gent"), session_scope(factory) as session:
        domain.propose_change(session, "gent", "pros", {"name": "PrOS", "email": "a@b.example"}, "u")
    with pytest.raises(domain.UnknownChange), session_scope(factory) as session:
        domain.decide_change(session, "mechelen", 12345, True, "admin")


def test_rules_change_ranking_and_the_preview_shows_the_effect_on_recent_referrals(factory):
    rank(factory, referral_id="r-50", postcode="2801")
    rank(factory, referral_id="r-51", categories=["learning"], age=9, school_level="primary")
    proposed = {"required": ["capacity", "service_area"], "weights": {"languages": 0},
                "max_candidates": 1}
    with session_scope(factory) as session:
        preview = domain.preview_rules(session, "mechelen", proposed, 10)
        assert domain.get_rules(session, "mechelen")["max_candidates"] == 10     # nothing saved
    assert preview["referrals"] == 2 and preview["changed"] == 2
    assert all(len(row["after"]) == 1 for row in preview["rows"])
    with session_scope(factory) as session:
        domain.set_rules(session, "mechelen", proposed, "admin")
    assert len(rank(factory)) == 1
