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
