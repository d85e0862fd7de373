from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from netsterk.db import make_engine, session_scope, upgrade
from services.intake import domain
from services.intake.models import Outbox, Referral
from services.intake.tests.test_schemas import valid
from services.intake.schemas import validate_referral


@pytest.fixture
def factory(settings_env):
    upgrade("intake")
    engine = make_engine(settings_env.database_url("intake"))
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def submit(factory, **overrides):
    with session_scope(factory) as session:
        domain.upsert_network(session, "mechelen", "Mechelen", ["truancy", "motivation"])
    with session_scope(factory) as session:
        clean, errors = validate_referral(valid(**overrides), categories=["truancy", "motivation"])
        assert errors == {}
        return domain.submit_referral(session, clean, now=datetime(2026, 11, 24, tzinfo=timezone.utc))


def test_references_are_sequential_per_year(factory):
    refs = [submit(factory).ref for _ in range(3)]
    assert refs == ["NS-2026-000001", "NS-2026-000002", "NS-2026-000003"]


def test_referral_and_event_are_stored_together_without_names_in_the_event(factory):
    referral = submit(factory)
    with session_scope(factory) as session:
        row = session.scalars(select(Outbox)).one()
        assert row.published_at is None and row.event_type == "referral_submitted"
        payload = row.body["payload"]
        assert payload["ref"] == referral.ref and payload["school_efforts_done"] is True
        assert "Sam" not in str(row.body) and "Janssens" not in str(row.body)
        # names are encrypted at rest
        raw = session.connection().exec_driver_sql("SELECT first_name, last_name FROM referral").one()
        assert "Sam" not in raw[0] and "Janssens" not in raw[1]
        assert session.get(Referral, referral.id).first_name == "Sam"


def test_state_changes_apply_in_order(factory):
    referral = submit(factory)
    def change(to_state, at):
        return {"payload": {"referral_id": referral.id, "ref": referral.ref, "to_state": to_state, "at": at}}
    with session_scope(factory) as session:
        domain.apply_state_change(session, change("matching", "2026-11-24T10:00:00+00:00"))
        domain.apply_state_change(session, change("triage", "2026-11-24T09:00:00+00:00"))
    with session_scope(factory) as session:
        assert session.get(Referral, referral.id).state == "matching"


def test_state_change_for_unknown_referral_is_an_error(factory):
    with session_scope(factory) as session, pytest.raises(LookupError):
        domain.apply_state_change(session, {"payload": {"referral_id": "nope", "ref": "x", "to_state": "triage",
                                                        "at": "2026-11-24T09:00:00+00:00"}})


def test_open_referral_of_same_person_or_household_with_overlapping_concerns_is_linked(factory):
    first = submit(factory, categories=["truancy"])
    sibling = submit(factory, first_name="Lina", birth_date="2013-05-01", categories=["truancy", "motivation"])
    unrelated = submit(factory, last_name="Peeters", categories=["truancy"])
    other_concern = submit(factory, categories=["motivation"])
    with session_scope(factory) as session:
        rows = {r.referral_id: r for r in session.scalars(select(domain.ReferralLink))}
        events = {o.body["payload"]["referral_id"]: o.body["payload"] for o in session.scalars(select(Outbox))}
    assert rows[sibling.id].linked_referral_id == first.id and rows[sibling.id].match == "household"
    assert events[sibling.id]["possible_duplicates"] == [
        {"referral_id": first.id, "ref": first.ref, "match": "household", "overlapping": ["truancy"]}]
    assert events[unrelated.id]["possible_duplicates"] == []
    # same person (name + birth date), overlapping with the sibling's motivation only
    assert [d["ref"] for d in events[other_concern.id]["possible_duplicates"]] == [sibling.ref]
    assert events[first.id]["person_key"] == events[other_concern.id]["person_key"]
    assert "Janssens" not in str(events)


def test_closed_referrals_are_not_linked(factory):
    first = submit(factory)
    with session_scope(factory) as session:
        session.get(Referral, first.id).state = "closed"
    second = submit(factory)
    with session_scope(factory) as session:
        assert session.get(domain.ReferralLink, (second.id, first.id)) is None


