"""Every timeout path of ReferralWorkflow on the time-skipping server, across a weekend and a
Belgian public holiday: the referrals start on Thursday 24 December 2026 at 10:00 (Brussels);
Friday 25 December is Christmas, then comes a weekend, and 1 January is New Year's Day."""
from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from workflows.config import WorkflowConfig
from workflows.referral.shared import Deadlines
from workflows.referral.workflow import ReferralWorkflow
from workflows.tests.conftest import (
    at, brussels, eventually, make_input, skip_past, skip_to, snap_of, start, state_is, wait_for,
)

CHRISTMAS_EVE = brussels(2026, 12, 24)


async def _start(env, worker, **overrides):
    await skip_to(env, CHRISTMAS_EVE)
    return await start(env, worker, make_input(**overrides))


async def _to_awaiting_partner(env, worker, offer_ids=("offer-a",), **overrides):
    handle = await _start(env, worker, **overrides)
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.triage, {"by": "c", "decision": "accept"})
    snap = await handle.execute_update(ReferralWorkflow.choose_partner,
                                       {"by": "c", "offer_ids": list(offer_ids)})
    return handle, snap


def _find(boundary, template, **context):
    return next((e for e in boundary.emails if e.template == template
                 and all(e.context.get(k) == v for k, v in context.items())), None)


async def _mail(boundary, template, **context):
    async def check():
        return _find(boundary, template, **context)
    return await eventually(check, what=f"e-mail {template}")


async def test_school_efforts_reminder_then_coordinator_decides(env, worker, boundary):
    handle = await _start(env, worker, school_efforts_done=False)
    snap = await state_is(handle, "awaiting_school_efforts")
    assert snap["allowed_actions"][0] == "confirm_school_efforts"
    # 2 and 3 working days after Thu 24 Dec: Fri 25 (Christmas), Sat, Sun do not count
    assert at(snap["deadlines"]["school_efforts_reminder"]) == brussels(2026, 12, 29)
    assert at(snap["deadlines"]["school_efforts"]) == brussels(2026, 12, 30)
    request = await _mail(boundary, "school_efforts_request")
    # no address in the workflow: the activity asks intake for the school's (else the reporter's)
    assert request.to is None and request.recipient == "school_or_reporter"
    assert request.link_field == "confirm_url"
    token = request.link_path.rsplit("/", 1)[1]
    assert request.link_path.startswith("/school-efforts/")
    assert await handle.query(ReferralWorkflow.school_request, "guess") is None
    assert (await handle.query(ReferralWorkflow.school_request, token))["question"] == "school_efforts"

    await skip_to(env, brussels(2026, 12, 28, 23))           # Monday night: nothing yet
    assert [e.purpose for e in boundary.emails].count("school_efforts_reminder") == 0
    await skip_past(env, snap["deadlines"]["school_efforts_reminder"])
    await eventually(lambda: _async("school_efforts_reminder" in boundary.purposes()),
                     what="school efforts reminder")
    assert (await snap_of(handle))["state"] == "awaiting_school_efforts"

    await skip_past(env, snap["deadlines"]["school_efforts"])
    snap = await state_is(handle, "triage")
    assert snap["history"][-1]["reason"] == "school efforts not confirmed"
    assert snap["history"][-1]["by"] == "system"
    escalation = await _mail(boundary, "coordinator_escalation")
    assert escalation.context["reason"] == "school efforts not confirmed"
    assert escalation.to is None and escalation.recipient is None   # the coordinator address
    snap = await wait_for(handle, lambda s: s["attention"], "attention mark")
    assert snap["attention"][0]["kind"] == "escalation"


async def test_school_efforts_confirmed_moves_to_triage(env, worker, boundary):
    handle = await _start(env, worker, school_efforts_done=False)
    await state_is(handle, "awaiting_school_efforts")
    request = await _mail(boundary, "school_efforts_request")
    token = request.link_path.rsplit("/", 1)[1]
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(ReferralWorkflow.confirm_school_efforts,
                                    {"by": "school", "summary": "x", "token": "guess"})
    assert "unknown school link token" in str(info.value.cause)
    snap = await handle.execute_update(ReferralWorkflow.confirm_school_efforts,
                                       {"by": "school-1", "summary": "3 calls, 1 letter", "token": token})
    assert snap["state"] == "triage"
    assert snap["school_efforts"]["summary"] == "3 calls, 1 letter"
    assert _find(boundary, "school_efforts_request").recipient == "school_or_reporter"


