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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from workflows.referral.workflow import ReferralWorkflow
from workflows.tests.conftest import FakeBoundary, make_input, skip_past, start, state_is, test_server_path

HISTORIES = Path(__file__).resolve().parent / "histories"


async def happy_path(env, task_queue):
    handle = await start(env, task_queue, make_input())
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.triage, {"by": "c", "decision": "accept"})
    snap = await handle.execute_update(ReferralWorkflow.choose_partner,
                                       {"by": "c", "offer_ids": ["offer-a", "offer-b"]})
    token = snap["engagements"][0]["token"]
    await handle.execute_update(ReferralWorkflow.partner_respond,
                                {"token": token, "accept": True, "by": "a"})
    snap = await handle.query(ReferralWorkflow.snapshot)
    await skip_past(env, snap["deadlines"]["feedback"])
    await handle.execute_update(ReferralWorkflow.submit_feedback,
                                {"token": token, "by": "a", "text": "eerste gesprek"})
    await handle.execute_update(ReferralWorkflow.close, {"by": "c", "outcome": "back at school"})
    return handle


async def decline_then_timeout(env, task_queue):
    handle = await start(env, task_queue, make_input(school_efforts_done=False))
    snap = await state_is(handle, "awaiting_school_efforts")
    await skip_past(env, snap["deadlines"]["school_efforts"])
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.triage, {"by": "c", "decision": "accept"})
    snap = await handle.execute_update(ReferralWorkflow.choose_partner, {"by": "c", "offer_ids": ["offer-a"]})
    await handle.execute_update(ReferralWorkflow.partner_respond,
                                {"token": snap["engagements"][0]["token"], "accept": False, "by": "a",
                                 "reason": "no capacity"})
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


SCENARIOS = {"happy_path": happy_path, "decline_then_timeout": decline_then_timeout,
             "rejected": rejected}


async def record(prefix: str) -> list[Path]:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=test_server_path())
    written = []
    try:
        task_queue = f"record-{uuid.uuid4().hex[:8]}"
        with ThreadPoolExecutor(max_workers=4) as executor:
            async with Worker(env.client, task_queue=task_queue, workflows=[ReferralWorkflow],
                              activities=FakeBoundary().activities(), activity_executor=executor):
                for name, scenario in SCENARIOS.items():
                    handle = await scenario(env, task_queue)
                    if name != "decline_then_timeout":
                        await handle.result()
                    history = await handle.fetch_history()
                    path = HISTORIES / f"{prefix}_{name}.json"
                    path.write_text(history.to_json())
                    written.append(path)
    finally:
        await env.shutdown()
    return written


if __name__ == "__main__":
    for written_path in asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "current")):
        print(written_path)
