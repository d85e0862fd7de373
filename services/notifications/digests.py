"""The coordinator's daily digest (due today, overdue) and the partner's weekly overview of open
engagements, from notifications' own read models of the workflow's events (no personal data).

`daily_digests(factory, send, now)` and `weekly_overviews(factory, send, contacts, now)` are what
the service's timers call (and its RPCs `send_daily_digests` / `send_weekly_overviews`, so a test
or ops can run them at will). Every digest mail has an idempotency key per network (and
organisation) and day (week), so a second run the same day sends nothing new."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from netsterk.contracts import FINAL_STATES
from netsterk.db import session_scope, utcnow
from netsterk.i18n import t
from services.notifications.models import EngagementView, TaskView

ZONE = ZoneInfo("Europe/Brussels")
OPEN_ENGAGEMENT = ("proposed", "accepted")


def _time(value) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else (value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value)


def apply_task(session: Session, envelope: dict) -> None:
    """referral_state_changed / referral_task_updated -> task_view (newest by revision, else time)."""
    p = envelope["payload"]
    state = p.get("to_state") or p.get("state")
    if not (p.get("referral_id") and p.get("ref") and p.get("network") and state):
        raise ValueError("task event misses referral_id, ref, network or state")
    at = _time(p.get("at")) or utcnow()
    revision = p.get("revision") if isinstance(p.get("revision"), int) else 0
    row = session.get(TaskView, p["referral_id"])
    if row is not None:
        if revision and row.revision and revision < row.revision:
            return
        if not revision and _utc(row.at) and at < _utc(row.at):
            return
    else:
        row = TaskView(referral_id=p["referral_id"])
        session.add(row)
    row.ref, row.network, row.state = p["ref"], p["network"], state
    row.due_at = _time(p.get("due_at"))
    row.overdue = p.get("overdue") if isinstance(p.get("overdue"), dict) else {}
    row.revision, row.at = max(revision, row.revision or 0), at


def apply_engagement(session: Session, envelope: dict) -> None:
    """engagement_changed -> engagement_view (an older event changes nothing)."""
    p = envelope["payload"]
    if not (p.get("referral_id") and p.get("offer_id") and p.get("network") and p.get("status")):
        raise ValueError("engagement_changed misses referral_id, offer_id, network or status")
    at = _time(p.get("at")) or utcnow()
    row = session.get(EngagementView, (p["referral_id"], p["offer_id"]))
    if row is not None and _utc(row.at) and at < _utc(row.at):
        return
    if row is None:
        row = EngagementView(referral_id=p["referral_id"], offer_id=p["offer_id"])
        session.add(row)
    row.ref, row.network, row.organisation_id = p.get("ref") or "", p["network"], p.get("organisation_id")
    row.status, row.at = p["status"], at


def _lines(rows: list[TaskView], lang: str) -> str:
    if not rows:
        return t("notifications.list_empty", lang)
    return "\n".join(f"- {r.ref} ({t('state.' + r.state, lang)})" for r in rows)


def coordinator_lists(factory, network: str, now: datetime) -> tuple[list, list]:
    """(due today, overdue) task rows of one network at `now` (days in Europe/Brussels)."""
    local = now.astimezone(ZONE)
    end_of_day = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), ZONE)
    due, overdue = [], []
    with session_scope(factory) as session:
        rows = session.scalars(select(TaskView).where(TaskView.network == network,
                                                      TaskView.state.not_in(FINAL_STATES))
                               .order_by(TaskView.due_at, TaskView.ref)).all()
        for row in rows:
            session.expunge(row)
    for row in rows:
        due_at = _utc(row.due_at)
        if (due_at and due_at < now) or row.overdue:
            overdue.append(row)
        elif due_at and due_at < end_of_day:
            due.append(row)
    return due, overdue


def daily_digests(factory, send, *, now: datetime | None = None, coordinator_address,
                  base_url: str, language=lambda network, to, template: "nl") -> list[dict]:
    """One digest per network with something due today or overdue, to that network's
    coordinators (`coordinator_address(network)`); `send(request)` is send_email,
    `language(network, to, template)` the recipient's language. Returns what was asked to be sent."""
    now = now or utcnow()
    date = now.astimezone(ZONE).date().isoformat()
    with session_scope(factory) as session:
        networks = sorted(set(session.scalars(select(TaskView.network).distinct())))
    results = []
    for network in networks:
        due, overdue = coordinator_lists(factory, network, now)
        if not due and not overdue:
            continue
        ref = f"{network}-{date}"
        to = coordinator_address(network)
        lang = language(network, to, "coordinator_digest")
        request = {"idempotency_key": f"digest:daily:{network}:{date}", "to": to,
                   "template": "coordinator_digest", "lang": lang, "network": network,
                   "referral_ref": ref, "correlation_id": None,
                   "context": {"date": date, "due_count": str(len(due)), "overdue_count": str(len(overdue)),
                               "due_list": _lines(due, lang), "overdue_list": _lines(overdue, lang),
                               "inbox_url": base_url.rstrip("/") + "/"}}
        results.append(dict(send(request), network=network, due=len(due), overdue=len(overdue)))
    return results


def weekly_overviews(factory, send, contacts, *, now: datetime | None = None,
                     language=lambda network, to, template: "nl") -> list[dict]:
    """One overview per organisation with open engagements; `contacts(network)` gives
    {organisation_id: e-mail} (matching's offers), `language(network, to, template)` the
    recipient's language."""
    now = now or utcnow()
    year, week, _ = now.astimezone(ZONE).isocalendar()
    with session_scope(factory) as session:
        rows = session.scalars(select(EngagementView).where(EngagementView.status.in_(OPEN_ENGAGEMENT))
                               .order_by(EngagementView.network, EngagementView.ref)).all()
        rows = [(r.network, r.organisation_id, r.ref, r.status) for r in rows]
    by_org: dict[tuple[str, str], list] = {}
    for network, org, ref, status in rows:
        if org:
            by_org.setdefault((network, org), []).append((ref, status))
    results, addresses = [], {}
    for (network, org), items in sorted(by_org.items()):
        if network not in addresses:
            addresses[network] = contacts(network) or {}
        to = addresses[network].get(org)
        if not to:
            results.append({"network": network, "organisation_id": org, "status": "no_address"})
            continue
        lang = language(network, to, "partner_weekly")
        listing = "\n".join(f"- {ref}: {t('notifications.engagement_status.' + status, lang)}"
                            for ref, status in items)
        request = {"idempotency_key": f"digest:weekly:{network}:{org}:{year}-W{week:02d}", "to": to,
                   "template": "partner_weekly", "lang": lang, "network": network,
                   "referral_ref": f"{network}-{year}-W{week:02d}", "correlation_id": None,
                   "context": {"open_count": str(len(items)), "engagement_list": listing}}
        results.append(dict(send(request), network=network, organisation_id=org, open=len(items)))
    return results
