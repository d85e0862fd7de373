"""Every update's validator refuses a move the transition table forbids (with a clear message)
and bad arguments; a refused action records nothing."""
from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError

from workflows.referral.states import ACTIONS, ALL_ACTIONS
from workflows.referral.workflow import ReferralWorkflow
from workflows.tests.conftest import make_input, start, state_is


async def refused(handle, update, args, message: str):
    before = await handle.query(ReferralWorkflow.snapshot)
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(update, args)
    assert message in str(info.value.cause), str(info.value.cause)
    after = await handle.query(ReferralWorkflow.snapshot)
    assert after["history"] == before["history"] and after["state"] == before["state"]
    assert after["log"] == before["log"]


async def test_every_action_is_refused_where_the_table_forbids_it(env, worker):
    """For each action: a live referral in a state whose entry in the table lacks it."""
    handles = {}
    draft = await start(env, worker, make_input(draft=True))
    handles["draft"] = draft
    triage = await start(env, worker, make_input())
    handles["triage"] = triage
    efforts = await start(env, worker, make_input(school_efforts_done=False))
    handles["awaiting_school_efforts"] = efforts
    for state, handle in handles.items():
        await state_is(handle, state)
    rejected = await start(env, worker, make_input())
    await state_is(rejected, "triage")
    await rejected.execute_update(ReferralWorkflow.triage, {"by": "c", "decision": "reject", "reason": "x"})
    handles["rejected"] = rejected
    for action in ALL_ACTIONS:
        state = next(s for s in handles if action not in ACTIONS[s])
        allowed = ", ".join(ACTIONS[state]) or "none"
        await refused(handles[state], action, {"by": "x"},
                      f"{action} is not allowed in state '{state}' (allowed: {allowed})")


async def test_confirm_school_efforts_validator(env, worker):
    handle = await start(env, worker, make_input(school_efforts_done=False))
    await state_is(handle, "awaiting_school_efforts")
    u = ReferralWorkflow.confirm_school_efforts
    await refused(handle, u, {"by": "s"}, "summary must be a non-empty text")
    await refused(handle, u, {"by": "s", "summary": "   "}, "summary must be a non-empty text")
    await refused(handle, u, {"by": "s", "summary": "x", "extra": 1}, "does not take extra")


async def test_draft_triage_and_coordinator_validators(env, worker):
    handle = await start(env, worker, make_input(draft=True))
    await state_is(handle, "draft")
    await refused(handle, ReferralWorkflow.complete_draft, {"by": "c"},
                  "school_efforts_done must be true or false")
    await refused(handle, ReferralWorkflow.mark_duplicate,
                  {"by": "c", "target_referral_id": (await handle.query(ReferralWorkflow.snapshot))["referral_id"]},
                  "cannot be merged into itself")
    await refused(handle, ReferralWorkflow.extend_deadline,
                  {"by": "c", "deadline": "triage", "working_days": 2, "reason": "x"},
                  "unknown deadline 'triage'; running deadlines: draft")
    await refused(handle, ReferralWorkflow.extend_deadline,
                  {"by": "c", "deadline": "draft", "working_days": 0, "reason": "x"},
                  "working_days must be a whole number from 1 to 60")
    await refused(handle, ReferralWorkflow.extend_deadline,
                  {"by": "c", "deadline": "draft", "working_days": 2}, "reason must be a non-empty text")
    await refused(handle, ReferralWorkflow.acknowledge, {"by": "c"}, "nothing is waiting")
    await refused(handle, ReferralWorkflow.withdraw, {"by": "c"}, "reason must be a non-empty text")

    handle = await start(env, worker, make_input())
    await state_is(handle, "triage")
    u = ReferralWorkflow.triage
    await refused(handle, u, {"by": "c", "decision": "maybe"}, "unknown decision 'maybe'")
    await refused(handle, u, {"by": "c", "decision": "reject"}, "reason must be a non-empty text")
    await refused(handle, u, {"decision": "accept"}, "by must be a non-empty text")
    await refused(handle, u, ["accept"], "triage expects an object of arguments")
    await refused(handle, ReferralWorkflow.redirect, {"by": "c", "reason": "x"},
                  "to_service must be a non-empty text")
    await refused(handle, ReferralWorkflow.answer_information, {"by": "r", "answer": "x"},
                  "no question is waiting for an answer")
    await handle.execute_update(ReferralWorkflow.ask_information, {"by": "c", "question": "Welke klas?"})
    await refused(handle, ReferralWorkflow.ask_information, {"by": "c", "question": "Nog iets?"},
                  "already waiting for an answer")
    await refused(handle, ReferralWorkflow.answer_information,
                  {"by": "r", "answer": "4B", "token": "guess"}, "unknown question token")
    await refused(handle, u, {"by": "c", "decision": "accept"}, "a question to the reporter is still open")


