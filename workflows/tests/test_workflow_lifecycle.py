"""ReferralWorkflow through every state of DESIGN §4 on the time-skipping server, with fake
boundary activities: who did what, when and why is recorded for each move."""
from __future__ import annotations

import pytest

from netsterk.contracts import STATES, workflow_id
from workflows.referral.workflow import ReferralWorkflow
from workflows.tests.conftest import eventually, make_input, start, state_is, wait_for


async def _to_matching(env, worker, **overrides):
    referral = make_input(**overrides)
    handle = await start(env, worker, referral)
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.triage, {"by": "coord-1", "decision": "accept",
                                                          "reason": "fits"})
    return referral, handle


async def _mails(boundary, template, n=1):
    async def check():
        found = [e for e in boundary.emails if e.template == template]
        return found if len(found) >= n else None
    return await eventually(check, what=f"{n} e-mail(s) {template}")


async def test_two_partners_feedback_end_and_closure(env, worker, boundary):
    referral, handle = await _to_matching(env, worker)
    snap = await handle.query(ReferralWorkflow.snapshot)
    assert snap["state"] == "matching" and snap["urgency"] == "normal"
    assert [c["offer_id"] for c in snap["candidates"]] == ["offer-a", "offer-b"]
    assert boundary.rank_requests[0]["exclude_organisation_ids"] == []

    # several partners: one engagement each (a NAFT trajectory and homework support)
    snap = await handle.execute_update(ReferralWorkflow.choose_partner,
                                       {"by": "coord-1", "offer_ids": ["offer-a", "offer-b"]})
    assert snap["state"] == "awaiting_partner"
    token_a, token_b = (e["token"] for e in snap["engagements"])
    snap = await handle.execute_update(ReferralWorkflow.partner_respond,
                                       {"token": token_a, "accept": True, "by": "partner-a"})
    assert snap["state"] == "in_progress"
    assert [e["status"] for e in snap["engagements"]] == ["accepted", "proposed"]
    assert {"feedback:offer-a", "partner_response:offer-b"} <= set(snap["deadlines"])
    snap = await handle.execute_update(ReferralWorkflow.partner_respond,
                                       {"token": token_b, "accept": True, "by": "partner-b"})
    assert snap["state"] == "in_progress"
    assert [e["status"] for e in snap["engagements"]] == ["accepted", "accepted"]
    assert set(snap["deadlines"]) == {"feedback:offer-a", "feedback:offer-b"}

    snap = await handle.execute_update(ReferralWorkflow.submit_feedback,
                                       {"token": token_b, "by": "partner-b", "text": "Huiswerkklas gestart."})
    assert snap["feedback"][0]["offer_id"] == "offer-b"
    snap = await handle.execute_update(ReferralWorkflow.ask_help,
                                       {"token": token_a, "by": "partner-a", "text": "Gezin onbereikbaar."})
    assert snap["attention"][-1]["kind"].startswith("help_requested")
    help_mail = (await _mails(boundary, "coordinator_escalation"))[0]
    assert help_mail.context["reason"] == "Arktos asks the coordinator for help"
    snap = await handle.execute_update(ReferralWorkflow.acknowledge, {"by": "coord-1", "note": "gebeld"})
    assert snap["attention"] == [] and snap["log"][-1]["action"] == "acknowledge"

    for token, by in ((token_a, "partner-a"), (token_b, "partner-b")):
        snap = await handle.execute_update(ReferralWorkflow.report_end,
                                           {"token": token, "by": by, "outcome": "goal_reached",
                                            "text": "Terug op school."})
    assert [e["status"] for e in snap["engagements"]] == ["completed", "completed"]
    assert [a["kind"] for a in snap["attention"]] == ["ready_to_close"]

    snap = await handle.execute_update(ReferralWorkflow.close,
                                       {"by": "coord-1", "re_engaged": "yes",
                                        "what_was_done": "NAFT-traject en huiswerkklas"})
    assert snap["state"] == "closed"
    assert snap["closure"] == {"re_engaged": "yes", "what_was_done": "NAFT-traject en huiswerkklas"}
    moves = [(h["from_state"], h["to_state"], h["by"]) for h in snap["history"]]
    assert moves == [(None, "triage", "system"), ("triage", "matching", "coord-1"),
                     ("matching", "awaiting_partner", "coord-1"),
                     ("awaiting_partner", "in_progress", "partner-a"), ("in_progress", "closed", "coord-1")]
    assert all(h["at"] and h["reason"] for h in snap["history"])

    closing = await _mails(boundary, "closure_feedback", 2)
    # roles, not addresses: intake answers at send time (none for the school when it reported)
    assert {(m.to, m.recipient, m.lang) for m in closing} == {
        (None, "reporter", "nl"), (None, "school_other_than_reporter", "nl")}
    assert closing[0].context == {"ref": referral.ref, "re_engaged": "yes",
                                  "what_was_done": "NAFT-traject en huiswerkklas"}
    wf_id = workflow_id(referral.referral_id)
    assert [p.message_id for p in boundary.published] == [f"{wf_id}:{n}" for n in range(1, 6)]
    last = boundary.published[-1].payload
    assert last["to_state"] == "closed" and last["fhir_status"] == "completed"
    assert last["urgency"] == "normal" and last["due_at"] is None
    assert boundary.published[0].payload["fhir_status"] == "received"
    assert len(set(boundary.purposes())) == len(boundary.purposes())
    assert last["re_engaged"] == "yes"
    # matching and reporting hear every engagement change (docs/contracts.md, issue 5)
    def changes():
        return [(e.payload["offer_id"], e.payload["status"], e.payload["end_outcome"])
                for e in boundary.events if e.event_type == "engagement_changed"]

    async def six():
        return len(changes()) == 6
    await eventually(six, what="six engagement changes")
    assert changes() == [("offer-a", "proposed", None), ("offer-b", "proposed", None),
                       ("offer-a", "accepted", None), ("offer-b", "accepted", None),
                       ("offer-a", "ended", "goal_reached"), ("offer-b", "ended", "goal_reached")]
    assert boundary.events[0].message_id == f"{wf_id}:engagement:offer-a:proposed"


