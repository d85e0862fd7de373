"""Case conferences (issue 13): when no offer fits, when partners decline, or on request, the
coordinator convenes the people involved (school, CLB, partners, the family where right):
proposes times, invites them (e-mail with an iCalendar attachment, METHOD:REQUEST), records who
came, the decisions and the actions. The actions become tasks with due dates in the referral's
workflow (the portal hands them to the bridge; `tasks_sent` records that it was done)."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from netsterk import ical
from netsterk.db import utcnow
from netsterk.i18n import both, t
from services.intake.wraparound import Refusal, a_date, audit, chain, choice, referral_in_network, text, viewer_of
from services.intake.wraparound_models import Conference

REASONS = ("no_offer", "declined", "request")
ROLES = ("school", "clb", "partner", "family", "other")
MAX_TIMES = 5
MAX_INVITEES = 20
MAX_ACTIONS = 20
LOCAL = ZoneInfo("Europe/Brussels")


def _coordinator(raw) -> dict:
    viewer = viewer_of(raw)
    if viewer["role"] != "coordinator":
        raise Refusal(403, both("wrap.forbidden"))
    return viewer


def _email(value) -> bool:
    return isinstance(value, str) and 3 <= len(value) <= 254 and value.count("@") == 1 \
        and "." in value.rsplit("@", 1)[1] and not any(c.isspace() for c in value)


def parse_time(value) -> datetime:
    """An ISO time; without an offset it is local time in Brussels. Returned in UTC."""
    moment = datetime.fromisoformat(str(value).strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL)
    return moment.astimezone(timezone.utc)


def create(session: Session, referral_id: str, viewer, data: dict) -> dict:
    viewer = _coordinator(viewer)
    referral = referral_in_network(session, referral_id, viewer["network"])
    if not isinstance(data, dict):
        raise Refusal(422, both("wrap.bad_request"))
    reason = choice(data, "reason", REASONS)
    location = text(data, "location", limit=200)
    raw_times = [v for v in (data.get("proposed_times") or []) if str(v).strip()]
    if not raw_times:
        raise Refusal(422, both("wrap.conference.times_required"), "proposed_times")
    if len(raw_times) > MAX_TIMES:
        raise Refusal(422, both("wrap.conference.too_many", limit=MAX_TIMES), "proposed_times")
    try:
        times = sorted({parse_time(v) for v in raw_times})
    except ValueError:
        raise Refusal(422, both("wrap.bad_time"), "proposed_times") from None
    if times[0] <= utcnow():
        raise Refusal(422, both("wrap.conference.time_past"), "proposed_times")
    try:
        duration = int(data.get("duration_minutes") or 60)
    except (TypeError, ValueError):
        duration = 0
    if not 15 <= duration <= 480:
        raise Refusal(422, both("wrap.conference.duration"), "duration_minutes")
    invitees = []
    for raw in data.get("invitees") or []:
        if not isinstance(raw, dict) or not str(raw.get("email") or "").strip():
            continue
        email = str(raw["email"]).strip()
        if not _email(email):
            raise Refusal(422, both("wrap.conference.bad_email", email=email[:60]), "invitees")
        invitees.append({"email": email, "role": choice(raw, "role", ROLES, "other"),
                         "name": str(raw.get("name") or "").strip()[:200]})
    if not invitees:
        raise Refusal(422, both("wrap.conference.invitees_required"), "invitees")
    if len(invitees) > MAX_INVITEES or len({i["email"].lower() for i in invitees}) != len(invitees):
        raise Refusal(422, both("wrap.conference.invitees_unique", limit=MAX_INVITEES), "invitees")
    conference = Conference(
        id=str(uuid.uuid4()), network=referral.network, referral_id=referral.id, reason=reason,
        status="proposed", location=location, duration_minutes=duration,
        proposed_times=[m.isoformat() for m in times], invitees=json.dumps(invitees), sequence=0,
        attendance=[], created_by=viewer["by"], created_at=utcnow())
    session.add(conference)
    audit(session, viewer, "conference", conference.id, "conference_proposed", referral_id=referral.id,
          fields=["reason", "location", "proposed_times", "invitees"])
    session.flush()
    return view(conference, referral.ref)


def _get(session: Session, conference_id: str, viewer: dict) -> Conference:
    conference = session.get(Conference, str(conference_id or ""))
    if conference is None or conference.network != viewer["network"]:
        raise Refusal(404, both("wrap.conference.not_found"))
    return conference


def invitations(session: Session, conference_id: str, viewer, *, organizer: str,
                lang: str = "nl") -> list[dict]:
    """The invitation mails (one per invitee and calendar method). Before a time is confirmed: one
    .ics (METHOD:REQUEST) with a TENTATIVE VEVENT per proposed time. After: a REQUEST for the
    chosen time (CONFIRMED, SEQUENCE raised) and a CANCEL for the other proposed times, so the
    invitees' calendars keep one event. Idempotency keys carry the SEQUENCE: sending again after a
    change re-invites, sending the same twice does not. No personal data of the young person in
    the mail: the reference only."""
    viewer = _coordinator(viewer)
    conference = _get(session, conference_id, viewer)
    if conference.status == "held":
        raise Refusal(422, both("wrap.conference.already_held"))
    referral = referral_in_network(session, conference.referral_id, viewer["network"])
    invitees = json.loads(conference.invitees)
    summary = f"{t('wrap.conference.summary', 'nl', ref=referral.ref)} / {t('wrap.conference.summary', 'en', ref=referral.ref)}"
    attendees = [(i["email"], i["name"] or i["role"]) for i in invitees]

    def event(n: int, start: datetime, status: str) -> ical.Event:
        return ical.Event(uid=f"{conference.id}-{n}@netsterk", start=start,
                          end=start + timedelta(minutes=conference.duration_minutes), summary=summary,
                          description=both("wrap.conference.ics_description"), location=conference.location,
                          sequence=conference.sequence, status=status, attendees=attendees)

    times = [(n, datetime.fromisoformat(v)) for n, v in enumerate(conference.proposed_times)]
    if conference.confirmed_time:
        chosen = [(n, m) for n, m in times if conference.proposed_times[n] == conference.confirmed_time]
        others = [(n, m) for n, m in times if conference.proposed_times[n] != conference.confirmed_time]
        calendars = [("REQUEST", [event(n, m, "CONFIRMED") for n, m in chosen], "wrap.conference.mail_confirmed", chosen)]
        if others:
            calendars.append(("CANCEL", [event(n, m, "CANCELLED") for n, m in others],
                              "wrap.conference.mail_cancelled", others))
    else:
        calendars = [("REQUEST", [event(n, m, "CONFIRMED" if len(times) == 1 else "TENTATIVE") for n, m in times],
                      "wrap.conference.mail_body", times)]
    if conference.invited_at is None:
        conference.invited_at = utcnow()
    conference.status = "invited"
    audit(session, viewer, "conference", conference.id, "invitations_sent", referral_id=referral.id,
          fields=["invitees"] + (["confirmed_time"] if conference.confirmed_time else []))
    mails = []
    for method, events, body_key, moments in calendars:
        ics = ical.invitation(events, organizer=organizer, method=method)
        when = "\n".join(f"- {m.astimezone(LOCAL).strftime('%Y-%m-%d %H:%M')}" for _n, m in moments)
        body = "\n\n".join(t(body_key, lng, ref=referral.ref, times=when, location=conference.location,
                               minutes=conference.duration_minutes) for lng in ("nl", "en"))
        prefix = "" if method == "REQUEST" else f"{t('wrap.conference.cancelled', 'nl')} / {t('wrap.conference.cancelled', 'en')}: "
        for invitee in invitees:
            mails.append({
                "idempotency_key": f"conference:{conference.id}:{conference.sequence}:{method.lower()}:"
                                   f"{invitee['email'].lower()}",
                "to": invitee["email"], "lang": lang, "subject": prefix + summary + f" [{referral.ref}]",
                "body": body, "ics": ics, "method": method, "network": referral.network,
                "referral_ref": referral.ref, "correlation_id": referral.correlation_id})
    return mails


def confirm_time(session: Session, conference_id: str, viewer, data: dict) -> None:
    """The coordinator settles on one of the proposed times: SEQUENCE goes up; invitations()
    then sends the confirmed time and cancels the others."""
    viewer = _coordinator(viewer)
    conference = _get(session, conference_id, viewer)
    if conference.status != "invited":
        raise Refusal(422, both("wrap.conference.not_invited" if conference.status == "proposed"
                                else "wrap.conference.already_held"))
    chosen = (data or {}).get("time") if isinstance(data, dict) else None
    if chosen not in conference.proposed_times:
        raise Refusal(422, both("wrap.conference.choose_time"), "time")
    if conference.confirmed_time == chosen:
        raise Refusal(422, both("wrap.nothing_changed"), "time")
    conference.confirmed_time = chosen
    conference.sequence += 1
    audit(session, viewer, "conference", conference.id, "time_confirmed", referral_id=conference.referral_id,
          fields=["confirmed_time"])


def record(session: Session, conference_id: str, viewer, data: dict) -> dict:
    """Who came, what was decided, which actions follow (each: what, who, by when)."""
    viewer = _coordinator(viewer)
    conference = _get(session, conference_id, viewer)
    referral = referral_in_network(session, conference.referral_id, viewer["network"])
    if conference.status == "held":
        raise Refusal(422, both("wrap.conference.already_held"))
    if not isinstance(data, dict):
        raise Refusal(422, both("wrap.bad_request"))
    if conference.status != "invited":
        raise Refusal(422, both("wrap.conference.not_invited"))
    held_at = text(dict(data, held_at=data.get("held_at") or conference.confirmed_time), "held_at", limit=40)
    if held_at not in conference.proposed_times:
        try:
            held_at = parse_time(held_at).isoformat()
        except ValueError:
            raise Refusal(422, both("wrap.bad_time"), "held_at") from None
    invitees = json.loads(conference.invitees)
    try:
        present = sorted({int(i) for i in data.get("present") or []})
    except (TypeError, ValueError):
        raise Refusal(422, both("wrap.conference.bad_attendance"), "present") from None
    if any(i < 0 or i >= len(invitees) for i in present):
        raise Refusal(422, both("wrap.conference.bad_attendance"), "present")
    decisions = text(data, "decisions")
    actions = []
    for raw in data.get("actions") or []:
        if not isinstance(raw, dict) or not any(str(raw.get(k) or "").strip() for k in ("text", "owner", "due")):
            continue
        actions.append({"text": text(raw, "text", limit=500), "owner": text(raw, "owner", limit=200),
                        "due": a_date(raw, "due", required=True).isoformat()})
    if len(actions) > MAX_ACTIONS:
        raise Refusal(422, both("wrap.conference.too_many_actions", limit=MAX_ACTIONS), "actions")
    for action in actions:
        if action["due"] < utcnow().date().isoformat():
            raise Refusal(422, both("wrap.conference.due_past"), "actions")
    conference.held_at, conference.attendance = held_at, present
    conference.decisions, conference.actions = decisions, json.dumps(actions)
    conference.status = "held"
    audit(session, viewer, "conference", conference.id, "conference_recorded", referral_id=referral.id,
          fields=["attendance", "decisions", "actions"])
    return view(conference, referral.ref)


def workflow_tasks(conference: Conference) -> list[dict]:
    """The actions as the workflow's tasks: id (stable per conference and action), text, owner, due."""
    return [{"id": f"{conference.id[:8]}-{n + 1}", "text": a["text"], "owner": a["owner"],
             "due": a["due"], "source": f"conference:{conference.id}"}
            for n, a in enumerate(json.loads(conference.actions or "[]"))]


