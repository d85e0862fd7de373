"""Record workflow histories for the replay tests: `python -m workflows.tests.record_histories`.

Runs each scenario on Temporal's time-skipping test server with the fake boundary activities,
fetches the history of the finished workflow and stores it as JSON in
workflows/tests/histories/<prefix>_<scenario>.json. Histories recorded by an older version of the
workflow code are kept: test_replay.py replays every stored file against the current code, which
proves that `workflow.patched` keeps running referrals deterministic.
"""
from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import timedelta
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from workflows.referral.workflow import ReferralWorkflow
from workflows.tests.conftest import FakeBoundary, make_input, skip_past, start, state_is, test_server_path

HISTORIES = Path(__file__).resolve().parent / "histories"


async def happy_path(env, task_queue):
    """Two partners, feedback, help, both report the end, closure, retention, anonymise."""
    handle = await start(env, task_queue, make_input())
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.triage, {"by": "c", "decision": "accept"})
    snap = await handle.execute_update(ReferralWorkflow.choose_partner,
                                       {"by": "c", "offer_ids": ["offer-a", "offer-b"]})
    token_a, token_b = (e["token"] for e in snap["engagements"])
    await handle.execute_update(ReferralWorkflow.partner_respond, {"token": token_a, "accept": True, "by": "a"})
    await handle.execute_update(ReferralWorkflow.partner_respond, {"token": token_b, "accept": True, "by": "b"})
    snap = await handle.query(ReferralWorkflow.snapshot)
    await skip_past(env, snap["deadlines"]["feedback:offer-a"])
    await handle.execute_update(ReferralWorkflow.submit_feedback, {"token": token_a, "by": "a", "text": "gesprek"})
    await handle.execute_update(ReferralWorkflow.ask_help, {"token": token_b, "by": "b", "text": "hulp"})
    await handle.execute_update(ReferralWorkflow.acknowledge, {"by": "c"})
    for token in (token_a, token_b):
        await handle.execute_update(ReferralWorkflow.report_end,
                                    {"token": token, "by": "p", "outcome": "goal_reached", "text": "klaar"})
    await handle.execute_update(ReferralWorkflow.close, {"by": "c", "re_engaged": "partly",
                                                         "what_was_done": "NAFT en huiswerk"})
    return handle


async def decline_then_timeout(env, task_queue):
    """School efforts timeout, a coded decline, a silent partner, back to matching (open)."""
    handle = await start(env, task_queue, make_input(school_efforts_done=False))
    snap = await state_is(handle, "awaiting_school_efforts")
    await skip_past(env, snap["deadlines"]["school_efforts"])
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.triage, {"by": "c", "decision": "accept"})
    snap = await handle.execute_update(ReferralWorkflow.choose_partner, {"by": "c", "offer_ids": ["offer-a"]})
    await handle.execute_update(ReferralWorkflow.partner_respond,
                                {"token": snap["engagements"][0]["token"], "accept": False, "by": "a",
                                 "reason": "no_capacity"})
    snap = await handle.query(ReferralWorkflow.snapshot)
    await skip_past(env, snap["deadlines"]["partner_response:offer-b"])
    await state_is(handle, "matching")
    await handle.execute_update(ReferralWorkflow.choose_partner, {"by": "c", "offer_ids": ["offer-a"]})
    return handle


async def rejected(env, task_queue):
    handle = await start(env, task_queue, make_input())
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.triage,
                                {"by": "c", "decision": "reject", "reason": "not for us"})
    return handle


async def question_extend_withdraw(env, task_queue):
    """A question answered by e-mail, a deadline extended, a triage escalation, withdrawn."""
    handle = await start(env, task_queue, make_input())
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.ask_information, {"by": "c", "question": "Welke klas?"})
    await handle.execute_update(ReferralWorkflow.answer_information,
                                {"by": "reporter", "answer": "4B", "channel": "email"})
    await handle.execute_update(ReferralWorkflow.extend_deadline,
                                {"by": "c", "deadline": "triage", "working_days": 2, "reason": "CLB"})
    snap = await handle.query(ReferralWorkflow.snapshot)
    await skip_past(env, snap["deadlines"]["triage"])
    await handle.execute_update(ReferralWorkflow.withdraw, {"by": "c", "reason": "ingetrokken"})
    return handle


