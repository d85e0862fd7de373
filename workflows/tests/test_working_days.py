"""Belgian working-day arithmetic and the transition table."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from netsterk.contracts import FINAL_STATES, STATES
from workflows.referral.shared import Deadlines, ReferralInput
from workflows.referral.states import (
    FHIR_TASK_STATUS, InvalidTransition, TRANSITIONS, allowed_actions, check_transition,
)
from workflows.working_days import add_working_days, is_working_day


@pytest.mark.parametrize("start,n,expected", [
    (datetime(2026, 12, 24, 9), 1, datetime(2026, 12, 28, 9)),    # Christmas Friday, weekend
    (datetime(2026, 4, 3, 9), 1, datetime(2026, 4, 7, 9)),        # Easter Monday 2026-04-06
    (datetime(2026, 11, 27, 14), 1, datetime(2026, 11, 30, 14)),  # Friday -> Monday
    (datetime(2026, 11, 28, 14), 1, datetime(2026, 11, 30, 14)),  # Saturday -> Monday
    (datetime(2026, 11, 23, 8), 3, datetime(2026, 11, 26, 8)),    # plain week
    (datetime(2026, 11, 10, 8), 1, datetime(2026, 11, 12, 8)),    # Armistice 11-11
    (datetime(2026, 4, 30, 8), 1, datetime(2026, 5, 4, 8)),       # Labour Day Friday
    (datetime(2026, 11, 24, 8), 0, datetime(2026, 11, 24, 8)),
])
def test_add_working_days(start, n, expected):
    assert add_working_days(start, n) == expected


def test_extra_closed_dates_and_timezones():
    assert add_working_days(datetime(2026, 11, 23, 9), 1, ["2026-11-24"]) == datetime(2026, 11, 25, 9)
    assert add_working_days(datetime(2026, 11, 23, 9), 1, [date(2026, 11, 24)]) == datetime(2026, 11, 25, 9)
    # 23:30 UTC on Thursday 24 Dec is already Friday 25 Dec 00:30 (Christmas) in Brussels:
    # one working day later is Monday 28 Dec 00:30 Brussels = Sunday 23:30 UTC
    start = datetime(2026, 12, 24, 23, 30, tzinfo=timezone.utc)
    assert add_working_days(start, 1) == datetime(2026, 12, 27, 23, 30, tzinfo=timezone.utc)
    # across the switch to summer time the local hour stays 11:00
    assert add_working_days(datetime(2026, 3, 27, 10, tzinfo=timezone.utc), 1) == \
        datetime(2026, 3, 30, 9, tzinfo=timezone.utc)
    assert not is_working_day(date(2026, 4, 6)) and is_working_day(date(2026, 4, 7))
    with pytest.raises(ValueError):
        add_working_days(datetime(2026, 1, 5), -1)


def test_transition_table():
    assert set(FHIR_TASK_STATUS) == set(STATES)
    check_transition(None, "triage")
    check_transition("triage", "matching")
    check_transition("awaiting_partner", "matching")
    for final in FINAL_STATES:
        assert TRANSITIONS[final] == frozenset() and allowed_actions(final) == []
        with pytest.raises(InvalidTransition):
            check_transition(final, "triage")
    with pytest.raises(InvalidTransition, match="cannot move from 'triage' to 'closed'"):
        check_transition("triage", "closed")
    with pytest.raises(InvalidTransition, match="unknown state 'lost'"):
        check_transition("triage", "lost")


def test_deadlines_defaults_and_checks():
    d = Deadlines()
    assert (d.school_efforts, d.school_efforts_reminder, d.triage, d.matching,
            d.partner_response, d.partner_reminder, d.first_feedback) == (3, 2, 1, 1, 2, 1, 10)
    with pytest.raises(ValueError, match="reminder must come before"):
        Deadlines(partner_reminder=2, partner_response=2)
    with pytest.raises(ValueError, match="triage must be a whole number"):
        Deadlines(triage=0)


def test_input_from_event_names_every_problem():
    envelope = {"correlation_id": "c-1", "payload": {"referral_id": "r1", "ref": "R-1",
                "network": "mechelen", "channel": "web", "categories": ["truancy"],
                "school_efforts_done": True, "reporter_email": "a@b.example",
                "submitted_at": "2026-11-24T09:00:00+00:00"}}
    referral = ReferralInput.from_event(envelope)
    assert referral.referral_id == "r1" and referral.reporter_lang == "nl"
    envelope["payload"].update(categories=[], urgency="now", school_efforts_done="yes")
    with pytest.raises(ValueError) as info:
        ReferralInput.from_event(envelope)
    message = str(info.value)
    assert "categories must name at least one" in message
    assert "urgency must be" in message and "school_efforts_done must be" in message


def test_input_from_event_reads_draft_direct_engagement_keys_and_duplicates():
    envelope = {"correlation_id": "c-1", "payload": {
        "referral_id": "r1", "ref": "R-1", "network": "mechelen", "channel": "phone",
        "categories": ["truancy"], "school_efforts_done": True, "reporter_email": "a@b.example",
        "submitted_at": "2026-11-24T09:00:00+00:00", "draft": False, "person_key": "pk",
        "household_key": "hk", "neighbourhood": "Nekkerspoel",
        "direct_engagement": {"organisation_id": "arktos", "offer_id": "arktos-naft"},
        "possible_duplicates": [{"referral_id": "r0", "ref": "R-0", "match": "person"}]}}
    referral = ReferralInput.from_event(envelope)
    assert referral.direct_engagement == {"organisation_id": "arktos", "offer_id": "arktos-naft"}
    assert (referral.person_key, referral.household_key, referral.neighbourhood) == ("pk", "hk", "Nekkerspoel")
    assert referral.possible_duplicates[0]["ref"] == "R-0" and referral.draft is False
    envelope["payload"].update(draft="yes", direct_engagement="arktos", possible_duplicates="r0")
    with pytest.raises(ValueError) as info:
        ReferralInput.from_event(envelope)
    assert "draft must be true or false" in str(info.value)
    assert "direct_engagement must be an object" in str(info.value)
    assert "possible_duplicates must be a list" in str(info.value)


def test_add_months_clamps_to_the_month_end():
    from workflows.working_days import add_months
    assert add_months(datetime(2026, 1, 31, 9), 1) == datetime(2026, 2, 28, 9)
    assert add_months(datetime(2026, 11, 24, 9), 24) == datetime(2028, 11, 24, 9)
    assert add_months(datetime(2027, 12, 15), 1) == datetime(2028, 1, 15)
