"""The portal's scrape-time gauges on a real (SQLite) portal database: open referrals per state
and overdue tasks per network, closed ones not counted."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy.orm import sessionmaker

from netsterk import metrics
from netsterk.db import make_engine, session_scope, upgrade
from services.portal.gauges import TaskCollector
from services.portal.models import Task


def test_open_and_overdue_per_network(tmp_path):
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    upgrade("portal", url)
    factory = sessionmaker(make_engine(url), expire_on_commit=False)
    now = datetime.now(timezone.utc)
    rows = [("a", "mechelen", "triage", now - timedelta(days=1)),
            ("b", "mechelen", "triage", now + timedelta(days=3)),
            ("c", "mechelen", "awaiting_partner", now - timedelta(hours=2)),
            ("d", "mechelen", "closed", now - timedelta(days=9)),
            ("e", "lier", "matching", None)]
    with session_scope(factory) as session:
        for referral_id, network, state, due in rows:
            session.add(Task(referral_id=referral_id, ref=f"NS-2026-00000{referral_id}", network=network,
                             state=state, due_at=due, updated_at=now))
    registry = CollectorRegistry()
    registry.register(TaskCollector(factory))
    samples = metrics.parse(generate_latest(registry).decode())
    value = lambda name, **labels: sum(v for n, got, v in samples if n == name  # noqa: E731
                                       and all(got.get(k) == x for k, x in labels.items()))
    assert value("netsterk_referrals_open", network="mechelen", state="triage") == 2
    assert value("netsterk_referrals_open", network="mechelen", state="awaiting_partner") == 1
    assert value("netsterk_referrals_open", network="mechelen", state="closed") == 0
    assert value("netsterk_referrals_open", network="lier") == 1
    assert value("netsterk_tasks_overdue", network="mechelen") == 2
    assert value("netsterk_tasks_overdue", network="lier") == 0
