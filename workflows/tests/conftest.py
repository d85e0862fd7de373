"""Workflow tests: Temporal's time-skipping test server plus fake boundary activities
registered under the real activity names. This test run never imports eventlet or nameko."""
from __future__ import annotations

import asyncio
import shutil
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from netsterk.contracts import workflow_id
from workflows.referral.shared import EmailRequest, ReferralInput, StateChange, WorkflowEvent
from workflows.referral.workflow import ReferralWorkflow

VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session", autouse=True)
def shared_field_key():
    """One field key for this test run and the worker / bridge processes it starts (they inherit
    the environment): workflow payloads are encrypted with it (workflows/codec.py)."""
    import os

    from cryptography.fernet import Fernet

    from netsterk import crypto
    from netsterk.settings import get_settings

    os.environ.setdefault("NETSTERK_FIELD_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    crypto.reset_cache()
    yield


def test_server_path() -> str:
    return shutil.which("temporal-test-server") or str(VENV_BIN / "temporal-test-server")


def temporal_cli_path() -> str:
    return shutil.which("temporal") or str(VENV_BIN / "temporal")


CANDIDATES = [
    {"offer_id": "offer-a", "offer_name": "Huiswerkbegeleiding", "organisation_id": "org-a",
     "organisation_name": "Arktos", "contact_email": "a@partner.example", "score": 0.9,
     "matched": ["category"], "unmatched": [], "explanation": "categories match"},
    {"offer_id": "offer-b", "offer_name": "Outreach", "organisation_id": "org-b",
     "organisation_name": "Profo", "contact_email": "b@partner.example", "score": 0.7,
     "matched": ["category"], "unmatched": ["language"], "explanation": "categories match"},
]


@dataclass
class FakeBoundary:
    """Fake activities under the real names; they record what the workflow asked for."""

    candidates: list = field(default_factory=lambda: [dict(c) for c in CANDIDATES])
    emails: list = field(default_factory=list)
    published: list = field(default_factory=list)
    events: list = field(default_factory=list)
    rank_requests: list = field(default_factory=list)
    full_offers: set = field(default_factory=set)
    reservations: list = field(default_factory=list)

    def activities(self) -> list:
        @activity.defn(name="rank_offers")
        async def rank_offers(request: dict) -> list:
            self.rank_requests.append(request)
            return list(self.candidates)

        @activity.defn(name="send_email")
        async def send_email(request: EmailRequest) -> dict:
            self.emails.append(request)
            return {"status": "sent", "mail_id": f"mail-{len(self.emails)}"}

        @activity.defn(name="publish_state_change")
        async def publish_state_change(change: StateChange) -> str:
            self.published.append(change)
            return change.message_id

        @activity.defn(name="publish_workflow_event")
        async def publish_workflow_event(event: WorkflowEvent) -> str:
            self.events.append(event)
            return event.message_id

        @activity.defn(name="describe_offer")
        async def describe_offer(request: dict) -> dict | None:
            return next(({k: c[k] for k in ("offer_id", "offer_name", "organisation_id",
                                            "organisation_name", "contact_email")}
                         for c in self.candidates if c["offer_id"] == request.get("offer_id")), None)

        @activity.defn(name="reserve_place")
        async def reserve_place(request: dict) -> dict:
            self.reservations.append(request)
            if request["offer_id"] in self.full_offers:
                return {"reserved": False, "reason": "no free place left this month"}
            return {"reserved": True, "free_places": 1}

        return [rank_offers, send_email, publish_state_change, publish_workflow_event, describe_offer,
                reserve_place]

    def purposes(self) -> list[str]:
        return [e.purpose for e in self.emails]

    def templates(self) -> list[str]:
        return [e.template for e in self.emails]

    def event_types(self) -> list[str]:
        return [e.event_type for e in self.events]


def make_input(**overrides) -> ReferralInput:
    referral_id = overrides.pop("referral_id", uuid.uuid4().hex)
    values = dict(
        referral_id=referral_id, ref="MEC-2026-0001", network="mechelen", channel="web",
        categories=["truancy"], postcode="2800", age=14, school_level="secondary",
        languages=["nl"], urgency="normal", school_efforts_done=True,
        reporter_lang="nl", submitted_at="2026-11-24T09:00:00+00:00",
        correlation_id=f"corr-{referral_id}")
    values.update(overrides)
    return ReferralInput(**values)


@pytest.fixture
async def env():
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_path())
    try:
        yield environment
    finally:
        await environment.shutdown()


@pytest.fixture
def boundary():
    return FakeBoundary()


@pytest.fixture
async def worker(env, boundary):
    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with Worker(env.client, task_queue=task_queue, workflows=[ReferralWorkflow],
                          activities=boundary.activities(), activity_executor=executor):
            yield task_queue


async def start(env, task_queue, referral: ReferralInput):
    return await env.client.start_workflow(
        ReferralWorkflow.run, referral, id=workflow_id(referral.referral_id), task_queue=task_queue)


async def eventually(check, *, timeout: float = 10.0, what: str = "condition"):
    """Await until the async `check()` returns a truthy value (real time, no skipping)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = None
    while loop.time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


async def state_is(handle, state: str, timeout: float = 10.0) -> dict:
    async def check():
        snap = await handle.query(ReferralWorkflow.snapshot)
        return snap if snap["state"] == state else None
    return await eventually(check, timeout=timeout, what=f"state {state}")


async def skip_past(env, due_iso: str, extra: timedelta = timedelta(minutes=1)) -> None:
    """Skip the test server's clock to just after an ISO deadline."""
    from datetime import datetime
    due = datetime.fromisoformat(due_iso)
    now = await env.get_current_time()
    await env.sleep(max(due - now, timedelta(0)) + extra)


BRUSSELS = ZoneInfo("Europe/Brussels")


def brussels(year, month, day, hour=10, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BRUSSELS)


async def skip_to(env, when: datetime) -> None:
    """Move the test server's clock forward to `when` (never back)."""
    now = await env.get_current_time()
    if when > now:
        await env.sleep(when - now)


async def snap_of(handle) -> dict:
    return await handle.query(ReferralWorkflow.snapshot)


async def wait_for(handle, check, what: str, timeout: float = 10.0) -> dict:
    """Await until `check(snapshot)` is truthy; returns the snapshot."""
    async def probe():
        snap = await handle.query(ReferralWorkflow.snapshot)
        return snap if check(snap) else None
    return await eventually(probe, timeout=timeout, what=what)


def at(iso: str) -> datetime:
    """An ISO time in Brussels, to the minute (the server clock drifts by milliseconds)."""
    return datetime.fromisoformat(iso).astimezone(BRUSSELS).replace(second=0, microsecond=0)