async def test_draft_waits_five_working_days_then_coordinator_task(env, worker, boundary):
    handle = await _start(env, worker, draft=True, school_efforts_done=False)
    snap = await state_is(handle, "draft")
    assert snap["fhir_status"] == "draft"
    # 28, 29, 30, 31 Dec, (1 Jan New Year), 4 Jan
    assert at(snap["deadlines"]["draft"]) == brussels(2027, 1, 4)
    await skip_to(env, brussels(2027, 1, 1, 23))
    assert _find(boundary, "coordinator_escalation") is None
    await skip_past(env, snap["deadlines"]["draft"])
    escalation = await _mail(boundary, "coordinator_escalation")
    assert escalation.context["reason"] == "draft not completed in time"
    snap = await wait_for(handle, lambda s: s["overdue"], "overdue draft")
    assert set(snap["overdue"]) == {"draft"} and snap["state"] == "draft"
    snap = await handle.execute_update(ReferralWorkflow.complete_draft,
                                       {"by": "coord", "school_efforts_done": False})
    assert snap["state"] == "awaiting_school_efforts" and snap["overdue"] == {}
    assert snap["history"][-1] == {"from_state": "draft", "to_state": "awaiting_school_efforts",
                                   "by": "coord", "at": snap["history"][-1]["at"],
                                   "reason": "draft completed"}


async def test_triage_escalates_once_and_shows_overdue(env, worker, boundary):
    handle = await _start(env, worker)
    snap = await state_is(handle, "triage")
    assert at(snap["deadlines"]["triage"]) == brussels(2026, 12, 28)
    await skip_past(env, snap["deadlines"]["triage"])
    await _mail(boundary, "coordinator_escalation")
    await env.sleep(timedelta(days=10))
    snap = await snap_of(handle)
    assert snap["state"] == "triage" and snap["deadlines"] == {}
    assert at(snap["overdue"]["triage"]) == brussels(2026, 12, 28)
    assert boundary.templates().count("coordinator_escalation") == 1
    # the read model heard about the overdue mark through a task update
    updates = [e for e in boundary.events if e.event_type == "referral_task_updated"]
    assert updates[-1].payload["overdue"] == {"triage": snap["overdue"]["triage"]}
    assert updates[-1].payload["attention"][0]["kind"] == "escalation"
    revisions = [p.payload["revision"] for p in boundary.published] + [e.payload["revision"] for e in updates]
    assert sorted(revisions) == list(range(1, len(revisions) + 1))


async def test_matching_escalates_after_a_working_day(env, worker, boundary):
    handle = await _start(env, worker)
    await state_is(handle, "triage")
    snap = await handle.execute_update(ReferralWorkflow.triage, {"by": "c", "decision": "accept"})
    assert at(snap["deadlines"]["matching"]) == brussels(2026, 12, 28)
    await skip_past(env, snap["deadlines"]["matching"])
    escalation = await _mail(boundary, "coordinator_escalation")
    assert escalation.context["state"] == "matching"


async def test_partner_reminder_next_candidate_then_escalation(env, worker, boundary):
    handle, snap = await _to_awaiting_partner(env, worker)
    first = snap["engagements"][0]
    assert at(snap["deadlines"]["partner_reminder:offer-a"]) == brussels(2026, 12, 28)
    assert at(snap["deadlines"]["partner_response:offer-a"]) == brussels(2026, 12, 29)
    await skip_past(env, snap["deadlines"]["partner_reminder:offer-a"])
    reminder = await _mail(boundary, "partner_reminder")
    assert reminder.to == "a@partner.example"
    assert reminder.purpose == f"partner_reminder:{first['token']}"

    await skip_past(env, snap["deadlines"]["partner_response:offer-a"])
    snap = await wait_for(handle, lambda s: len(s["engagements"]) == 2, "next candidate engaged")
    assert snap["state"] == "awaiting_partner"
    assert [(e["offer_id"], e["status"]) for e in snap["engagements"]] == [
        ("offer-a", "expired"), ("offer-b", "proposed")]
    assert set(snap["deadlines"]) == {"partner_reminder:offer-b", "partner_response:offer-b"}
    # Tue 29 Dec + 2 working days: 30, 31 Dec (1 Jan is New Year's Day)
    assert at(snap["deadlines"]["partner_response:offer-b"]) == brussels(2026, 12, 31)

    # the last candidate stays silent too: back to matching, the coordinator is told
    await skip_past(env, snap["deadlines"]["partner_response:offer-b"])
    snap = await state_is(handle, "matching")
    assert snap["history"][-1]["reason"] == "no partner answered in time; no candidate left"
    escalation = await _mail(boundary, "coordinator_escalation", state="matching")
    assert "no candidate left" in escalation.context["reason"]
    # organisations that stayed silent are not proposed again
    assert boundary.rank_requests[-1]["exclude_organisation_ids"] == ["org-a", "org-b"]