@pytest.mark.parametrize("decision,final", [("reject", "rejected"), ("redirect", "redirected")])
async def test_triage_reject_or_redirect_ends_the_referral(env, worker, boundary, decision, final):
    handle = await start(env, worker, make_input())
    await state_is(handle, "triage")
    snap = await handle.execute_update(ReferralWorkflow.triage,
                                       {"by": "coord-1", "decision": decision, "reason": "not for us"})
    assert snap["state"] == final and snap["history"][-1]["reason"] == "not for us"
    mail = (await _mails(boundary, "reporter_closed"))[0]
    assert mail.context == {"ref": "MEC-2026-0001", "outcome": "not for us", "state": final}
    assert boundary.published[-1].payload["fhir_status"] == (
        "rejected" if final == "rejected" else "cancelled")


async def test_redirect_to_another_service(env, worker, boundary):
    _, handle = await _to_matching(env, worker)
    snap = await handle.execute_update(ReferralWorkflow.redirect,
                                       {"by": "coord-1", "to_service": "CAW Boom Mechelen Lier",
                                        "reason": "vraag over huisvesting"})
    assert snap["state"] == "redirected" and snap["redirected_to"] == "CAW Boom Mechelen Lier"
    mail = (await _mails(boundary, "reporter_redirected"))[0]
    assert mail.context["to_service"] == "CAW Boom Mechelen Lier"


async def test_withdraw_tells_the_engaged_partners(env, worker, boundary):
    _, handle = await _to_matching(env, worker)
    await handle.execute_update(ReferralWorkflow.choose_partner,
                                {"by": "coord-1", "offer_ids": ["offer-a", "offer-b"]})
    snap = await handle.execute_update(ReferralWorkflow.withdraw,
                                       {"by": "coord-1", "reason": "de melder trok de melding in"})
    assert snap["state"] == "withdrawn"
    assert [e["status"] for e in snap["engagements"]] == ["withdrawn", "withdrawn"]
    withdrawn = await _mails(boundary, "partner_withdrawn", 2)
    assert {m.to for m in withdrawn} == {"a@partner.example", "b@partner.example"}


async def test_merge_into_another_referral_signals_the_target(env, worker, boundary):
    target = make_input(ref="MEC-2026-0002")
    target_handle = await start(env, worker, target)
    await state_is(target_handle, "triage")
    handle = await start(env, worker, make_input(draft=True))
    await state_is(handle, "draft")
    snap = await handle.execute_update(ReferralWorkflow.mark_duplicate,
                                       {"by": "coord-1", "target_referral_id": target.referral_id,
                                        "reason": "zelfde leerling"})
    assert snap["state"] == "merged" and snap["merged_into"] == target.referral_id
    linked = await wait_for(target_handle, lambda s: s["linked_duplicates"], "the target's link")
    assert linked["linked_duplicates"][0]["ref"] == "MEC-2026-0001"
    assert linked["attention"][0]["kind"] == "duplicate_linked"
    assert linked["log"][-1]["action"] == "duplicate_linked"


async def test_direct_engagement_starts_in_progress(env, worker, boundary):
    """intake names only the ids of the offer; the directory gives names and contact."""
    direct = {"offer_id": "offer-a", "organisation_id": "org-a"}
    handle = await start(env, worker, make_input(direct_engagement=direct))
    snap = await state_is(handle, "in_progress")
    assert snap["history"][0]["from_state"] is None
    assert [(e["organisation_name"], e["offer_name"], e["status"]) for e in snap["engagements"]] == [
        ("Arktos", "Huiswerkbegeleiding", "accepted")]
    assert set(snap["deadlines"]) == {"feedback:offer-a"}
    assert "partner_engagement" not in boundary.templates()


