"""Unit tests of small-cell suppression and of the fact rules on a real SQLite database."""
import pytest
from sqlalchemy.orm import sessionmaker

from netsterk.db import make_engine, session_scope, upgrade
from netsterk.envelope import make_envelope
from services.reporting import domain
from services.reporting.reports import public_counts, suppress


def test_cells_of_one_to_four_are_suppressed():
    assert [suppress(n) for n in (0, 1, 4, 5, 12)] == [0, "<5", "<5", 5, 12]
    raw = {"network": "mechelen", "total": 6, "by_state": {"triage": 2, "closed": 4 + 1},
           "by_category": {"truancy": 6, "leisure": 1}}
    assert public_counts(raw) == {"network": "mechelen", "total": 6,
                                  "by_state": {"triage": "<5", "closed": 5},
                                  "by_category": {"truancy": 6, "leisure": "<5"}}


@pytest.fixture
def factory(tmp_path):
    url = f"sqlite:///{tmp_path / 'reporting.db'}"
    upgrade("reporting", url)
    engine = make_engine(url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def submitted(referral_id="r1", categories=("truancy",)):
    return make_envelope("referral_submitted", {
        "referral_id": referral_id, "network": "mechelen", "categories": list(categories),
        "submitted_at": "2026-11-24T08:00:00+00:00"}, network="mechelen")


def changed(to_state, at, referral_id="r1"):
    return make_envelope("referral_state_changed", {
        "referral_id": referral_id, "network": "mechelen", "from_state": None, "to_state": to_state,
        "at": at, "categories": ["truancy"]}, network="mechelen")


def test_state_change_before_submission_and_late_older_change(factory):
    with session_scope(factory) as session:
        domain.apply_state_changed(session, changed("matching", "2026-11-24T10:00:00+00:00"))
    with session_scope(factory) as session:
        domain.apply_submitted(session, submitted(categories=("truancy", "learning")))
        domain.apply_state_changed(session, changed("triage", "2026-11-24T09:00:00+01:00"))
    with session_scope(factory) as session:
        assert domain.counts(session, "mechelen") == {
            "network": "mechelen", "total": 1, "by_state": {"matching": 1},
            "by_category": {"learning": 1, "truancy": 1}}


def test_bad_payloads_are_refused(factory):
    with session_scope(factory) as session:
        with pytest.raises(domain.InvalidEvent, match="to_state"):
            domain.apply_state_changed(session, changed("flying", "2026-11-24T10:00:00+00:00"))
        with pytest.raises(domain.InvalidEvent, match="at must be an ISO 8601"):
            domain.apply_state_changed(session, changed("triage", "yesterday"))
        with pytest.raises(domain.InvalidEvent, match="referral_id"):
            domain.apply_submitted(session, submitted(referral_id=""))
        with pytest.raises(domain.InvalidQuery):
            domain.counts(session, "")