async def test_decline_with_coded_reason_engages_next(env, worker, boundary):
    handle, snap = await _to_awaiting_partner(env, worker)
    token_a = snap["engagements"][0]["token"]
    snap = await handle.execute_update(ReferralWorkflow.partner_respond,
                                       {"token": token_a, "accept": False, "by": "a",
                                        "reason": "no_capacity"})
    assert snap["state"] == "awaiting_partner"
    assert snap["engagements"][0]["reason"] == "no_capacity"
    token_b = snap["engagements"][1]["token"]
    snap = await handle.execute_update(ReferralWorkflow.partner_respond,
                                       {"token": token_b, "accept": False, "by": "b",
                                        "reason": "other", "note": "we stopped this offer"})
    assert snap["state"] == "matching"
    assert [e["status"] for e in snap["engagements"]] == ["declined", "declined"]
    assert len(boundary.rank_requests) == 2          # ranked again on the way back
    assert snap["log"][-1]["details"] == "partner declined: offer-b (other)"
    def declined():
        return [e.payload for e in boundary.events
                if e.event_type == "engagement_changed" and e.payload["status"] == "declined"]
    await eventually(lambda: _async(len(declined()) == 2), what="two decline events")
    declines = declined()
    assert [(d["organisation_id"], d["reason_code"]) for d in declines] == [
        ("org-a", "no_capacity"), ("org-b", "other")]


async def test_feedback_cadence_first_ten_then_every_twenty(env, worker, boundary):
    handle, snap = await _to_awaiting_partner(env, worker)
    token = snap["engagements"][0]["token"]
    snap = await handle.execute_update(ReferralWorkflow.partner_respond,
                                       {"token": token, "accept": True, "by": "a"})
    first_due = snap["deadlines"]["feedback:offer-a"]
    # 10 working days after Thu 24 Dec: 28-31 Dec, 4-8 Jan, 11 Jan (25 Dec and 1 Jan are holidays)
    assert at(first_due) == brussels(2027, 1, 11)
    await skip_to(env, brussels(2027, 1, 10, 22))
    assert _find(boundary, "feedback_reminder") is None
    await skip_past(env, first_due)
    reminder = await _mail(boundary, "feedback_reminder")
    assert reminder.to == "a@partner.example" and reminder.link_field == "feedback_url"
    snap = await wait_for(handle, lambda s: s["deadlines"]["feedback:offer-a"] != first_due,
                          "next feedback deadline")
    second_due = snap["deadlines"]["feedback:offer-a"]
    assert at(second_due) == brussels(2027, 2, 8)     # 20 working days later
    assert "feedback:offer-a" in snap["overdue"]

    # feedback clears the overdue mark and restarts the 20-day cadence from today
    await skip_to(env, brussels(2027, 1, 15))
    snap = await handle.execute_update(ReferralWorkflow.submit_feedback,
                                       {"token": token, "by": "a", "text": "eerste gesprek"})
    assert snap["overdue"] == {}
    assert at(snap["deadlines"]["feedback:offer-a"]) == brussels(2027, 2, 12)
    await skip_past(env, snap["deadlines"]["feedback:offer-a"])
    await eventually(lambda: _async(boundary.templates().count("feedback_reminder") == 2),
                     what="second feedback reminder")


