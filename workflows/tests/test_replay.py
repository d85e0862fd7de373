"""Replay tests: every stored history (workflows/tests/histories/*.json, recorded by
record_histories.py; v1_* by the foundation code before `lifecycle-v2`, v2_* by the current code)
replays against the
current ReferralWorkflow without a nondeterminism error."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.referral.workflow import ReferralWorkflow

HISTORIES = sorted((Path(__file__).resolve().parent / "histories").glob("*.json"))


def test_histories_of_every_version_are_stored():
    names = {path.stem for path in HISTORIES}
    assert {"v1_happy_path", "v1_decline_then_timeout", "v1_rejected"} <= names
    assert {"v2_happy_path", "v2_decline_then_timeout", "v2_rejected", "v2_question_extend_withdraw",
            "v2_draft_merged", "v2_case_conference", "v2_draft_completed"} <= names


def test_v1_histories_have_no_patch_marker_and_v2_histories_have_one():
    for path in HISTORIES:
        markers = [e for e in json.loads(path.read_text())["events"]
                   if e.get("eventType") in ("EVENT_TYPE_MARKER_RECORDED", "MarkerRecorded")]
        assert bool(markers) == path.stem.startswith("v2_"), path.name


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_without_nondeterminism(path):
    history = WorkflowHistory.from_json(f"replay-{path.stem}", json.loads(path.read_text()))
    result = await Replayer(workflows=[ReferralWorkflow]).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
