"""The coordinator inbox: a read model of referrals, fed only by the workflow's events
(`referral_state_changed`, `referral_task_updated`, `referral_anonymise`), never by asking every
workflow. Reference, network, state, categories, urgency, deadlines; the attention reasons (free
text) are stored encrypted and dropped at anonymisation; erasure removes the row."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from netsterk.contracts import FINAL_STATES, STATES
from netsterk.db import delete_rows
from services.portal.models import Task

URGENCIES = ("normal", "urgent")


class TaskEventError(ValueError):
    """A workflow event payload the read model cannot use."""


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


def _times(payload: dict, key: str) -> dict:
    value = payload.get(key) or {}
    if not isinstance(value, dict):
        raise TaskEventError(f"{key} must be an object of name: ISO time")
    return {str(name): as_utc(parse_time(at)).isoformat() for name, at in value.items()}


def _attention(payload: dict) -> list:
    value = payload.get("attention") or []
    if not isinstance(value, list) or not all(isinstance(a, dict) and a.get("kind") for a in value):
        raise TaskEventError("attention must be a list of {kind, reason, at}")
    return [{"kind": str(a["kind"])[:64], "reason": str(a.get("reason") or "")[:300],
             "at": str(a.get("at") or "")} for a in value]


def apply_state_changed(session: Session, envelope: dict) -> Task:
    """Upsert the task of one referral from `referral_state_changed` or `referral_task_updated`
    (the state is `to_state` or `state`). An event older than the stored one changes nothing:
    by `revision` when the workflow sends it, else by time."""
    payload = envelope["payload"]
    state = payload.get("to_state") or payload.get("state")
    missing = [k for k in ("referral_id", "ref", "network", "at") if not payload.get(k)]
    if not state:
        missing.append("to_state")
    if missing:
        raise TaskEventError(f"{envelope.get('type') or 'event'} misses {', '.join(missing)}")
    if state not in STATES:
        raise TaskEventError(f"unknown state {state!r}")
    at = parse_time(payload["at"])
    due_at = parse_time(payload.get("due_at"))
    revision = payload.get("revision")
    if revision is not None and (not isinstance(revision, int) or isinstance(revision, bool)):
        raise TaskEventError("revision must be a whole number")
    categories = payload.get("categories") or []
    if not isinstance(categories, list):
        raise TaskEventError("categories must be a list")
    urgency = payload.get("urgency") or "normal"
    if urgency not in URGENCIES:
        raise TaskEventError(f"urgency must be one of {', '.join(URGENCIES)}")
    deadlines, overdue, attention = _times(payload, "deadlines"), _times(payload, "overdue"), _attention(payload)
    task = session.get(Task, payload["referral_id"])
    if task is not None:
        if task.anonymised:
            return task
        if revision is not None and task.revision:
            if task.revision >= revision:
                return task
        elif as_utc(task.updated_at) > at:
            return task
    if task is None:
        task = Task(referral_id=payload["referral_id"])
        session.add(task)
    task.ref, task.network, task.state = payload["ref"], payload["network"], state
    task.due_at, task.updated_at = due_at, at
    task.categories = [str(c) for c in categories] or list(task.categories or [])
    task.urgency, task.deadlines, task.overdue, task.attention = urgency, deadlines, overdue, attention
    task.revision = revision or task.revision or 0
    session.flush()
    return task


def apply_anonymise(session: Session, envelope: dict) -> Task | None:
    """`referral_anonymise`: the task keeps no personal data, but is marked and its free texts
    (attention reasons) dropped; later events of the referral change nothing. Idempotent."""
    payload = envelope["payload"]
    if not payload.get("referral_id"):
        raise TaskEventError("referral_anonymise misses referral_id")
    task = session.get(Task, payload["referral_id"])
    if task is None:
        return None
    task.anonymised = True
    task.attention, task.deadlines, task.overdue, task.due_at = [], {}, {}, None
    session.flush()
    return task


def erase(session: Session, envelope: dict) -> dict:
    """`intake.referral_erased`: the referral's task and its partners' engagement rows go.
    Idempotent; returns {table: rows removed}."""
    from services.portal.models import PartnerEngagement

    referral_id = envelope["payload"].get("referral_id")
    if not referral_id:
        raise TaskEventError("referral_erased misses referral_id")
    return {"task": delete_rows(session, Task, Task.referral_id == referral_id),
            "partner_engagement": delete_rows(session, PartnerEngagement,
                                              PartnerEngagement.referral_id == referral_id)}


def is_overdue(task: dict, now: datetime | None = None) -> bool:
    if not task["open"]:
        return False
    now = now or datetime.now(timezone.utc)
    due = parse_time(task["due_at"])
    return bool(task["overdue"]) or (due is not None and due < now)


def _sort_key(task: dict):
    due = parse_time(task["due_at"])
    return (not task["open"], not task["is_overdue"], not task["attention"], due is None,
            due or datetime.min.replace(tzinfo=timezone.utc), -parse_time(task["updated_at"]).timestamp())


def inbox(session: Session, network: str, *, state: str | None = None, urgency: str | None = None,
          only_overdue: bool = False, only_open: bool = False, now: datetime | None = None) -> list[dict]:
    """The network's referrals, filtered; overdue and attention first, then the soonest due;
    closed ones last. Filters run in the database (network, state, urgency) or on the rows."""
    query = select(Task).where(Task.network == network)
    if state:
        query = query.where(Task.state == state)
    if urgency:
        query = query.where(Task.urgency == urgency)
    rows = [task_dict(t, now=now) for t in session.scalars(query)]
    if only_open:
        rows = [r for r in rows if r["open"]]
    if only_overdue:
        rows = [r for r in rows if r["is_overdue"]]
    return sorted(rows, key=_sort_key)


def task_dict(task: Task, now: datetime | None = None) -> dict:
    due = as_utc(task.due_at)
    row = {"referral_id": task.referral_id, "ref": task.ref, "network": task.network,
           "state": task.state, "open": task.state not in FINAL_STATES,
           "due_at": due.isoformat() if due else None,
           "updated_at": as_utc(task.updated_at).isoformat(), "categories": list(task.categories or []),
           "urgency": task.urgency or "normal", "deadlines": dict(task.deadlines or {}),
           "overdue": dict(task.overdue or {}), "attention": list(task.attention or []),
           "anonymised": bool(task.anonymised)}
    if not row["open"]:
        row["deadlines"], row["overdue"], row["attention"] = {}, {}, []
    row["is_overdue"] = is_overdue(row, now)
    return row
