"""Plan, voice and consent, case conference on intake's real (migrated) database: one plan per
household shared by two partners with access per partner, the school's part, consent limiting and
withdrawal hiding, the append-only history, conferences from proposal to tasks."""
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from netsterk import ical
from netsterk.db import make_engine, session_scope, upgrade
from netsterk.refusal import Refusal
from services.intake import conference, domain, plan, voice
from services.intake.schemas import validate_referral
from services.intake.tests.test_schemas import valid
from services.intake.wraparound_models import WraparoundHistory

COORD = {"role": "coordinator", "network": "mechelen", "by": "coordinator"}
ARKTOS = {"role": "partner", "network": "mechelen", "by": "Arktos", "organisation_id": "arktos",
          "organisation_name": "Arktos", "can_edit": True}
PROFO = {"role": "partner", "network": "mechelen", "by": "Profo", "organisation_id": "profo",
         "organisation_name": "Profo", "can_edit": True}
SCHOOL = {"role": "school", "network": "mechelen", "by": "school"}


@pytest.fixture
def factory(settings_env):
    upgrade("intake")
    engine = make_engine(settings_env.database_url("intake"))
    factory = sessionmaker(engine, expire_on_commit=False)
    with session_scope(factory) as session:
        domain.upsert_network(session, "mechelen", "Mechelen", ["truancy", "motivation"])
    yield factory
    engine.dispose()


def submit(factory, network="mechelen", **overrides):
    with session_scope(factory) as session:
        clean, errors = validate_referral(dict(valid(**overrides), network=network),
                                          categories=["truancy", "motivation"])
        assert errors == {}
        return domain.submit_referral(session, clean).id


def call(factory, fn, *args):
    with session_scope(factory) as session:
        return fn(session, *args)


def test_two_partners_share_one_family_plan_each_sees_and_changes_only_what_it_may(factory):
    first = submit(factory)
    sibling = submit(factory, first_name="Sara", categories=["motivation"])   # same household
    goal = call(factory, plan.add_item, first, COORD, {"kind": "goal", "text": "Sami wil terug naar school",
                                                       "audience": "school"})
    mine = call(factory, plan.add_item, first, ARKTOS, {"kind": "action", "text": "Huisbezoek",
                                                        "due_date": "2030-01-10"})
    private = call(factory, plan.add_item, sibling, PROFO, {"kind": "note", "text": "Intern verslag",
                                                           "audience": "own"})
    # one plan for the household, whichever referral it is reached through
    assert call(factory, plan.view_plan, first, COORD)["plan_id"] == call(factory, plan.view_plan, sibling, COORD)["plan_id"]
    arktos = call(factory, plan.view_plan, first, ARKTOS)
    assert {i["id"] for i in arktos["items"]} == {goal["id"], mine["id"]}     # not Profo's own note
    assert mine["owner_name"] == "Arktos" and arktos["hidden"] == 1
    profo = call(factory, plan.view_plan, sibling, PROFO)
    assert {i["id"] for i in profo["items"]} == {goal["id"], mine["id"], private["id"]}
    assert [i["may_change"] for i in profo["items"] if i["id"] == mine["id"]] == [False]
    with pytest.raises(Refusal) as refused:       # Profo cannot change Arktos' action
        call(factory, plan.change_item, sibling, PROFO, mine["id"], {"status": "done"})
    assert refused.value.status == 403
    with pytest.raises(Refusal) as refused:       # and does not even find Arktos' hidden items
        call(factory, plan.change_item, first, ARKTOS, private["id"], {"status": "done"})
    assert refused.value.status == 404
    assert call(factory, plan.change_item, first, ARKTOS, mine["id"], {"status": "done"})["status"] == "done"
    read_only = dict(ARKTOS, can_edit=False)      # an ended engagement reads, does not write
    with pytest.raises(Refusal):
        call(factory, plan.add_item, first, read_only, {"kind": "note", "text": "x"})
    # the contact person is the coordinator's to set; every change is in the history
    call(factory, plan.set_contact, first, COORD, {"person": "Lies (Arktos)", "organisation": "Arktos"})
    with pytest.raises(Refusal):
        call(factory, plan.set_contact, first, ARKTOS, {"person": "x"})
    history = call(factory, plan.view_plan, first, COORD)["history"]
    assert [h["action"] for h in history] == ["goal_added", "action_added", "note_added",
                                              "action_changed", "contact_set"]
    assert "history" not in arktos