def test_drafts_round_trip_replace_and_expire(factory):
    from datetime import timedelta
    with session_scope(factory) as session:
        token, expires = domain.save_draft(session, {"network": "mechelen", "first_name": "Sam"})
    with session_scope(factory) as session:
        assert domain.load_draft(session, token) == {"network": "mechelen", "first_name": "Sam"}
        same, _ = domain.save_draft(session, {"first_name": "Samir"}, token=token)
        assert same == token
    with session_scope(factory) as session:
        assert domain.load_draft(session, token) == {"first_name": "Samir"}
        raw = session.connection().exec_driver_sql("SELECT data FROM referral_draft").scalar()
        assert "Samir" not in raw
        assert domain.load_draft(session, token, now=expires + timedelta(seconds=1)) is None
    with session_scope(factory) as session:
        assert domain.load_draft(session, token) is None
        assert domain.load_draft(session, "made-up") is None


def test_an_email_draft_is_completed_in_place_once(factory):
    referral = submit(factory)
    with session_scope(factory) as session:
        row = session.get(Referral, referral.id)
        row.state, row.channel = "draft", "email"
        token, _ = domain.save_draft(session, {"mail_referral_id": referral.id, "mail_ref": referral.ref})
    with session_scope(factory) as session:      # re-saving the form keeps the link to the referral
        domain.save_draft(session, {"first_name": "Jonas", "mail_referral_id": "forged"}, token=token)
        assert domain.load_draft(session, token)["mail_referral_id"] == referral.id
    clean, _errors = validate_referral(valid(first_name="Jonas"), categories=["truancy", "motivation"])
    with session_scope(factory) as session:
        completed = domain.complete_referral(session, referral.id, {**clean, "channel": "email"})
        assert (completed.id, completed.ref, completed.state) == (referral.id, referral.ref, "submitted")
    with session_scope(factory) as session:
        assert session.get(Referral, referral.id).first_name == "Jonas"
        events = [o.body["payload"] for o in session.scalars(select(Outbox))
                  if o.body["payload"]["referral_id"] == referral.id]
        assert [e["draft"] for e in events] == [False, False] and events[-1]["channel"] == "email"
        with pytest.raises(LookupError):
            domain.complete_referral(session, referral.id, {**clean, "channel": "email"})


def test_a_networks_own_deadlines_are_checked_audited_and_go_with_new_referrals(factory):
    from netsterk import audit
    from netsterk.deadlines import DeadlineError
    from services.intake.models import AUDIT

    submit(factory)                       # before: the event carries no deadlines of the network
    admin = {"username": "admin", "role": "network_admin", "origin": "127.0.0.1"}
    with session_scope(factory) as session:
        saved = domain.set_network_deadlines(session, "mechelen", {"normal": {"triage": 3}, "urgent": {}}, admin)
        assert saved["deadlines"] == {"normal": {"triage": 3}}
        for bad in ({"normal": {"triage": 0}}, {"normal": {"coffee": 2}}, {"later": {"triage": 2}}):
            with pytest.raises(DeadlineError):
                domain.set_network_deadlines(session, "mechelen", bad, admin)
        with pytest.raises(LookupError):
            domain.set_network_deadlines(session, "atlantis", {}, admin)
    assert domain.list_networks(session)[0].keys() == {"code", "name", "categories"}   # the public list: no deadlines
    referral = submit(factory)
    with session_scope(factory) as session:
        events = [row.body["payload"] for row in session.scalars(select(Outbox).order_by(Outbox.id))]
        assert [e["deadlines"] for e in events] == [{}, {"normal": {"triage": 3}}]
        assert events[1]["referral_id"] == referral.id
        assert domain.get_network(session, "mechelen")["deadlines"] == {"normal": {"triage": 3}}
        entry = audit.listing(session, AUDIT, network="mechelen")[0]
        assert (entry["actor"], entry["record_type"], entry["record_id"], entry["action"], entry["fields"]) == (
            "admin", "network", "mechelen", "update", ["normal.triage"])
        assert audit.verify(session, AUDIT)["ok"]
        domain.set_network_deadlines(session, "mechelen", {}, admin)       # back to the defaults
        assert domain.network_deadlines(session, "mechelen") == {}
