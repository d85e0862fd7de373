"""A worker process of the scale-out benchmark: `python -m bench.bare_worker ADDRESS QUEUE`.
Runs SharedWorkflow and its activity on QUEUE until SIGTERM."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor


async def main(address: str, queue: str) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    from bench.bare_workflow import SharedWorkflow, whoami

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    client = await Client.connect(address)
    with ThreadPoolExecutor(max_workers=8) as executor:
        async with Worker(client, task_queue=queue, workflows=[SharedWorkflow], activities=[whoami],
                          activity_executor=executor):
            print("worker ready", flush=True)
            await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
    sys.stdout.flush()
    os._exit(0)   # STACK.md: the Temporal SDK can crash at interpreter exit
