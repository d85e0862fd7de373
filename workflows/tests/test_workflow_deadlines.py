"""Every deadline of ReferralWorkflow fires on the time-skipping server."""
from __future__ import annotations

from workflows.referral.shared import Deadlines
from workflows.referral.workflow import ReferralWorkflow
from workflows.tests.conftest import eventually, make_input, skip_past, start, state_is


async def _to_awaiting_partner(env, worker, offer_ids=("offer-a",), **overrides):
    handle = await start(env, worker, make_input(**overrides))
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.triage, {"by": "c", "decision": "accept"})
    snap = await handle.execute_update(ReferralWorkflow.choose_partner,
                                       {"by": "c", "offer_ids": list(offer_ids)})
    return handle, snap


async def test_school_efforts_reminder_then_move_to_triage(env, worker, boundary):
    handle = await start(env, worker, make_input(school_efforts_done=False))
    snap = await state_is(handle, "awaiting_school_efforts")
    assert snap["allowed_actions"] == ["confirm_school_efforts"]
    await eventually(lambda: _async("school_efforts_request" in boundary.purposes()))
    request = boundary.emails[boundary.purposes().index("school_efforts_request")]
    assert request.to == "care@school.example"
    assert request.link_field == "confirm_url"

    await skip_past(env, snap["deadlines"]["school_efforts_reminder"])
    await eventually(lambda: _async("school_efforts_reminder" in boundary.purposes()),
                     what="school efforts reminder")
    assert (await handle.query(ReferralWorkflow.snapshot))["state"] == "awaiting_school_efforts"

    await skip_past(env, snap["deadlines"]["school_efforts"])
    snap = await state_is(handle, "triage")
    assert snap["history"][-1]["reason"] == "school efforts not confirmed"
    assert snap["history"][-1]["by"] == "system"
    escalation = await eventually(lambda: _async(_find(boundary, "coordinator_escalation")),
                                  what="coordinator escalation")
    assert escalation.context["reason"] == "school efforts not confirmed"
    assert escalation.to is None          # the activity falls back to the coordinator address


async def test_school_efforts_confirmed_moves_to_triage(env, worker, boundary):
    handle = await start(env, worker, make_input(school_efforts_done=False, school_email=None))
    await state_is(handle, "awaiting_school_efforts")
    snap = await handle.execute_update(ReferralWorkflow.confirm_school_efforts,
                                       {"by": "school-1", "summary": "3 calls, 1 letter"})
    assert snap["state"] == "triage"
    assert snap["school_efforts"]["summary"] == "3 calls, 1 letter"
    assert snap["history"][-1]["reason"] == "school efforts confirmed"
    # without a school address the request went to the reporter
    assert _find(boundary, "school_efforts_request").to == "reporter@school.example"


async def test_triage_escalates_once_and_keeps_waiting(env, worker, boundary):
    handle = await start(env, worker, make_input())
    snap = await state_is(handle, "triage")
    await skip_past(env, snap["deadlines"]["triage"])
    await eventually(lambda: _async(_find(boundary, "coordinator_escalation")), what="escalation")
    await env.sleep(60 * 60 * 24 * 10)
    snap = await handle.query(ReferralWorkflow.snapshot)
    assert snap["state"] == "triage" and snap["deadlines"] == {}
    assert boundary.templates().count("coordinator_escalation") == 1
    assert _find(boundary, "coordinator_escalation").context["state"] == "triage"


async def test_matching_escalates_after_a_working_day(env, worker, boundary):
    handle = await start(env, worker, make_input())
    await state_is(handle, "triage")
    snap = await handle.execute_update(ReferralWorkflow.triage, {"by": "c", "decision": "accept"})
    await skip_past(env, snap["deadlines"]["matching"])
    escalation = await eventually(lambda: _async(_find(boundary, "coordinator_escalation")))
    assert escalation.context["state"] == "matching"


