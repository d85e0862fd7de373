"""A case conference's actions as tasks with due dates in ReferralWorkflow (update `add_tasks`,
versioned by `workflow.patched("case-conference")`), on the time-skipping server: due dates in
the snapshot and the read model, overdue → attention and an e-mail to the coordinator, done,
kept across a move, applied once, refused when bad or when the referral is over."""
from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from workflows.referral.workflow import ReferralWorkflow
from workflows.tests.conftest import at, eventually, make_input, skip_past, start, state_is, wait_for


def _tasks(day: str, *ids: str) -> list[dict]:
    return [{"id": i, "text": f"Actie {i}", "owner": "Arktos", "due": day, "source": "conference:c1"} for i in ids]


async def test_conference_actions_become_tasks_with_due_dates(env, worker, boundary):
    handle = await start(env, worker, make_input())
    await state_is(handle, "triage")
    today = (await env.get_current_time()).date()
    due = (today + timedelta(days=7)).isoformat()
    args = {"by": "coord-1", "tasks": _tasks(due, "c1-1", "c1-2"), "source": "conference:c1"}
    snap = await handle.execute_update(ReferralWorkflow.add_tasks, args, id="conference-c1")
    assert [(t["id"], t["due"], t["status"], t["owner"]) for t in snap["tasks"]] == [
        ("c1-1", due, "open", "Arktos"), ("c1-2", due, "open", "Arktos")]
    assert at(snap["deadlines"]["task:c1-1"]).isoformat().startswith(f"{due}T17:00")   # 17:00 in Brussels
    assert snap["log"][-1]["action"] == "add_tasks"
    # the same conference sent again (another command id) adds nothing twice
    snap = await handle.execute_update(ReferralWorkflow.add_tasks, args)
    assert len(snap["tasks"]) == 2
    # the read model hears of the due dates
    await eventually(lambda: _async(any("task:c1-1" in (e.payload.get("deadlines") or {})
                                        for e in boundary.events)), what="task deadline in the read model")
    # a move keeps the tasks' deadlines
    snap = await handle.execute_update(ReferralWorkflow.triage, {"by": "coord-1", "decision": "accept"})
    assert snap["state"] == "matching" and "task:c1-2" in snap["deadlines"]
    # one done; the other passes its due date: overdue, attention and a mail to the coordinator
    snap = await handle.execute_update(ReferralWorkflow.complete_task, {"by": "coord-1", "task_id": "c1-1"})
    assert snap["tasks"][0]["status"] == "done" and "task:c1-1" not in snap["deadlines"]
    await skip_past(env, snap["deadlines"]["task:c1-2"])
    snap = await wait_for(handle, lambda s: "task:c1-2" in s["overdue"], "the task overdue")
    assert any(a["kind"] == "task:c1-2" for a in snap["attention"])
    await eventually(lambda: _async([e for e in boundary.emails if e.template == "coordinator_escalation"
                                     and "c1-2" in e.purpose]), what="the escalation mail")
    # extended: the task's due date moves with its deadline (and stays after a move)
    snap = await handle.execute_update(ReferralWorkflow.extend_deadline, {
        "by": "coord-1", "deadline": "task:c1-2", "working_days": 3, "reason": "wacht op de school"})
    task = next(t for t in snap["tasks"] if t["id"] == "c1-2")
    assert task["due_at"] == snap["deadlines"]["task:c1-2"] and task["due"] > due
    snap = await handle.execute_update(ReferralWorkflow.complete_task,
                                       {"by": "coord-1", "task_id": "c1-2", "note": "gedaan"})
    assert "task:c1-2" not in snap["overdue"] and not any(a["kind"] == "task:c1-2" for a in snap["attention"])


async def _async(value):
    """`eventually` awaits its check: the value, computed when the lambda is called."""
    return value


@pytest.mark.parametrize("args, message", [
    ({"by": "c", "tasks": []}, "non-empty list"),
    ({"by": "c", "tasks": [{"id": "x", "text": "t", "owner": "o", "due": "morgen"}]}, "due must be a date"),
    ({"by": "c", "tasks": [{"id": "x", "text": "t", "owner": "o", "due": "2020-01-01"}]}, "in the past"),
    ({"by": "c", "tasks": [{"id": "x", "text": "", "owner": "o", "due": "2099-01-01"}]}, "text must be"),
    ({"by": "c", "tasks": [{"id": "x", "text": "t", "owner": "o", "due": "2099-01-01", "extra": 1}]}, "does not take"),
])
async def test_bad_tasks_are_refused_with_the_reason(env, worker, args, message):
    handle = await start(env, worker, make_input())
    await state_is(handle, "triage")
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(ReferralWorkflow.add_tasks, args)
    assert message in str(failed.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(ReferralWorkflow.complete_task, {"by": "c", "task_id": "nope"})
    assert "unknown task" in str(failed.value.cause)


async def test_no_tasks_on_a_finished_referral(env, worker):
    handle = await start(env, worker, make_input())
    await state_is(handle, "triage")
    await handle.execute_update(ReferralWorkflow.triage, {"by": "c", "decision": "reject", "reason": "niet voor ons"})
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(ReferralWorkflow.add_tasks, {"by": "c", "tasks": _tasks("2099-01-01", "a")})
    assert "not allowed in state 'rejected'" in str(failed.value.cause)