async def test_extend_deadline_and_answer_by_email(env, worker, boundary):
    handle = await start(env, worker, make_input())
    snap = await state_is(handle, "triage")
    before = snap["deadlines"]["triage"]
    snap = await handle.execute_update(ReferralWorkflow.extend_deadline,
                                       {"by": "coord-1", "deadline": "triage", "working_days": 3,
                                        "reason": "wacht op CLB"})
    assert snap["deadlines"]["triage"] > before
    assert snap["log"][-1] == {"action": "extend_deadline", "by": "coord-1", "at": snap["log"][-1]["at"],
                               "details": "triage +3 working days: wacht op CLB"}
    await handle.execute_update(ReferralWorkflow.ask_information, {"by": "coord-1", "question": "Leeftijd?"})
    snap = await handle.execute_update(ReferralWorkflow.answer_information,
                                       {"by": "reporter (e-mail)", "answer": "15", "channel": "email"})
    assert snap["questions"][0]["channel"] == "email"
    assert set(STATES) == {"draft", "awaiting_school_efforts", "triage", "matching", "awaiting_partner",
                           "in_progress", "closed", "redirected", "rejected", "withdrawn", "merged"}


async def test_an_email_draft_is_completed_with_the_facts_it_lacked(env, worker, boundary):
    referral = make_input(draft=True, categories=[], postcode=None, age=None, school_level=None,
                          school_efforts_done=False, reporter_lang="en", draft_token="draft-tok-123")
    handle = await start(env, worker, referral)
    snap = await state_is(handle, "draft")
    assert snap["categories"] == []
    # the receipt asks the reporter, in their language, to complete that one draft (notifications
    # turns the path into a signed, expiring complete_draft link)
    [receipt] = await _mails(boundary, "reporter_draft")
    assert (receipt.purpose, receipt.to, receipt.recipient, receipt.lang) == ("reporter_received", None, "reporter", "en")
    assert (receipt.link_field, receipt.link_path) == ("complete_url",
                                                       f"/drafts/{referral.referral_id}/draft-tok-123")
    assert "reporter_received" not in boundary.templates()
    with pytest.raises(Exception) as info:
        await handle.execute_update(ReferralWorkflow.complete_draft, {"by": "r", "school_efforts_done": True})
    assert "at least one concern category" in str(info.value.cause)
    snap = await handle.execute_update(ReferralWorkflow.complete_draft, {
        "by": "reporter", "school_efforts_done": True,
        "facts": {"categories": ["truancy", "wellbeing"], "postcode": "2800", "age": 15,
                  "school_level": "secondary", "urgency": "urgent"}})
    assert snap["state"] == "triage" and snap["categories"] == ["truancy", "wellbeing"]
    assert snap["urgency"] == "urgent"
    await handle.execute_update(ReferralWorkflow.triage, {"by": "c", "decision": "accept"})
    assert boundary.rank_requests[-1]["categories"] == ["truancy", "wellbeing"]
    assert boundary.rank_requests[-1]["age"] == 15
    assert boundary.published[-1].payload["urgency"] == "urgent"
    # the engagement request tells the partner what it needs to decide, and no more
    snap = await handle.execute_update(ReferralWorkflow.choose_partner, {"by": "c", "offer_ids": ["offer-a"]})
    [request] = await _mails(boundary, "partner_engagement")
    due = snap["deadlines"]["partner_response:offer-a"]
    assert request.context == {
        "ref": referral.ref, "offer_name": "Huiswerkbegeleiding", "categories": ["truancy", "wellbeing"],
        "age_band": "12-15", "school_level": "secondary", "urgency": "urgent", "languages": ["nl"],
        "area": "2800", "answer_by": due[:10]}


async def test_an_accept_takes_a_place_and_a_full_offer_cannot_accept(env, worker, boundary):
    """No overbooking: the accept reserves a place in matching first; when the offer is full the
    accept is refused with the reason and nothing moves, and the partner can still decline."""
    from temporalio.client import WorkflowUpdateFailedError

    referral, handle = await _to_matching(env, worker)
    boundary.full_offers.add("offer-a")
    snap = await handle.execute_update(ReferralWorkflow.choose_partner,
                                       {"by": "coord-1", "offer_ids": ["offer-a", "offer-b"]})
    token_a, token_b = (e["token"] for e in snap["engagements"])
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(ReferralWorkflow.partner_respond,
                                    {"token": token_a, "accept": True, "by": "partner-a"})
    assert "no free place" in str(refused.value.cause) and "no_capacity" in str(refused.value.cause)
    snap = await handle.query(ReferralWorkflow.snapshot)
    assert snap["state"] == "awaiting_partner" and [e["status"] for e in snap["engagements"]] == [
        "proposed", "proposed"]
    snap = await handle.execute_update(ReferralWorkflow.partner_respond,
                                       {"token": token_b, "accept": True, "by": "partner-b"})
    assert snap["state"] == "in_progress"
    assert [(r["offer_id"], r["referral_id"]) for r in boundary.reservations] == [
        ("offer-a", referral.referral_id), ("offer-b", referral.referral_id)]
    snap = await handle.execute_update(ReferralWorkflow.partner_respond,
                                       {"token": token_a, "accept": False, "by": "partner-a",
                                        "reason": "no_capacity"})
    assert [e["status"] for e in snap["engagements"]] == ["declined", "accepted"]