async def test_choose_partner_validator(env, worker):
    handle = await start(env, worker, make_input())
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.triage, {"by": "c", "decision": "accept"})
    u = ReferralWorkflow.choose_partner
    await refused(handle, u, {"by": "c", "offer_ids": ["offer-zz"]},
                  "offer offer-zz is not among the ranked candidates")
    await refused(handle, u, {"by": "c", "offer_ids": []}, "offer_ids must be a non-empty list")
    await refused(handle, u, {"by": "c", "offer_ids": ["offer-a", "offer-a"]}, "names an offer twice")


async def test_partner_validators(env, worker):
    handle = await start(env, worker, make_input())
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.triage, {"by": "c", "decision": "accept"})
    snap = await handle.execute_update(ReferralWorkflow.choose_partner,
                                       {"by": "c", "offer_ids": ["offer-a", "offer-b"]})
    token_a, token_b = (e["token"] for e in snap["engagements"])
    u = ReferralWorkflow.partner_respond
    await refused(handle, u, {"token": "not-a-token", "accept": True, "by": "p"},
                  "unknown engagement token")
    await refused(handle, u, {"token": token_a, "accept": "yes", "by": "p"},
                  "accept must be true or false")
    await refused(handle, u, {"token": token_a, "accept": False, "by": "p"},
                  "reason must be one of no_capacity, outside_area, not_our_expertise, "
                  "family_unreachable, other")
    await refused(handle, u, {"token": token_a, "accept": False, "by": "p", "reason": "busy"},
                  "reason must be one of")
    await refused(handle, u, {"token": token_a, "accept": False, "by": "p", "reason": "other"},
                  "note must say why when the reason is other")

    snap = await handle.execute_update(u, {"token": token_a, "accept": True, "by": "p"})
    assert [e["status"] for e in snap["engagements"]] == ["accepted", "proposed"]
    await refused(handle, u, {"token": token_a, "accept": True, "by": "p"}, "already accepted")
    await refused(handle, ReferralWorkflow.choose_partner, {"by": "c", "offer_ids": ["offer-b"]},
                  "offer offer-b is already engaged")
    f = ReferralWorkflow.submit_feedback
    await refused(handle, f, {"token": token_a, "by": "p", "text": ""}, "text must be a non-empty text")
    await refused(handle, f, {"token": token_b, "by": "p", "text": "hi"},
                  "only an engaged partner can give feedback")
    await refused(handle, f, {"token": token_a, "by": "p", "text": "x" * 5000}, "longer than 4000")
    await refused(handle, ReferralWorkflow.ask_help, {"token": token_b, "by": "p", "text": "help"},
                  "only an engaged partner can ask for help")
    await refused(handle, ReferralWorkflow.report_end,
                  {"token": token_a, "by": "p", "outcome": "done", "text": "x"},
                  "outcome must be one of goal_reached, partly_reached, not_reached, stopped")
    c = ReferralWorkflow.close
    await refused(handle, c, {"by": "c", "outcome": "back at school"}, "close does not take outcome")
    await refused(handle, c, {"by": "c", "re_engaged": "maybe", "what_was_done": "x"},
                  "re_engaged must be one of yes, partly, no")
    await refused(handle, c, {"by": "c", "re_engaged": "yes"}, "what_was_done must be a non-empty text")


def test_a_partner_sees_an_age_band_never_the_age():
    from workflows.referral.shared import age_band
    assert [age_band(a) for a in (6, 11, 12, 15, 16, 18, 19, 25)] == [
        "6-11", "6-11", "12-15", "12-15", "16-18", "16-18", "19-25", "19-25"]
    assert age_band(None) == age_band(5) == age_band(26) == ""


def test_an_email_draft_event_carries_its_draft_token_into_the_input():
    from workflows.referral.shared import ReferralInput
    payload = {"referral_id": "r1", "ref": "NS-1", "network": "mechelen", "channel": "email", "categories": [],
               "postcode": None, "age": None, "school_level": None, "languages": [], "urgency": "normal",
               "school_efforts_done": False, "reporter_email": "a@b.example", "reporter_lang": "en",
               "submitted_at": "2026-12-02T10:00:00+00:00", "draft": True, "draft_token": "tok-1"}
    referral = ReferralInput.from_event({"payload": payload, "correlation_id": "c1"})
    assert referral.draft and referral.draft_token == "tok-1"
    assert ReferralInput.from_event({"payload": dict(payload, draft_token=None),
                                     "correlation_id": "c1"}).draft_token is None
