"""The bare workflow of the workflow-layer benchmark (bench/bench_workflows.py): N no-op
activities in a row. Its own module with nothing but temporalio: the sandbox re-imports it."""
from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
def noop(step: int) -> int:
    return step


@workflow.defn(name="BenchBareWorkflow")
class BareWorkflow:
    @workflow.run
    async def run(self, activities: int) -> int:
        for step in range(activities):
            await workflow.execute_activity("bench_noop", step, start_to_close_timeout=timedelta(seconds=60))
        return activities


@activity.defn(name="bench_whoami")
def whoami(step: int) -> int:
    """The process that ran the activity: shows which worker took the task."""
    import os

    return os.getpid()


@workflow.defn(name="BenchSharedWorkflow")
class SharedWorkflow:
    """N activities in a row, returning the worker process of each (scale-out benchmark)."""

    @workflow.run
    async def run(self, activities: int) -> list[int]:
        pids = []
        for step in range(activities):
            pids.append(await workflow.execute_activity(
                "bench_whoami", step, start_to_close_timeout=timedelta(seconds=60)))
        return pids
