"""Benchmark: the workflow layer. M referral workflows started (API submit) and driven through
triage and the choice of a partner to `awaiting_partner` on the real stack, per second, next to a
bare workflow with the same number of activities (no-op, sync, sandboxed like ours) on the same
Temporal dev server in the same run. Never asserts on time.

    .venv/bin/python -m bench.bench_workflows [--m 100] [--drivers M]
"""
from __future__ import annotations

import argparse
import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor


from bench.bare_workflow import BareWorkflow, noop
from bench.coordinator import Coordinator

BARE_QUEUE = "bench-bare"


def drive_referrals(settings, m: int, drivers: int) -> tuple[float, list[str]]:
    """Submit m referrals (one at a time: see bench/README.md, intake on SQLite) and drive each
    to awaiting_partner through the portal API; seconds from the first submit to the last."""
    from bench.bench_e2e import referral

    coordinator = Coordinator(settings.portal_url)
    submit_lock = threading.Lock()

    def one(index: int) -> str:
        with submit_lock:
            answer = coordinator.http().post(f"{settings.intake_url}/api/v1/referrals",
                                             json=referral(10_000 + index), timeout=120)
        if answer.status_code != 201:
            raise RuntimeError(f"submit: {answer.status_code} {answer.text[:200]}")
        referral_id = answer.json()["id"]
        coordinator.to_partner(referral_id, wait=True)
        return referral_id

    start = time.perf_counter()
    with ThreadPoolExecutor(drivers) as pool:
        ids = list(pool.map(one, range(m)))
    return time.perf_counter() - start, ids


async def activities_of(settings, referral_id: str) -> int:
    from temporalio.client import Client

    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    history = await client.get_workflow_handle(f"referral-{referral_id}").fetch_history()
    return sum(1 for event in history.events if event.HasField("activity_task_scheduled_event_attributes"))


async def bare(settings, m: int, activities: int) -> float:
    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    with ThreadPoolExecutor(16) as executor:
        async with Worker(client, task_queue=BARE_QUEUE, workflows=[BareWorkflow], activities=[noop],
                          activity_executor=executor):
            start = time.perf_counter()
            handles = await asyncio.gather(*(client.start_workflow(
                "BenchBareWorkflow", activities, id=f"bench-bare-{time.time_ns()}-{i}", task_queue=BARE_QUEUE)
                for i in range(m)))
            await asyncio.gather(*(h.result() for h in handles))
            return time.perf_counter() - start


def run(m: int = 100, drivers: int | None = None) -> list[dict]:
    from bench.bench_e2e import bench_stack
    from netsterk import amqp
    from netsterk_ops import demo

    with bench_stack() as (settings, _stack):
        roomy = [dict(org, offers=[dict(o, capacity=100_000) for o in org["offers"]])
                 for org in demo.ORGANISATIONS]
        amqp.rpc_call(settings.amqp_uri, "matching", "import_directory", demo.NETWORK["code"], roomy, timeout=60)
        drive_referrals(settings, 4, 2)                    # warm up
        # every referral in flight at once, as the bare side starts all its workflows at once
        referral_s, ids = drive_referrals(settings, m, drivers or m)
        activities = asyncio.run(activities_of(settings, ids[0]))
        asyncio.run(bare(settings, 4, activities))         # warm up
        bare_s = asyncio.run(bare(settings, m, activities))
    ours, baseline = m / referral_s, m / bare_s
    return [
        {"name": f"workflows.referral_to_awaiting_partner_{m}", "value": round(ours, 2), "unit": "workflows/s",
         "baseline": {"name": f"bare workflow, {activities} no-op activities", "value": round(baseline, 2),
                      "ratio": round(ours / baseline, 3), "aim_ratio": 0.5}},
        {"name": "workflows.activities_to_awaiting_partner", "value": activities, "unit": "activities",
         "baseline": None},
    ]


def main() -> None:
    import os
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--m", type=int, default=100)
    parser.add_argument("--drivers", type=int, default=None, help="default: m (all at once)")
    args = parser.parse_args()
    for row in run(args.m, args.drivers):
        print(row)
    sys.stdout.flush()
    os._exit(0)   # STACK.md: the Temporal SDK can crash at interpreter exit


if __name__ == "__main__":
    main()