async def draft_merged(env, task_queue):
    """A draft merged into another (open) referral, which gets the signal."""
    target = make_input(ref="MEC-2026-0002")
    target_handle = await start(env, task_queue, target)
    await state_is(target_handle, "triage")
    handle = await start(env, task_queue, make_input(draft=True))
    await state_is(handle, "draft")
    await handle.execute_update(ReferralWorkflow.mark_duplicate,
                                {"by": "c", "target_referral_id": target.referral_id, "reason": "dubbel"})
    return handle


async def draft_completed(env, task_queue):
    """An e-mail draft (its receipt carries the complete-draft link), completed with the facts it
    lacked, engaged (the request carries the decision facts), withdrawn."""
    handle = await start(env, task_queue, make_input(draft=True, categories=[], age=None, reporter_lang="en",
                                                     draft_token="draft-tok-1"))
    await state_is(handle, "draft")
    await handle.execute_update(ReferralWorkflow.complete_draft, {
        "by": "reporter", "school_efforts_done": True,
        "facts": {"categories": ["truancy"], "age": 13, "school_level": "secondary"}})
    await handle.execute_update(ReferralWorkflow.triage, {"by": "c", "decision": "accept"})
    await handle.execute_update(ReferralWorkflow.choose_partner, {"by": "c", "offer_ids": ["offer-a"]})
    await handle.execute_update(ReferralWorkflow.withdraw, {"by": "c", "reason": "ingetrokken"})
    return handle


async def case_conference(env, task_queue):
    """A case conference's actions as tasks (`case-conference`): one done, one overdue, closed."""
    handle = await start(env, task_queue, make_input())
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.triage, {"by": "c", "decision": "accept"})
    snap = await handle.execute_update(ReferralWorkflow.choose_partner, {"by": "c", "offer_ids": ["offer-a"]})
    await handle.execute_update(ReferralWorkflow.partner_respond,
                                {"token": snap["engagements"][0]["token"], "accept": True, "by": "a"})
    due = ((await env.get_current_time()).date() + timedelta(days=3)).isoformat()
    tasks = [{"id": f"c1-{n}", "text": f"actie {n}", "owner": "Arktos", "due": due} for n in (1, 2)]
    await handle.execute_update(ReferralWorkflow.add_tasks, {"by": "c", "tasks": tasks, "source": "conference:c1"})
    await handle.execute_update(ReferralWorkflow.complete_task, {"by": "c", "task_id": "c1-1"})
    snap = await handle.query(ReferralWorkflow.snapshot)
    await skip_past(env, snap["deadlines"]["task:c1-2"])
    await handle.execute_update(ReferralWorkflow.complete_task, {"by": "c", "task_id": "c1-2"})
    await handle.execute_update(ReferralWorkflow.close, {"by": "c", "re_engaged": "yes", "what_was_done": "samen"})
    return handle


SCENARIOS = {"happy_path": happy_path, "decline_then_timeout": decline_then_timeout,
             "rejected": rejected, "question_extend_withdraw": question_extend_withdraw,
             "draft_merged": draft_merged, "case_conference": case_conference,
             "draft_completed": draft_completed}
OPEN_SCENARIOS = {"decline_then_timeout"}   # stored while still running


async def record(prefix: str, only: tuple[str, ...] = ()) -> list[Path]:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=test_server_path())
    written = []
    try:
        task_queue = f"record-{uuid.uuid4().hex[:8]}"
        with ThreadPoolExecutor(max_workers=4) as executor:
            async with Worker(env.client, task_queue=task_queue, workflows=[ReferralWorkflow],
                              activities=FakeBoundary().activities(), activity_executor=executor):
                for name, scenario in SCENARIOS.items():
                    if only and name not in only:
                        continue
                    handle = await scenario(env, task_queue)
                    if name not in OPEN_SCENARIOS:
                        await handle.result()
                    history = await handle.fetch_history()
                    path = HISTORIES / f"{prefix}_{name}.json"
                    path.write_text(history.to_json())
                    written.append(path)
    finally:
        await env.shutdown()
    return written


if __name__ == "__main__":
    # python -m workflows.tests.record_histories PREFIX [SCENARIO ...]
    for written_path in asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "current", tuple(sys.argv[2:]))):
        print(written_path)
