"""The portal's gauges for /metrics, read from its task table at scrape time: open referrals per
lifecycle state (the running workflows as the portal sees them) and overdue tasks, per network.
Counts only: no ids, no names. netsterk_ops.run_service registers `collector()` for the portal."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from netsterk.contracts import FINAL_STATES
from netsterk.db import make_engine, session_scope
from netsterk.settings import get_settings
from services.portal.models import Task


class TaskCollector:
    def __init__(self, factory: sessionmaker):
        self.factory = factory

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        open_tasks = GaugeMetricFamily("netsterk_referrals_open",
                                       "Referrals not closed, by lifecycle state", labels=["network", "state"])
        overdue = GaugeMetricFamily("netsterk_tasks_overdue",
                                    "Open referrals whose current deadline has passed", labels=["network"])
        now = datetime.now(timezone.utc)
        with session_scope(self.factory) as session:
            live = Task.state.not_in(FINAL_STATES)
            for network, state, count in session.execute(
                    select(Task.network, Task.state, func.count()).where(live)
                    .group_by(Task.network, Task.state)):
                open_tasks.add_metric([network, state], count)
            late = {network: count for network, count in session.execute(
                select(Task.network, func.count()).where(live, Task.due_at.is_not(None), Task.due_at < now)
                .group_by(Task.network))}
            networks = {n for (n,) in session.execute(select(Task.network).distinct())}
            for network in sorted(networks):
                overdue.add_metric([network], late.get(network, 0))
        yield open_tasks
        yield overdue


def collector() -> TaskCollector:
    engine = make_engine(get_settings().database_url("portal"))
    return TaskCollector(sessionmaker(engine, expire_on_commit=False))