def tasks_sent(session: Session, conference_id: str, viewer) -> dict:
    viewer = _coordinator(viewer)
    conference = _get(session, conference_id, viewer)
    if conference.tasks_sent_at is None:
        conference.tasks_sent_at = utcnow()
        audit(session, viewer, "conference", conference.id, "tasks_created",
              referral_id=conference.referral_id, fields=["actions"])
    referral = referral_in_network(session, conference.referral_id, viewer["network"])
    return view(conference, referral.ref)


# the personal data a conference's view shows (names for the audit log)
SHOWN_FIELDS = ("reason", "location", "invitees", "attendance", "decisions", "actions")


def view(conference: Conference, ref: str) -> dict:
    return {"id": conference.id, "referral_id": conference.referral_id, "ref": ref,
            "reason": conference.reason, "status": conference.status, "location": conference.location,
            "duration_minutes": conference.duration_minutes,
            "proposed_times": list(conference.proposed_times),
            "invitees": json.loads(conference.invitees), "sequence": conference.sequence,
            "confirmed_time": conference.confirmed_time,
            "invited_at": conference.invited_at.isoformat() if conference.invited_at else None,
            "held_at": conference.held_at, "attendance": list(conference.attendance or []),
            "decisions": conference.decisions, "actions": json.loads(conference.actions or "[]"),
            "tasks": workflow_tasks(conference) if conference.status == "held" else [],
            "tasks_sent_at": conference.tasks_sent_at.isoformat() if conference.tasks_sent_at else None,
            "created_by": conference.created_by, "created_at": conference.created_at.isoformat()}


def for_referral(session: Session, referral_id: str, viewer) -> list[dict]:
    viewer = _coordinator(viewer)
    referral = referral_in_network(session, referral_id, viewer["network"])
    conferences = session.scalars(select(Conference).where(Conference.referral_id == referral.id)
                                  .order_by(Conference.created_at)).all()
    for conference in conferences:
        chain(session, viewer, "conference", conference.id, "read", referral_id=referral.id, fields=SHOWN_FIELDS)
    return [view(c, referral.ref) for c in conferences]


def get(session: Session, conference_id: str, viewer) -> dict:
    viewer = _coordinator(viewer)
    conference = _get(session, conference_id, viewer)
    referral = referral_in_network(session, conference.referral_id, viewer["network"])
    chain(session, viewer, "conference", conference.id, "read", referral_id=referral.id, fields=SHOWN_FIELDS)
    return view(conference, referral.ref)