async def test_partner_reminder_then_next_candidate(env, worker, boundary):
    handle, snap = await _to_awaiting_partner(env, worker)
    first = snap["engagements"][0]
    await skip_past(env, snap["deadlines"]["partner_reminder:offer-a"])
    reminder = await eventually(lambda: _async(_find(boundary, "partner_reminder")),
                                what="partner reminder")
    assert reminder.to == "a@partner.example"
    assert reminder.purpose == f"partner_reminder:{first['token']}"

    await skip_past(env, snap["deadlines"]["partner_response:offer-a"])

    async def two_engagements():
        s = await handle.query(ReferralWorkflow.snapshot)
        return s if len(s["engagements"]) == 2 else None
    snap = await eventually(two_engagements, what="next candidate engaged")
    assert snap["state"] == "awaiting_partner"
    assert [(e["offer_id"], e["status"]) for e in snap["engagements"]] == [
        ("offer-a", "expired"), ("offer-b", "proposed")]
    assert set(snap["deadlines"]) == {"partner_reminder:offer-b", "partner_response:offer-b"}
    await eventually(lambda: _async([e.to for e in boundary.emails
                                     if e.template == "partner_engagement"] ==
                                    ["a@partner.example", "b@partner.example"]))


async def test_decline_engages_next_and_none_left_goes_back_to_matching(env, worker, boundary):
    handle, snap = await _to_awaiting_partner(env, worker)
    token_a = snap["engagements"][0]["token"]
    snap = await handle.execute_update(ReferralWorkflow.partner_respond,
                                       {"token": token_a, "accept": False, "by": "a",
                                        "reason": "no capacity"})
    assert snap["state"] == "awaiting_partner"
    token_b = snap["engagements"][1]["token"]
    snap = await handle.execute_update(ReferralWorkflow.partner_respond,
                                       {"token": token_b, "accept": False, "by": "b",
                                        "reason": "outside our area"})
    assert snap["state"] == "matching"
    assert snap["history"][-1]["reason"].endswith("no candidate left")
    assert [e["status"] for e in snap["engagements"]] == ["declined", "declined"]
    assert len(boundary.rank_requests) == 2          # ranked again on the way back
    escalation = await eventually(lambda: _async(_find(boundary, "coordinator_escalation")))
    assert escalation.context["state"] == "matching"


async def test_silence_of_the_last_candidate_goes_back_to_matching(env, worker, boundary):
    boundary.candidates = boundary.candidates[:1]
    handle, snap = await _to_awaiting_partner(env, worker)
    await skip_past(env, snap["deadlines"]["partner_response:offer-a"])
    snap = await state_is(handle, "matching")
    assert snap["engagements"][0]["status"] == "expired"


async def test_first_feedback_reminder(env, worker, boundary):
    handle, snap = await _to_awaiting_partner(
        env, worker, deadlines=Deadlines(first_feedback=10, feedback_interval=20))
    token = snap["engagements"][0]["token"]
    snap = await handle.execute_update(ReferralWorkflow.partner_respond,
                                       {"token": token, "accept": True, "by": "a"})
    first_due = snap["deadlines"]["feedback"]
    await skip_past(env, first_due)
    reminder = await eventually(lambda: _async(_find(boundary, "partner_reminder")),
                                what="feedback reminder")
    assert reminder.purpose == "feedback_reminder:1"
    assert reminder.context["kind"] == "feedback"
    snap = await handle.query(ReferralWorkflow.snapshot)
    assert snap["deadlines"]["feedback"] > first_due   # the next report is due later


async def test_custom_deadlines_and_closed_dates(env, worker):
    deadlines = Deadlines(triage=2, closed_dates=["2030-01-02"])
    handle = await start(env, worker, make_input(deadlines=deadlines))
    snap = await state_is(handle, "triage")
    from datetime import datetime
    from workflows.working_days import add_working_days
    entered = datetime.fromisoformat(snap["history"][0]["at"])
    assert snap["deadlines"]["triage"] == add_working_days(entered, 2, ["2030-01-02"]).isoformat()


def _find(boundary, template):
    return next((e for e in boundary.emails if e.template == template), None)


async def _async(value):
    return value