def test_the_school_sees_only_its_part_and_only_with_consent(factory):
    referral = submit(factory)
    call(factory, plan.add_item, referral, COORD, {"kind": "goal", "text": "Voor de school", "audience": "school"})
    call(factory, plan.add_item, referral, COORD, {"kind": "note", "text": "Thuissituatie", "audience": "partners"})
    assert call(factory, plan.view_plan, referral, SCHOOL)["items"] == []          # no consent yet
    call(factory, voice.record_voice, referral, COORD, {"from_whom": "both", "wishes": "Rust thuis",
                                                        "share_partners": "1", "share_school": "1"})
    school = call(factory, plan.view_plan, referral, SCHOOL)
    assert [i["text"] for i in school["items"]] == ["Voor de school"]
    assert school["voice"]["shown"] and school["voice"]["wishes"] == "Rust thuis"


def test_consent_limits_and_withdrawal_hides_the_voice_and_the_plan_from_partners(factory):
    referral = submit(factory)
    call(factory, plan.add_item, referral, COORD, {"kind": "goal", "text": "Doel van het gezin"})
    own = call(factory, plan.add_item, referral, ARKTOS, {"kind": "note", "text": "Eigen notitie"})
    call(factory, voice.record_voice, referral, COORD, {"from_whom": "young_person", "wishes": "Voetballen",
                                                        "worries": "Pesten", "share_partners": "1"})
    seen = call(factory, plan.view_plan, referral, ARKTOS)
    assert seen["voice"]["worries"] == "Pesten" and len(seen["items"]) == 2
    assert call(factory, plan.view_plan, referral, SCHOOL)["voice"]["shown"] is False   # not for the school
    call(factory, voice.withdraw_consent, referral, COORD)
    seen = call(factory, plan.view_plan, referral, ARKTOS)
    assert seen["voice"] == {"recorded": True, "shown": False, "consent": seen["voice"]["consent"]}
    assert seen["voice"]["consent"]["withdrawn"] is True
    assert [i["id"] for i in seen["items"]] == [own["id"]]          # only what it wrote itself
    assert "Voetballen" not in json.dumps(seen) and "Doel van het gezin" not in json.dumps(seen)
    assert call(factory, plan.view_plan, referral, COORD)["voice"]["wishes"] == "Voetballen"
    with pytest.raises(Refusal):
        call(factory, voice.withdraw_consent, referral, ARKTOS)    # the coordinator records it


def test_personal_text_is_encrypted_and_the_history_is_append_only(factory, settings_env):
    referral = submit(factory)
    call(factory, plan.add_item, referral, COORD, {"kind": "goal", "text": "Geheim doel"})
    call(factory, voice.record_voice, referral, COORD, {"from_whom": "parents", "worries": "Geheime zorg"})
    with session_scope(factory) as session:
        raw = " ".join(str(row) for table in ("family_plan_item", "referral_voice")
                       for row in session.execute(text(f"SELECT * FROM {table}")))
        assert "Geheim doel" not in raw and "Geheime zorg" not in raw
    session = factory()
    try:
        row = session.scalars(select(WraparoundHistory)).first()
        row.action = "rewritten"
        with pytest.raises(ValueError, match="append-only"):
            session.flush()
    finally:
        session.rollback()
        session.close()


def test_another_networks_referral_is_not_found_and_bad_input_is_named(factory):
    with session_scope(factory) as session:
        domain.upsert_network(session, "kiel", "Antwerpen-Kiel", ["truancy", "motivation"])
    other = submit(factory, network="kiel")
    with pytest.raises(Refusal) as refused:
        call(factory, plan.view_plan, other, COORD)
    assert refused.value.status == 404
    referral = submit(factory)
    with pytest.raises(Refusal) as refused:
        call(factory, plan.add_item, referral, COORD, {"kind": "action", "text": "x", "owner_name": "Arktos"})
    assert refused.value.field == "due_date"
    with pytest.raises(Refusal) as refused:
        call(factory, plan.add_item, referral, COORD, {"kind": "wish", "text": "x"})
    assert refused.value.field == "kind"


