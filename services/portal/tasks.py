"""The coordinator inbox: a read model of referral states, fed by referral_state_changed."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from netsterk.contracts import FINAL_STATES, STATES
from services.portal.models import Task


class TaskEventError(ValueError):
    """A referral_state_changed payload the read model cannot use."""


def parse_time(value) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise TaskEventError(f"not an ISO 8601 time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def apply_state_changed(session: Session, envelope: dict) -> Task:
    """Upsert the task of one referral; an event older than the stored one changes nothing."""
    payload = envelope["payload"]
    missing = [k for k in ("referral_id", "ref", "network", "to_state", "at") if not payload.get(k)]
    if missing:
        raise TaskEventError(f"referral_state_changed misses {', '.join(missing)}")
    if payload["to_state"] not in STATES:
        raise TaskEventError(f"unknown state {payload['to_state']!r}")
    at = parse_time(payload["at"])
    due_at = parse_time(payload.get("due_at"))
    categories = payload.get("categories") or []
    if not isinstance(categories, list):
        raise TaskEventError("categories must be a list")
    task = session.get(Task, payload["referral_id"])
    if task is not None and as_utc(task.updated_at) > at:
        return task
    if task is None:
        task = Task(referral_id=payload["referral_id"])
        session.add(task)
    task.ref, task.network, task.state = payload["ref"], payload["network"], payload["to_state"]
    task.due_at, task.updated_at, task.categories = due_at, at, [str(c) for c in categories]
    session.flush()
    return task


def _sort_key(task: Task):
    closed = task.state in FINAL_STATES
    due = as_utc(task.due_at)
    return (closed, due is None, due or datetime.min.replace(tzinfo=timezone.utc),
            -as_utc(task.updated_at).timestamp())


def inbox(session: Session, network: str) -> list[Task]:
    """The network's referrals: open ones first, soonest deadline first; then closed ones."""
    tasks = session.scalars(select(Task).where(Task.network == network)).all()
    return sorted(tasks, key=_sort_key)


def task_dict(task: Task) -> dict:
    due = as_utc(task.due_at)
    return {"referral_id": task.referral_id, "ref": task.ref, "network": task.network,
            "state": task.state, "open": task.state not in FINAL_STATES,
            "due_at": due.isoformat() if due else None,
            "updated_at": as_utc(task.updated_at).isoformat(), "categories": list(task.categories or [])}
