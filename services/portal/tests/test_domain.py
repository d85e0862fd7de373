"""Unit tests of the portal's domain: passwords, session cookies, users, the task read model,
action arguments."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import sessionmaker

from datetime import datetime, timezone

from netsterk.db import make_engine, session_scope
from netsterk.envelope import make_envelope
import base64

from services.portal import access, auth, schemas, tasks
from services.portal.models import ROLES, Base, Task, User

KEY = "test-session-key"


@pytest.fixture
def db(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'portal.db'}")
    Base.metadata.create_all(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


# --- passwords -----------------------------------------------------------------------------

def test_password_hash_is_salted_and_verifies():
    first, second = auth.hash_password("geheim-123"), auth.hash_password("geheim-123")
    assert first != second and first.startswith("$argon2id$")
    assert "geheim" not in first
    assert auth.verify_password("geheim-123", first)
    assert auth.verify_password("geheim-123", second)
    assert not auth.verify_password("geheim-124", first)


def test_verify_password_refuses_malformed_hashes():
    assert not auth.verify_password("x", "")
    assert not auth.verify_password("x", "md5$abc")
    assert not auth.verify_password("x", "scrypt$a$b$c$d$e")
    assert not auth.verify_password("x", "$argon2id$v=19$garbage")


def test_an_old_scrypt_hash_still_works_and_is_upgraded_to_argon2_on_login(db):
    with session_scope(db) as session:
        auth.upsert_user(session, "oud", "wachtwoord1", "analyst", "mechelen")
        session.get(User, "oud").password_hash = auth._scrypt_hash("wachtwoord1")
    with session_scope(db) as session:
        assert session.get(User, "oud").password_hash.startswith("scrypt$")
        assert auth.authenticate(session, "oud", "fout-wachtwoord") is None
        assert session.get(User, "oud").password_hash.startswith("scrypt$")    # no upgrade on a miss
        assert auth.authenticate(session, "oud", "wachtwoord1").username == "oud"
    with session_scope(db) as session:
        upgraded = session.get(User, "oud").password_hash
    assert upgraded.startswith("$argon2id$") and not auth.needs_rehash(upgraded)
    with session_scope(db) as session:
        assert auth.authenticate(session, "oud", "wachtwoord1") is not None


# --- second factor (RFC 6238) ---------------------------------------------------------------

def test_totp_matches_the_rfc_6238_vectors_and_a_code_works_once():
    # RFC 6238 appendix B, SHA-1 secret "12345678901234567890", 8 digits
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert auth.hotp(secret, 59 // 30, digits=8) == "94287082"
    assert auth.hotp(secret, 1111111109 // 30, digits=8) == "07081804"
    assert auth.hotp(secret, 20000000000 // 30, digits=8) == "65353130"
    now = 1_800_000_000.0
    code = auth.totp(secret, now=now)
    step = auth.totp_step(secret, code, now=now)
    assert step == int(now // 30)
    assert auth.totp_step(secret, code, now=now + 30) == step          # one step of drift is fine
    assert auth.totp_step(secret, code, now=now + 90) is None          # older is not
    assert auth.totp_step(secret, code, now=now, after=step) is None   # used once: refused
    assert auth.totp_step(secret, "12345", now=now) is None and auth.totp_step(secret, "abcdef", now=now) is None
    assert auth.totp_uri(secret, "coord x").startswith("otpauth://totp/Netsterk%3Acoord%20x?secret=")


def test_roles_with_a_second_factor():
    assert {r for r in ROLES if auth.needs_second_factor(User(role=r))} == \
        {"coordinator", "partner_staff", "network_admin", "ops"}


def test_upsert_user_sets_a_confirmed_second_factor_and_refuses_a_bad_one(db):
    with session_scope(db) as session:
        user, _ = auth.upsert_user(session, "c", "wachtwoord1", "coordinator", "m", totp_secret="JBSWY3DPEHPK3PXP")
        assert user.totp_confirmed_at is not None
        with pytest.raises(auth.UserError, match="totp_secret"):
            auth.upsert_user(session, "c", "wachtwoord1", "coordinator", "m", totp_secret="not base32!")


def test_pending_cookie_is_never_a_session():
    pending = auth.sign_pending(KEY, "coord", "totp")
    assert auth.read_session(KEY, pending) is None
    assert auth.read_pending(KEY, pending)["s"] == "totp"
    assert auth.read_pending(KEY, auth.sign_session(KEY, "coord")) is None


# --- throttling ------------------------------------------------------------------------------

def test_failed_logins_lock_one_user_and_address_only(db):
    key, other = auth.throttle_key("coord", "10.0.0.1"), auth.throttle_key("coord", "10.0.0.2")
    with session_scope(db) as session:
        for _ in range(auth.MAX_FAILURES - 1):
            assert auth.record_failure(session, key) == 0
        assert auth.locked_for(session, key) == 0
        assert auth.record_failure(session, key) > 0
        assert auth.locked_for(session, key) > 800
        assert auth.locked_for(session, other) == 0
        auth.clear_failures(session, key)
        assert auth.locked_for(session, key) == 0


def test_failed_logins_count_across_portal_instances_on_one_database(tmp_path):
    """Two portal instances (two engines, as two processes have) on one database share the count:
    five failures spread over both lock the pair on both (netsterk/ratelimit.py)."""
    url = f"sqlite:///{tmp_path / 'shared-portal.db'}"
    engines = [make_engine(url), make_engine(url)]
    Base.metadata.create_all(engines[0])
    instances = [sessionmaker(engine, expire_on_commit=False) for engine in engines]
    key = auth.throttle_key("Coord ", "10.0.0.1")
    assert key == auth.throttle_key("coord", "10.0.0.1") and "10.0.0.1" not in key
    for attempt in range(auth.MAX_FAILURES):
        with session_scope(instances[attempt % 2]) as session:
            assert auth.locked_for(session, key) == 0
            locked = auth.record_failure(session, key)
    assert locked == 15 * 60
    for instance in instances:
        with session_scope(instance) as session:
            assert 14 * 60 < auth.locked_for(session, key) <= 15 * 60
    for engine in engines:
        engine.dispose()


# --- one access policy -----------------------------------------------------------------------

def test_access_policy_role_by_action_and_scopes():
    coordinator = User(username="c", role="coordinator", network="mechelen", active=True)
    analyst = User(username="a", role="analyst", network="mechelen", active=True)
    partner = User(username="p", role="partner_staff", network="mechelen", organisation_id="arktos", active=True)
    assert access.require(coordinator, "referral.view") is coordinator
    with pytest.raises(access.Refused) as refused:
        access.require(analyst, "referral.view")
    assert refused.value.status == 403
    with pytest.raises(access.LoginRequired):
        access.require(None, "reports.view")
    assert not access.allowed(User(role="coordinator", network="mechelen", active=False), "referral.view")
    with pytest.raises(KeyError):
        access.allowed(coordinator, "referral.fly")
    snapshot = {"network": "mechelen", "engagements": [
        {"organisation_id": "profo", "token": "t1"}, {"organisation_id": "arktos", "token": "t2"}]}
    assert access.own_engagement(partner, snapshot)["token"] == "t2"
    for other in ({"network": "kiel", "engagements": snapshot["engagements"]},
                  {"network": "mechelen", "engagements": [{"organisation_id": "profo", "token": "t1"}]}):
        with pytest.raises(access.Refused) as refused:
            access.own_engagement(partner, other)
        assert refused.value.status == 404
    with pytest.raises(access.Refused):
        access.in_network(coordinator, {"network": "kiel"})
    assert access.mail_in_network(coordinator, {"network": None, "id": "m"})["id"] == "m"    # unassigned
    assert access.mail_in_network(coordinator, {"network": "mechelen", "id": "m"})["id"] == "m"
    for other in ({"network": "kiel"}, None):
        with pytest.raises(access.Refused) as refused:
            access.mail_in_network(coordinator, other)
        assert refused.value.status == 404


# --- session cookie ------------------------------------------------------------------------

def test_session_cookie_round_trip():
    cookie = auth.sign_session(KEY, "coord.mechelen", now=1000.0)
    assert auth.read_session(KEY, cookie, now=1001.0) == "coord.mechelen"


def test_session_cookie_rejects_tampering_other_keys_and_expiry():
    cookie = auth.sign_session(KEY, "coord.mechelen", now=1000.0, max_age=60)
    payload, signature = cookie.split(".")
    forged_payload = auth.sign_session("other-key", "admin", now=1000.0).split(".")[0]
    assert auth.read_session(KEY, f"{forged_payload}.{signature}", now=1001.0) is None
    assert auth.read_session("other-key", cookie, now=1001.0) is None
    assert auth.read_session(KEY, cookie, now=1061.0) is None
    assert auth.read_session(KEY, payload, now=1001.0) is None
    assert auth.read_session(KEY, None) is None
    assert auth.read_session(KEY, "é.ü") is None


# --- users ---------------------------------------------------------------------------------

def test_upsert_user_is_idempotent_and_authenticates(db):
    with session_scope(db) as session:
        user, created = auth.upsert_user(session, "coord", "wachtwoord1", "coordinator", "mechelen")
        assert created and user.lang == "nl"
    first_hash = user.password_hash
    with session_scope(db) as session:
        user, created = auth.upsert_user(session, "coord", "wachtwoord1", "coordinator", "kiel", lang="en")
        assert not created
    assert user.password_hash == first_hash and user.network == "kiel" and user.lang == "en"
    with session_scope(db) as session:
        assert auth.authenticate(session, "coord", "wachtwoord1").username == "coord"
        assert auth.authenticate(session, "coord", "fout-wachtwoord") is None
        assert auth.authenticate(session, "nobody", "wachtwoord1") is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(username="", password="wachtwoord1", role="coordinator", network="m"), "username"),
    (dict(username="a", password="kort", role="coordinator", network="m"), "password"),
    (dict(username="a", password="wachtwoord1", role="king", network="m"), "role"),
    (dict(username="a", password="wachtwoord1", role="coordinator", network=""), "network"),
    (dict(username="a", password="wachtwoord1", role="partner_staff", network="m"), "organisation_id"),
    (dict(username="a", password="wachtwoord1", role="ops", network="m", lang="fr"), "lang"),
])
def test_upsert_user_refuses_bad_input(db, kwargs, message):
    with session_scope(db) as session, pytest.raises(auth.UserError, match=message):
        auth.upsert_user(session, **kwargs)


# --- read model ----------------------------------------------------------------------------

def state_changed(referral_id, to_state, at, *, network="mechelen", due_at=None, ref=None):
    payload = {"referral_id": referral_id, "ref": ref or f"REF-{referral_id}", "network": network,
               "from_state": None, "to_state": to_state, "by": "system", "reason": "", "at": at,
               "categories": ["truancy"], "due_at": due_at, "fhir_status": "received"}
    return make_envelope("referral_state_changed", payload, network=network, referral_ref=payload["ref"])


def test_read_model_keeps_the_newest_state(db):
    with session_scope(db) as session:
        tasks.apply_state_changed(session, state_changed("r1", "triage", "2026-03-02T09:00:00+00:00"))
        tasks.apply_state_changed(session, state_changed("r1", "matching", "2026-03-02T10:00:00+00:00"))
        tasks.apply_state_changed(session, state_changed("r1", "triage", "2026-03-02T09:00:00+00:00"))
    with session_scope(db) as session:
        task = session.get(Task, "r1")
        assert task.state == "matching"
        assert tasks.as_utc(task.updated_at).hour == 10


def test_inbox_orders_open_by_deadline_then_closed_and_filters_network(db):
    with session_scope(db) as session:
        tasks.apply_state_changed(session, state_changed("late", "triage", "2026-03-02T09:00:00Z",
                                                         due_at="2026-03-10T09:00:00Z"))
        tasks.apply_state_changed(session, state_changed("soon", "matching", "2026-03-02T09:00:00Z",
                                                         due_at="2026-03-03T09:00:00Z"))
        tasks.apply_state_changed(session, state_changed("nodue", "in_progress", "2026-03-02T11:00:00Z"))
        tasks.apply_state_changed(session, state_changed("done", "closed", "2026-03-02T12:00:00Z"))
        tasks.apply_state_changed(session, state_changed("other", "triage", "2026-03-02T09:00:00Z",
                                                         network="kiel", due_at="2026-03-01T09:00:00Z"))
    with session_scope(db) as session:
        rows = tasks.inbox(session, "mechelen", now=datetime(2026, 3, 2, 12, tzinfo=timezone.utc))
    assert [r["referral_id"] for r in rows] == ["soon", "late", "nodue", "done"]
    assert rows[0]["due_at"] == "2026-03-03T09:00:00+00:00" and rows[0]["open"]
    assert not rows[-1]["open"]


@pytest.mark.parametrize("change, message", [
    ({"to_state": "flying"}, "unknown state"),
    ({"at": "yesterday"}, "ISO 8601"),
    ({"ref": ""}, "misses ref"),
    ({"categories": "truancy"}, "categories"),
])
def test_read_model_refuses_bad_events(db, change, message):
    envelope = state_changed("r1", "triage", "2026-03-02T09:00:00Z")
    envelope["payload"].update(change)
    with session_scope(db) as session, pytest.raises(tasks.TaskEventError, match=message):
        tasks.apply_state_changed(session, envelope)


# --- action arguments ----------------------------------------------------------------------

def test_coordinator_args_set_by_from_the_user_and_validate():
    args = schemas.coordinator_args("triage", {"decision": "accept", "by": "someone-else"}, "coord")
    assert args == {"by": "coord", "decision": "accept", "reason": ""}
    assert schemas.coordinator_args("choose_partner", {"offer_ids": ["o1", "o2", "o1"]}, "coord") == {
        "by": "coord", "offer_ids": ["o1", "o2"]}
    with pytest.raises(schemas.ActionError) as error:
        schemas.coordinator_args("triage", {"decision": "reject"}, "coord")
    assert error.value.field == "reason" and "verplicht" in error.value.message
    with pytest.raises(schemas.ActionError) as error:
        schemas.coordinator_args("choose_partner", {"offer_ids": []}, "coord")
    assert error.value.field == "offer_ids"
    with pytest.raises(schemas.ActionError, match="action"):
        schemas.coordinator_args("partner_respond", {}, "coord")
    with pytest.raises(schemas.ActionError, match="args"):
        schemas.coordinator_args("close", ["outcome"], "coord")


def test_partner_args():
    assert schemas.respond_args({"accept": "1"}, "tok", "Arktos") == {
        "token": "tok", "accept": True, "by": "Arktos", "reason": ""}
    assert schemas.respond_args({"accept": "0", "reason": "no_capacity"}, "tok", "Arktos") == {
        "token": "tok", "accept": False, "by": "Arktos", "reason": "no_capacity", "note": ""}
    with pytest.raises(schemas.ActionError, match="reason"):
        schemas.respond_args({"accept": "0", "reason": "busy"}, "tok", "Arktos")
    with pytest.raises(schemas.ActionError, match="note"):
        schemas.respond_args({"accept": "0", "reason": "other", "note": " "}, "tok", "Arktos")
    assert schemas.end_args({"outcome": "goal_reached", "text": "klaar"}, "tok", "Arktos")["outcome"] == "goal_reached"
    with pytest.raises(schemas.ActionError, match="outcome"):
        schemas.end_args({"outcome": "done", "text": "klaar"}, "tok", "Arktos")
    assert schemas.help_args({"text": "hulp"}, "tok", "Arktos") == {"token": "tok", "by": "Arktos", "text": "hulp"}
    assert schemas.answer_args({"answer": " 4B "}, "t") == {"token": "t", "by": "reporter", "answer": "4B",
                                                           "channel": "link"}
    with pytest.raises(schemas.ActionError, match="accept"):
        schemas.respond_args({"accept": "misschien"}, "tok", "Arktos")
    with pytest.raises(schemas.ActionError, match="text"):
        schemas.feedback_args({"text": ""}, "tok", "Arktos")


def test_every_coordinator_action_builds_its_arguments():
    by = "coord"
    built = {
        "complete_draft": {"school_efforts_done": "1", "summary": "belde 3x"},
        "ask_information": {"question": "Welke klas?"},
        "redirect": {"to_service": "CAW", "reason": "huisvesting"},
        "mark_duplicate": {"target": "NS-2026-000001", "reason": "zelfde"},
        "extend_deadline": {"deadline": "triage", "working_days": "3", "reason": "CLB"},
        "acknowledge": {},
        "withdraw": {"reason": "ingetrokken"},
        "close": {"re_engaged": "partly", "what_was_done": "NAFT-traject"},
    }
    assert schemas.coordinator_args("complete_draft", built["complete_draft"], by)["school_efforts_done"] is True
    assert schemas.coordinator_args("extend_deadline", built["extend_deadline"], by)["working_days"] == 3
    assert schemas.coordinator_args("mark_duplicate", built["mark_duplicate"], by)["target_referral_id"] == "NS-2026-000001"
    for action, data in built.items():
        assert schemas.coordinator_args(action, data, by)["by"] == by
    for action, data, field in [("extend_deadline", {"deadline": "triage", "working_days": "99", "reason": "x"}, "working_days"),
                                ("close", {"re_engaged": "maybe", "what_was_done": "x"}, "re_engaged"),
                                ("close", {"outcome": "resolved"}, "re_engaged"),
                                ("redirect", {"reason": "x"}, "to_service")]:
        with pytest.raises(schemas.ActionError) as error:
            schemas.coordinator_args(action, data, by)
        assert error.value.field == field
    assert schemas.command_id("a1b2-c3") == "a1b2-c3" and schemas.command_id("") is None
    with pytest.raises(schemas.ActionError, match="command_id"):
        schemas.command_id("no spaces!")


def task_updated(referral_id, state, at, revision, **extra):
    payload = {"referral_id": referral_id, "ref": f"REF-{referral_id}", "network": "mechelen",
               "state": state, "at": at, "revision": revision, "urgency": "normal",
               "categories": ["truancy"], "due_at": None, "deadlines": {}, "overdue": {}, "attention": []}
    payload.update(extra)
    return make_envelope("referral_task_updated", payload, network="mechelen", referral_ref=payload["ref"])


def test_task_updates_keep_deadlines_overdue_attention_in_revision_order(db):
    with session_scope(db) as session:
        tasks.apply_state_changed(session, task_updated(
            "r1", "triage", "2026-03-02T09:00:00Z", 2, urgency="urgent", due_at="2026-03-03T09:00:00Z",
            deadlines={"triage": "2026-03-03T09:00:00Z"}))
        tasks.apply_state_changed(session, task_updated(
            "r1", "triage", "2026-03-03T09:00:00Z", 3, urgency="urgent", deadlines={},
            overdue={"triage": "2026-03-03T09:00:00Z"},
            attention=[{"kind": "escalation", "reason": "triage deadline passed", "at": "2026-03-03T09:00:00Z"}]))
        # an older event (revision 1) arriving late changes nothing, even with the same time
        tasks.apply_state_changed(session, task_updated("r1", "draft", "2026-03-03T09:00:00Z", 1))
        tasks.apply_state_changed(session, task_updated("r2", "matching", "2026-03-02T09:00:00Z", 1,
                                                        urgency="normal"))
    now = datetime(2026, 3, 4, tzinfo=timezone.utc)
    with session_scope(db) as session:
        [row] = tasks.inbox(session, "mechelen", urgency="urgent", now=now)
        assert row["state"] == "triage" and row["is_overdue"] and row["urgency"] == "urgent"
        assert row["overdue"] == {"triage": "2026-03-03T09:00:00+00:00"} and row["deadlines"] == {}
        assert row["attention"][0]["kind"] == "escalation"
        assert [r["referral_id"] for r in tasks.inbox(session, "mechelen", state="matching", now=now)] == ["r2"]
        assert [r["referral_id"] for r in tasks.inbox(session, "mechelen", only_overdue=True, now=now)] == ["r1"]
        assert tasks.inbox(session, "kiel", now=now) == []
    with pytest.raises(tasks.TaskEventError, match="urgency"):
        with session_scope(db) as session:
            tasks.apply_state_changed(session, task_updated("r3", "triage", "2026-03-02T09:00:00Z", 1,
                                                            urgency="asap"))


def test_anonymise_marks_the_task_and_is_idempotent(db):
    with session_scope(db) as session:
        tasks.apply_state_changed(session, task_updated(
            "r1", "closed", "2026-03-02T09:00:00Z", 5, deadlines={"retention": "2028-03-02T09:00:00Z"},
            attention=[{"kind": "ready_to_close", "reason": "every partner reported the end"}]))
    event = make_envelope("referral_anonymise", {"referral_id": "r1", "ref": "REF-r1", "network": "mechelen"})
    for _ in range(2):
        with session_scope(db) as session:
            tasks.apply_anonymise(session, event)
    with session_scope(db) as session:
        task = session.get(Task, "r1")
        assert task.anonymised and task.attention == [] and task.deadlines == {}
        assert (task.ref, task.state, task.categories) == ("REF-r1", "closed", ["truancy"])
        # a late event of the referral does not bring anything back
        tasks.apply_state_changed(session, task_updated("r1", "closed", "2026-03-03T09:00:00Z", 9,
                                                        attention=[{"kind": "escalation", "reason": "x"}]))
        assert session.get(Task, "r1").attention == []
        assert tasks.apply_anonymise(session, make_envelope("referral_anonymise", {"referral_id": "nope"})) is None


def test_the_deadline_form_reads_only_deadlines_and_whole_numbers():
    from werkzeug.datastructures import MultiDict

    from netsterk.deadlines import DeadlineError
    from services.portal.admin_pages import deadline_form

    form = MultiDict({"csrf_token": "x", "network": "mechelen", "normal.triage": " 3 ", "normal.matching": "",
                      "urgent.partner_response": "4"})
    assert deadline_form(form) == {"normal": {"triage": 3}, "urgent": {"partner_response": 4}}
    for bad in ({"normal.coffee": "2"}, {"later.triage": "2"}, {"normal.triage": "2.5"}, {"normal.triage": "-1"},
                {"normal.triage": "twee"}):
        with pytest.raises(DeadlineError) as error:
            deadline_form(MultiDict(bad))
        assert error.value.text()