def test_a_case_conference_from_proposal_to_invitations_to_decisions_and_tasks(factory):
    referral = submit(factory)
    later = (datetime.now(timezone.utc) + timedelta(days=7)).replace(microsecond=0)
    proposed = call(factory, conference.create, referral, COORD, {
        "reason": "declined", "location": "CLB Mechelen, zaal 2", "duration_minutes": "90",
        "proposed_times": [later.isoformat(), (later + timedelta(days=1)).isoformat()],
        "invitees": [{"email": "zorg@school.example", "role": "school", "name": "Mevr. Peeters"},
                     {"email": "lies@arktos.example", "role": "partner"}]})
    with pytest.raises(Refusal) as refused:          # first the invitations
        call(factory, conference.record, proposed["id"], COORD, {"held_at": later.isoformat(), "decisions": "x"})
    assert refused.value.status == 422
    with session_scope(factory) as session:
        mails = conference.invitations(session, proposed["id"], COORD, organizer="meldpunt@netsterk.example")
    assert [m["to"] for m in mails] == ["zorg@school.example", "lies@arktos.example"]
    method, events = ical.parse_events(mails[0]["ics"])
    assert method == "REQUEST" and len(events) == 2 and events[0]["STATUS"] == "TENTATIVE"
    assert events[0]["DTSTART"] == later.strftime("%Y%m%dT%H%M%SZ") and events[0]["LOCATION"] == r"CLB Mechelen\, zaal 2"
    assert set(events[0]["ATTENDEE"]) == {"zorg@school.example", "lies@arktos.example"}
    assert "Sami" not in mails[0]["body"] + mails[0]["ics"]     # the reference only
    # one time confirmed: a REQUEST for it (SEQUENCE 1, CONFIRMED) and a CANCEL for the other
    with pytest.raises(Refusal) as refused:
        call(factory, conference.confirm_time, proposed["id"], COORD, {"time": "2031-01-01T10:00:00+00:00"})
    assert refused.value.field == "time"
    call(factory, conference.confirm_time, proposed["id"], COORD, {"time": proposed["proposed_times"][0]})
    with session_scope(factory) as session:
        mails = conference.invitations(session, proposed["id"], COORD, organizer="meldpunt@netsterk.example")
    assert sorted((m["method"], m["to"]) for m in mails) == [
        ("CANCEL", "lies@arktos.example"), ("CANCEL", "zorg@school.example"),
        ("REQUEST", "lies@arktos.example"), ("REQUEST", "zorg@school.example")]
    request = next(m for m in mails if m["method"] == "REQUEST")
    method, events = ical.parse_events(request["ics"])
    assert (method, len(events), events[0]["SEQUENCE"], events[0]["STATUS"]) == ("REQUEST", 1, "1", "CONFIRMED")
    assert events[0]["UID"] == f"{proposed['id']}-0@netsterk"
    cancel = next(m for m in mails if m["method"] == "CANCEL")
    method, events = ical.parse_events(cancel["ics"])
    assert (method, events[0]["UID"], events[0]["STATUS"]) == ("CANCEL", f"{proposed['id']}-1@netsterk", "CANCELLED")
    assert len({m["idempotency_key"] for m in mails}) == 4
    due = (date.today() + timedelta(days=14)).isoformat()
    held = call(factory, conference.record, proposed["id"], COORD, {
        "present": ["0", "1"], "decisions": "Samen met J@M verder",
        "actions": [{"text": "Huisbezoek plannen", "owner": "Arktos", "due": due}, {"text": "", "owner": "", "due": ""}]})
    assert held["status"] == "held" and held["attendance"] == [0, 1]
    assert held["held_at"] == proposed["proposed_times"][0]          # the confirmed time
    assert held["tasks"] == [{"id": f"{proposed['id'][:8]}-1", "text": "Huisbezoek plannen", "owner": "Arktos",
                              "due": due, "source": f"conference:{proposed['id']}"}]
    assert call(factory, conference.tasks_sent, proposed["id"], COORD)["tasks_sent_at"]
    with pytest.raises(Refusal):
        call(factory, conference.record, proposed["id"], COORD, {"held_at": later.isoformat(), "decisions": "y"})


def test_a_conference_refuses_bad_times_addresses_and_non_coordinators(factory):
    referral = submit(factory)
    later = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
    base = {"reason": "request", "location": "CLB", "proposed_times": [later],
            "invitees": [{"email": "a@b.example", "role": "clb"}]}
    for change, field in (({"proposed_times": ["2020-01-01T10:00"]}, "proposed_times"),
                          ({"proposed_times": ["morgen"]}, "proposed_times"),
                          ({"invitees": [{"email": "geen adres"}]}, "invitees"),
                          ({"invitees": []}, "invitees"), ({"reason": "zomaar"}, "reason")):
        with pytest.raises(Refusal) as refused:
            call(factory, conference.create, referral, COORD, dict(base, **change))
        assert refused.value.field == field
    with pytest.raises(Refusal) as refused:
        call(factory, conference.create, referral, ARKTOS, base)
    assert refused.value.status == 403


