"""The Temporal worker: `python -m workflows.worker`.

Runs ReferralWorkflow and its activities on settings.temporal_task_queue. Stops cleanly on
SIGTERM/SIGINT (in-flight activities finish first), then leaves with os._exit (STACK.md: the
sdk's exit crash, sdk-python#300).
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from netsterk import metrics
from netsterk.logging import configure_logging, get_logger
from netsterk.settings import get_settings
from workflows.codec import data_converter
from workflows.referral.activities import ReferralActivities
from workflows.referral.workflow import ReferralWorkflow

log = get_logger(__name__)


def build_worker(client: Client, task_queue: str, activities: list,
                 executor: ThreadPoolExecutor) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=[ReferralWorkflow],
                  activities=activities, activity_executor=executor)


async def connect_client(address: str, namespace: str, *, attempts: int = 60) -> Client:
    """Connect to Temporal, waiting for it while it starts (the processes start together)."""
    for attempt in range(1, attempts + 1):
        try:
            return await Client.connect(address, namespace=namespace, data_converter=data_converter())
        except Exception as exc:  # the server is not up yet
            if attempt == attempts:
                raise
            log.info("waiting for temporal", address=address, error=str(exc))
            await asyncio.sleep(1)
    raise RuntimeError("unreachable")


def precompile_workflows() -> None:
    """Write the workflows' bytecode. The sandbox executes the workflow module afresh for every
    workflow instance; without a .pyc (PYTHONDONTWRITEBYTECODE is set on some machines) that means
    compiling ~1,200 lines per new referral (py-spy: a third of the worker's CPU in the benchmark)."""
    import compileall
    from pathlib import Path

    compileall.compile_dir(Path(__file__).resolve().parent, quiet=2)


async def main() -> None:
    configure_logging("workflow_worker")
    precompile_workflows()
    metrics.serve("workflow_worker")  # /metrics on NETSTERK_METRICS_PORT (0: off)
    settings = get_settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    client = await connect_client(settings.temporal_address, settings.temporal_namespace)
    with ThreadPoolExecutor(max_workers=8) as executor:
        worker = build_worker(client, settings.temporal_task_queue,
                              ReferralActivities().all(), executor)
        async with worker:
            log.info("worker running", task_queue=settings.temporal_task_queue,
                     address=settings.temporal_address)
            await stop.wait()
            log.info("worker stopping")
    log.info("worker stopped")


def run_process(main, name: str) -> None:
    """Run an asyncio `main()` of a Temporal-side process, then leave with os._exit (STACK.md:
    the sdk's exit crash, sdk-python#300). Shared by the worker and the bridge."""
    code = 0
    try:
        asyncio.run(main())
    except Exception:
        log.exception(f"{name} failed")
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run_process(main, "worker")