async def test_information_question_timeout_and_answer(env, worker, boundary):
    handle = await _start(env, worker)
    await state_is(handle, "triage")
    snap = await handle.execute_update(ReferralWorkflow.ask_information,
                                       {"by": "coord", "question": "Welke school?"})
    assert "triage" not in snap["deadlines"]
    assert at(snap["deadlines"]["information"]) == brussels(2027, 1, 4)
    mail = await _mail(boundary, "information_request")
    assert mail.to is None and mail.recipient == "reporter" and mail.link_field == "answer_url"
    token = mail.link_path.rsplit("/", 1)[1]
    assert await handle.query(ReferralWorkflow.open_question, "wrong") is None
    assert (await handle.query(ReferralWorkflow.open_question, token))["question"] == "Welke school?"
    await skip_past(env, snap["deadlines"]["information"])
    escalation = await _mail(boundary, "coordinator_escalation")
    assert escalation.context["reason"] == "the reporter did not answer the question in time"
    snap = await handle.execute_update(ReferralWorkflow.answer_information,
                                       {"by": "reporter", "answer": "Atheneum", "token": token})
    assert snap["questions"][0]["answer"] == "Atheneum" and "token" not in snap["questions"][0]
    assert "triage" in snap["deadlines"] and "information" not in snap["overdue"]
    assert [a["kind"] for a in snap["attention"]] == ["escalation", "information_answered"]


async def test_closure_deadline_after_every_partner_reported_the_end(env, worker, boundary):
    handle, snap = await _to_awaiting_partner(env, worker)
    token = snap["engagements"][0]["token"]
    await handle.execute_update(ReferralWorkflow.partner_respond, {"token": token, "accept": True, "by": "a"})
    snap = await handle.execute_update(ReferralWorkflow.report_end,
                                       {"token": token, "by": "a", "outcome": "goal_reached",
                                        "text": "terug naar school"})
    assert set(snap["deadlines"]) == {"closure"}
    assert snap["attention"][0]["kind"] == "ready_to_close"
    await skip_past(env, snap["deadlines"]["closure"])
    escalation = await _mail(boundary, "coordinator_escalation")
    assert escalation.context["reason"] == "every partner reported the end; close the referral"


async def test_retention_timer_publishes_anonymise(env, worker, boundary):
    handle = await _start(env, worker, deadlines=Deadlines(retention_months=6))
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.triage,
                                {"by": "c", "decision": "reject", "reason": "not for us"})
    snap = await wait_for(handle, lambda s: "retention" in s["deadlines"], "retention timer")
    assert at(snap["deadlines"]["retention"]).date().isoformat() == "2027-06-24"
    await skip_to(env, brussels(2027, 6, 23))
    assert "referral_anonymise" not in boundary.event_types()
    result = await handle.result()          # the server skips the rest of the six months
    assert result["anonymised"] is True and result["state"] == "rejected"
    [event] = [e for e in boundary.events if e.event_type == "referral_anonymise"]
    assert event.message_id.endswith(":anonymise")
    assert event.payload["final_state"] == "rejected" and event.payload["retention_months"] == 6
    assert "reporter_email" not in event.payload


async def test_default_retention_is_24_months(env, worker, boundary):
    handle = await _start(env, worker)
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.withdraw, {"by": "c", "reason": "ingetrokken"})
    snap = await wait_for(handle, lambda s: "retention" in s["deadlines"], "retention timer")
    assert at(snap["deadlines"]["retention"]).date().isoformat() == "2028-12-24"
    result = await handle.result()
    assert result["anonymised"] and "referral_anonymise" in boundary.event_types()


async def test_deadlines_per_network_and_urgency_with_school_holidays(env, worker, tmp_path):
    path = tmp_path / "networks.yaml"
    path.write_text("networks:\n  mechelen:\n    school_holidays: Flemish\n"
                    "    closed_dates: ['2027-01-04']\n    normal: {triage: 2}\n"
                    "    urgent: {triage: 1, partner_response: 3, partner_reminder: 2}\n")
    config = WorkflowConfig.load(path)
    normal, urgent = config.deadlines("mechelen", "normal"), config.deadlines("mechelen", "urgent")
    assert (normal.triage, urgent.triage, urgent.partner_response, urgent.first_feedback) == (2, 1, 3, 5)
    assert WorkflowConfig().deadlines("kiel", "normal") == Deadlines()
    handle = await _start(env, worker, deadlines=normal)
    snap = await state_is(handle, "triage")
    # the Flemish Christmas holidays run to 3 Jan 2027 and 4 Jan is a closed day
    assert at(snap["deadlines"]["triage"]) == brussels(2027, 1, 6)
    urgent_handle = await start(env, worker, make_input(urgency="urgent", deadlines=urgent))
    snap = await state_is(urgent_handle, "triage")
    assert at(snap["deadlines"]["triage"]) == brussels(2027, 1, 5)


async def _async(value):
    return value