def test_anonymisation_wipes_the_voice_the_conferences_and_at_last_the_plan(factory):
    from netsterk.envelope import make_envelope
    from services.intake.wraparound_models import Conference, Plan, PlanItem, Voice

    first, sibling = submit(factory), submit(factory, first_name="Sara", categories=["motivation"])
    call(factory, plan.add_item, first, COORD, {"kind": "goal", "text": "Doel"})
    call(factory, plan.set_contact, first, COORD, {"person": "Lies"})
    call(factory, plan.view_plan, sibling, COORD)
    call(factory, voice.record_voice, first, COORD, {"from_whom": "both", "wishes": "Wens"})
    later = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
    made = call(factory, conference.create, first, COORD, {"reason": "request", "location": "CLB",
                                                           "proposed_times": [later],
                                                           "invitees": [{"email": "a@b.example"}]})

    def anonymise(referral_id):
        envelope = make_envelope("referral_anonymise", {"referral_id": referral_id, "ref": "x",
                                                         "network": "mechelen"}, network="mechelen")
        with session_scope(factory) as session:
            return domain.anonymise_referral(session, envelope)

    assert anonymise(first)
    with session_scope(factory) as session:
        assert session.get(Voice, first).wishes is None
        assert session.get(Conference, made["id"]).invitees == "[]"
        assert [i.text for i in session.scalars(select(PlanItem))] == ["Doel"]   # the sibling's plan stays
    anonymise(sibling)
    with session_scope(factory) as session:
        assert [i.text for i in session.scalars(select(PlanItem))] == [""]
        assert session.scalars(select(Plan)).one().contact_person is None


def test_every_read_and_change_of_plan_voice_and_conference_is_in_the_hash_chained_audit_log(factory):
    """Issue 10: the wraparound data goes through intake's one audit log — who, role, record,
    field names, purpose, origin — never the texts; the chain stays intact; a refused change
    leaves no entry."""
    from netsterk import audit
    from services.intake import privacy
    from services.intake.models import AUDIT, Referral

    referral = submit(factory)
    coord = dict(COORD, by="coord.jansen", origin="10.1.2.3")
    goal = call(factory, plan.add_item, referral, coord, {"kind": "goal", "text": "Geheimdoel Zwaluw",
                                                          "audience": "partners"})
    call(factory, plan.change_item, referral, coord, goal["id"], {"status": "done"})
    call(factory, voice.record_voice, referral, coord, {"wishes": "Wensgeheim", "from_whom": "young_person",
                                                        "share_partners": True})
    call(factory, plan.view_plan, referral, ARKTOS)
    later = (datetime.now(timezone.utc) + timedelta(days=7)).replace(microsecond=0)
    meeting = call(factory, conference.create, referral, coord, {
        "reason": "declined", "location": "CLB", "duration_minutes": "60", "proposed_times": [later.isoformat()],
        "invitees": [{"email": "zorg@school.example", "role": "school"}]})
    call(factory, conference.get, meeting["id"], coord)
    with pytest.raises(Refusal):                   # refused: nothing recorded
        call(factory, plan.change_item, referral, coord, goal["id"], {})
    with session_scope(factory) as session:
        ref = session.get(Referral, referral).ref
        entries = [e for e in audit.listing(session, AUDIT, network="mechelen") if e["record_type"] != "referral"]
        assert audit.verify(session, AUDIT)["ok"]
        stored = " ".join(str(r) for r in session.execute(text("SELECT * FROM audit_entry")).all())
    entries.reverse()
    assert [(e["record_type"], e["action"], e["actor"], e["role"]) for e in entries] == [
        ("plan", "create", "coord.jansen", "coordinator"),
        ("plan", "update", "coord.jansen", "coordinator"),
        ("voice", "create", "coord.jansen", "coordinator"),
        ("plan", "read", "Arktos", "partner"),
        ("voice", "read", "Arktos", "partner"),
        ("conference", "create", "coord.jansen", "coordinator"),
        ("conference", "read", "coord.jansen", "coordinator")]
    assert entries[1]["fields"] == ["status"] and entries[0]["fields"] == ["audience", "text"]
    assert entries[4]["fields"] == sorted(voice.VOICE_FIELDS)
    assert all(e["record_ref"] == ref and e["network"] == "mechelen" for e in entries)
    assert entries[0]["purpose"] == "family plan (wraparound care)" and entries[0]["origin"] == "10.1.2.3"
    assert entries[3]["origin"] == "portal"                       # a viewer without an address
    assert entries[5]["purpose"] == "case conference (wraparound care)"
    for secret in ("Geheimdoel", "Zwaluw", "Wensgeheim", "zorg@school.example", "CLB"):
        assert secret not in stored
    # the network admin's audit view (privacy.audit_log) lists them
    with session_scope(factory) as session:
        trail = privacy.audit_log(session, {"username": "admin", "role": "network_admin", "network": "mechelen"})
    assert {"plan", "voice", "conference"} <= {e["record_type"] for e in trail["entries"]}
    assert trail["chain"]["ok"]
