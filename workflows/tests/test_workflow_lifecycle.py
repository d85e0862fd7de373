"""ReferralWorkflow end to end on the time-skipping server, with fake boundary activities."""
from __future__ import annotations

import pytest

from netsterk.contracts import workflow_id
from workflows.referral.workflow import ReferralWorkflow
from workflows.tests.conftest import make_input, start, state_is


async def test_happy_path_to_closed(env, worker, boundary):
    referral = make_input()
    handle = await start(env, worker, referral)
    snap = await state_is(handle, "triage")
    assert snap["allowed_actions"] == ["triage"]
    assert set(snap["deadlines"]) == {"triage"}

    snap = await handle.execute_update(ReferralWorkflow.triage,
                                       {"by": "coord-1", "decision": "accept", "reason": "fits"})
    assert snap["state"] == "matching"
    assert [c["offer_id"] for c in snap["candidates"]] == ["offer-a", "offer-b"]
    assert boundary.rank_requests[0] == {
        "network": "mechelen", "categories": ["truancy"], "postcode": "2800", "age": 14,
        "school_level": "secondary", "languages": ["nl"], "urgency": "normal",
        "exclude_organisation_ids": []}

    snap = await handle.execute_update(ReferralWorkflow.choose_partner,
                                       {"by": "coord-1", "offer_ids": ["offer-a"]})
    assert snap["state"] == "awaiting_partner"
    [engagement] = snap["engagements"]
    assert engagement["offer_id"] == "offer-a" and engagement["status"] == "proposed"
    token = engagement["token"]
    assert set(snap["deadlines"]) == {"partner_reminder:offer-a", "partner_response:offer-a"}

    snap = await handle.execute_update(ReferralWorkflow.partner_respond,
                                       {"token": token, "accept": True, "by": "partner-a"})
    assert snap["state"] == "in_progress"
    assert snap["allowed_actions"] == ["submit_feedback", "close"]
    snap = await handle.execute_update(ReferralWorkflow.submit_feedback,
                                       {"token": token, "by": "partner-a", "text": "Eerste gesprek gehad."})
    assert snap["feedback"][0]["text"] == "Eerste gesprek gehad."
    snap = await handle.execute_update(ReferralWorkflow.close,
                                       {"by": "coord-1", "outcome": "back at school"})
    assert snap["state"] == "closed"

    result = await handle.result()
    assert result["state"] == "closed" and result["allowed_actions"] == []
    moves = [(h["from_state"], h["to_state"]) for h in result["history"]]
    assert moves == [(None, "triage"), ("triage", "matching"), ("matching", "awaiting_partner"),
                     ("awaiting_partner", "in_progress"), ("in_progress", "closed")]
    assert [h["by"] for h in result["history"]][1:] == ["coord-1", "coord-1", "partner-a", "coord-1"]

    wf_id = workflow_id(referral.referral_id)
    assert [p.message_id for p in boundary.published] == [f"{wf_id}:{n}" for n in range(1, 6)]
    last = boundary.published[-1].payload
    assert last["to_state"] == "closed" and last["fhir_status"] == "completed"
    assert last["categories"] == ["truancy"] and last["due_at"] is None
    assert boundary.published[0].payload["fhir_status"] == "received"
    assert boundary.published[0].payload["due_at"] is not None
    assert boundary.published[0].correlation_id == referral.correlation_id

    assert boundary.templates() == ["reporter_received", "partner_engagement", "reporter_closed"]
    partner_mail = boundary.emails[1]
    assert partner_mail.to == "a@partner.example"
    assert partner_mail.link_field == "accept_url"
    assert partner_mail.link_path == f"/engagements/{referral.referral_id}/{token}"
    closed_mail = boundary.emails[2]
    assert closed_mail.to == referral.reporter_email
    assert closed_mail.context["outcome"] == "back at school"
    assert len(set(boundary.purposes())) == len(boundary.purposes())


@pytest.mark.parametrize("decision,final", [("reject", "rejected"), ("redirect", "redirected")])
async def test_triage_reject_or_redirect_ends_the_workflow(env, worker, boundary, decision, final):
    handle = await start(env, worker, make_input())
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.triage,
                                {"by": "coord-1", "decision": decision, "reason": "not for us"})
    result = await handle.result()
    assert result["state"] == final
    assert result["history"][-1]["reason"] == "not for us"
    assert boundary.templates() == ["reporter_received", "reporter_closed"]
    assert boundary.emails[-1].context == {"ref": "MEC-2026-0001", "outcome": "not for us",
                                           "state": final}
    assert boundary.published[-1].payload["fhir_status"] == (
        "rejected" if final == "rejected" else "cancelled")
