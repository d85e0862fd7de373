"""Every update validator refuses an action in the wrong state or with bad arguments, and a
refused action records nothing."""
from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError

from workflows.referral.workflow import ReferralWorkflow
from workflows.tests.conftest import make_input, start, state_is


async def refused(handle, update, args, message: str):
    before = await handle.query(ReferralWorkflow.snapshot)
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(update, args)
    assert message in str(info.value.cause), str(info.value.cause)
    after = await handle.query(ReferralWorkflow.snapshot)
    assert after["history"] == before["history"] and after["state"] == before["state"]


async def test_confirm_school_efforts_validator(env, worker):
    handle = await start(env, worker, make_input(school_efforts_done=False))
    await state_is(handle, "awaiting_school_efforts")
    u = ReferralWorkflow.confirm_school_efforts
    await refused(handle, u, {"by": "s"}, "summary must be a non-empty text")
    await refused(handle, u, {"by": "s", "summary": "   "}, "summary must be a non-empty text")
    await refused(handle, u, {"by": "s", "summary": "x", "extra": 1}, "does not take extra")
    await refused(handle, ReferralWorkflow.triage, {"by": "c", "decision": "accept"},
                  "triage is not allowed in state 'awaiting_school_efforts'")


async def test_triage_validator(env, worker):
    handle = await start(env, worker, make_input())
    await state_is(handle, "triage")
    u = ReferralWorkflow.triage
    await refused(handle, u, {"by": "c", "decision": "maybe"}, "unknown decision 'maybe'")
    await refused(handle, u, {"by": "c", "decision": "reject"}, "reason must be a non-empty text")
    await refused(handle, u, {"decision": "accept"}, "by must be a non-empty text")
    await refused(handle, u, ["accept"], "triage expects an object of arguments")
    await refused(handle, ReferralWorkflow.close, {"by": "c", "outcome": "x"},
                  "close is not allowed in state 'triage'")
    await refused(handle, ReferralWorkflow.confirm_school_efforts, {"by": "s", "summary": "x"},
                  "not allowed in state 'triage'")


async def test_choose_partner_validator(env, worker):
    handle = await start(env, worker, make_input())
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.triage, {"by": "c", "decision": "accept"})
    u = ReferralWorkflow.choose_partner
    await refused(handle, u, {"by": "c", "offer_ids": ["offer-zz"]},
                  "offer offer-zz is not among the ranked candidates")
    await refused(handle, u, {"by": "c", "offer_ids": []}, "offer_ids must be a non-empty list")
    await refused(handle, u, {"by": "c", "offer_ids": ["offer-a", "offer-a"]}, "names an offer twice")
    await refused(handle, ReferralWorkflow.partner_respond,
                  {"token": "t", "accept": True, "by": "p"}, "not allowed in state 'matching'")


async def test_partner_respond_and_feedback_validators(env, worker):
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
                  "reason must be a non-empty text")
    await refused(handle, ReferralWorkflow.submit_feedback,
                  {"token": token_a, "by": "p", "text": "x"}, "not allowed in state 'awaiting_partner'")

    snap = await handle.execute_update(u, {"token": token_a, "accept": True, "by": "p"})
    assert [e["status"] for e in snap["engagements"]] == ["accepted", "withdrawn"]
    f = ReferralWorkflow.submit_feedback
    await refused(handle, f, {"token": token_a, "by": "p", "text": ""}, "text must be a non-empty text")
    await refused(handle, f, {"token": token_b, "by": "p", "text": "hi"}, "unknown engagement token")
    await refused(handle, f, {"token": token_a, "by": "p", "text": "x" * 5000}, "longer than 4000")
    await refused(handle, ReferralWorkflow.close, {"by": "c"}, "outcome must be a non-empty text")
    await refused(handle, ReferralWorkflow.partner_respond,
                  {"token": token_b, "accept": True, "by": "p"}, "not allowed in state 'in_progress'")
