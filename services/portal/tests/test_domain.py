"""Unit tests of the portal's domain: passwords, session cookies, users, the task read model,
action arguments."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import sessionmaker

from netsterk.db import make_engine, session_scope
from netsterk.envelope import make_envelope
from services.portal import auth, schemas, tasks
from services.portal.models import Base, Task

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
    assert first != second and first.startswith("scrypt$")
    assert "geheim" not in first
    assert auth.verify_password("geheim-123", first)
    assert auth.verify_password("geheim-123", second)
    assert not auth.verify_password("geheim-124", first)


def test_verify_password_refuses_malformed_hashes():
    assert not auth.verify_password("x", "")
    assert not auth.verify_password("x", "md5$abc")
    assert not auth.verify_password("x", "scrypt$a$b$c$d$e")


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
        rows = [tasks.task_dict(t) for t in tasks.inbox(session, "mechelen")]
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
    with pytest.raises(schemas.ActionError, match="reason"):
        schemas.respond_args({"accept": "0", "reason": " "}, "tok", "Arktos")
    with pytest.raises(schemas.ActionError, match="accept"):
        schemas.respond_args({"accept": "misschien"}, "tok", "Arktos")
    with pytest.raises(schemas.ActionError, match="text"):
        schemas.feedback_args({"text": ""}, "tok", "Arktos")
