"""Case conferences in the portal (issue 13), for the coordinator: convene (reason, proposed
times, invitees), send the invitations (e-mail with an iCalendar attachment, through intake and
notifications), record who came, the decisions and the actions; the actions become tasks with
due dates in the referral's workflow (bridge `add_tasks`, command id per conference so a retry
adds them once) and are ticked off there."""
from __future__ import annotations

from urllib.parse import quote

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from netsterk.i18n import both
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import html_response
from services.portal.pages import _command_field, e, label, layout, local_time, message_box
from services.portal.plan_pages import call_intake, coordinator_viewer
from services.portal.web import (
    Refused, call_bridge, html_page, network_snapshot, require_coordinator, session_user,
)

log = get_logger(__name__)

REASONS = ("no_offer", "declined", "request")
ROLES = ("school", "clb", "partner", "family", "other")
INVITEE_ROWS = 6
ACTION_ROWS = 5


def suggested_reason(snapshot: dict) -> str:
    """Why a conference now: partners declined, no offer fits, or simply on request."""
    if any(g.get("status") == "declined" for g in snapshot.get("engagements") or []):
        return "declined"
    if snapshot.get("state") == "matching" and not snapshot.get("candidates"):
        return "no_offer"
    if any("no candidate" in (a.get("reason") or "") or "gap" in (a.get("reason") or "")
           for a in snapshot.get("attention") or []):
        return "no_offer"
    return "request"


def _select(name: str, options, selected) -> str:
    return (f'<select name="{name}">' + "".join(
        f'<option value="{e(v)}"{" selected" if v == selected else ""}>{e(t)}</option>' for v, t in options)
        + "</select>")


def create_form(referral_id: str, snapshot: dict, values: dict | None = None, error: str | None = None) -> str:
    values = values or {}
    reason = values.get("reason") or suggested_reason(snapshot)
    rows = "".join(
        f'<tr><td><input type="email" name="invitee_email_{n}" value="{e(values.get(f"invitee_email_{n}") or "")}"></td>'
        f'<td>{_select(f"invitee_role_{n}", [(r, both("wrap.role." + r)) for r in ROLES], values.get(f"invitee_role_{n}") or "partner")}</td>'
        f'<td><input name="invitee_name_{n}" value="{e(values.get(f"invitee_name_{n}") or "")}"></td></tr>'
        for n in range(INVITEE_ROWS))
    times = "".join(
        f'<input type="datetime-local" name="time_{n}" value="{e(values.get(f"time_{n}") or "")}" '
        f'aria-label="{e(both("wrap.conference.time"))} {n + 1}">' for n in range(3))
    return (f'<form method="post" action="/referrals/{e(referral_id)}/conferences" class="card" id="conference-new">'
            f'<h3>{e(both("wrap.conference.new"))}</h3>{message_box(error)}'
            f'<label>{e(both("wrap.conference.reason"))}{_select("reason", [(r, both("wrap.reason." + r)) for r in REASONS], reason)}</label>'
            f'<fieldset><legend>{e(both("wrap.conference.times"))}</legend>{times}</fieldset>'
            f'<label>{e(both("wrap.conference.duration"))}<input type="number" name="duration_minutes" min="15" max="480" '
            f'value="{e(values.get("duration_minutes") or "60")}"></label>'
            f'<label>{e(both("wrap.conference.location"))}<input name="location" value="{e(values.get("location") or "")}" required></label>'
            f'<table id="invitees"><thead><tr><th>{e(both("wrap.conference.email"))}</th><th>{e(both("wrap.conference.role"))}</th>'
            f'<th>{e(both("wrap.conference.name"))}</th></tr></thead><tbody>{rows}</tbody></table>'
            f'<button type="submit">{e(both("wrap.conference.create"))}</button></form>')


def _list_rows(conferences: list[dict]) -> str:
    if not conferences:
        return f'<p>{e(both("portal.none"))}</p>'
    rows = "".join(
        f'<tr><td><a href="/conferences/{e(c["id"])}">{e(local_time(c["proposed_times"][0]))}</a></td>'
        f'<td>{e(label("wrap.reason", c["reason"]))}</td><td>{e(label("wrap.conference_status", c["status"]))}</td></tr>'
        for c in conferences)
    return (f'<table id="conferences"><thead><tr><th>{e(both("wrap.conference.time"))}</th>'
            f'<th>{e(both("wrap.conference.reason"))}</th><th>{e(both("portal.column.status"))}</th></tr></thead>'
            f'<tbody>{rows}</tbody></table>')


def _list_page(service, user, request, referral_id, *, values=None, error=None, status=200) -> Response:
    snapshot = network_snapshot(service, user, referral_id)
    conferences = call_intake(service, "conference_list", referral_id, coordinator_viewer(user, request))
    base = f"/referrals/{quote(referral_id, safe='')}"
    reason = suggested_reason(snapshot)
    hint = (message_box(both("wrap.conference.hint", reason=both("wrap.reason." + reason)), "info")
            if reason != "request" and not conferences else "")
    body = (hint + _list_rows(conferences) + create_form(referral_id, snapshot, values, error)
            + f'<p><a href="{base}">{e(both("portal.back"))}</a> · <a href="{base}/plan">{e(both("wrap.plan.link"))}</a></p>')
    return html_response(layout(both("wrap.conference.title", ref=snapshot.get("ref", "")), body, user=user),
                         status=status)


@html_page
def conferences(service, request, referral_id: str) -> Response:
    user = require_coordinator(session_user(service, request))
    return _list_page(service, user, request, referral_id)


def create_data(form) -> dict:
    invitees = [{"email": (form.get(f"invitee_email_{n}") or "").strip(),
                 "role": form.get(f"invitee_role_{n}") or "other",
                 "name": (form.get(f"invitee_name_{n}") or "").strip()}
                for n in range(INVITEE_ROWS)]
    return {"reason": form.get("reason"), "location": form.get("location"),
            "duration_minutes": form.get("duration_minutes"),
            "proposed_times": [form.get(f"time_{n}") for n in range(3) if (form.get(f"time_{n}") or "").strip()],
            "invitees": [i for i in invitees if i["email"]]}


@html_page
def create(service, request, referral_id: str) -> Response:
    user = require_coordinator(session_user(service, request), "referral.act")
    network_snapshot(service, user, referral_id)
    values = {k: request.form.get(k) for k in request.form.keys()}
    try:
        conference = call_intake(service, "conference_create", referral_id, coordinator_viewer(user, request),
                                 create_data(request.form))
    except Refused as refused:
        if refused.status != 422:
            raise
        return _list_page(service, user, request, referral_id, values=values, error=refused.message, status=422)
    with log_context(network=user.network):
        log.info("conference_proposed")
    return redirect(f"/conferences/{quote(conference['id'], safe='')}", code=303)


def _tasks_html(conference: dict, snapshot: dict) -> str:
    mine = {t["id"]: t for t in snapshot.get("tasks") or [] if t.get("source") == f"conference:{conference['id']}"}
    if not conference.get("tasks"):
        return ""
    rows = []
    for task in conference["tasks"]:
        live = mine.get(task["id"])
        if live is None:
            state = both("wrap.task.not_created")
        elif live["status"] == "done":
            state = both("wrap.task.done", who=live.get("done_by") or "")
        else:
            overdue = f"task:{task['id']}" in (snapshot.get("overdue") or {})
            state = (f'<span class="{"overdue" if overdue else "due"}">'
                     f'{e(both("portal.overdue" if overdue else "portal.due_on", date=local_time(live["due_at"])))}</span>'
                     f'<form method="post" action="/referrals/{e(snapshot["referral_id"])}/tasks/{e(task["id"])}/done" class="inline">'
                     f'{_command_field()}<button type="submit" class="secondary">{e(both("wrap.task.mark_done"))}</button></form>')
            rows.append(f'<tr class="task" data-id="{e(task["id"])}"><td>{e(task["text"])}</td><td>{e(task["owner"])}</td>'
                        f'<td>{e(task["due"])}</td><td>{state}</td></tr>')
            continue
        rows.append(f'<tr class="task" data-id="{e(task["id"])}"><td>{e(task["text"])}</td><td>{e(task["owner"])}</td>'
                    f'<td>{e(task["due"])}</td><td>{e(state)}</td></tr>')
    retry = ""
    if not conference.get("tasks_sent_at"):
        retry = (f'<form method="post" action="/conferences/{e(conference["id"])}/tasks" class="card">'
                 f'<p>{e(both("wrap.task.retry_intro"))}</p><button type="submit">{e(both("wrap.task.retry"))}</button></form>')
    return (f'<section><h2>{e(both("wrap.conference.tasks"))}</h2><table id="conference-tasks"><thead><tr>'
            f'<th>{e(both("wrap.conference.action_text"))}</th><th>{e(both("wrap.conference.owner"))}</th>'
            f'<th>{e(both("wrap.conference.due"))}</th><th>{e(both("portal.column.status"))}</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>{retry}</section>')


def record_form(conference: dict, values: dict | None = None, error: str | None = None) -> str:
    values = values or {}
    times = [(t, local_time(t)) for t in conference["proposed_times"]]
    values.setdefault("held_at", conference.get("confirmed_time"))
    present = "".join(
        f'<label class="choice"><input type="checkbox" name="present" value="{n}"'
        f'{" checked" if str(n) in (values.get("present") or []) else ""}> '
        f'{e(i.get("name") or i["email"])} ({e(label("wrap.role", i["role"]))})</label>'
        for n, i in enumerate(conference["invitees"]))
    actions = "".join(
        f'<tr><td><input name="action_text_{n}" value="{e(values.get(f"action_text_{n}") or "")}"></td>'
        f'<td><input name="action_owner_{n}" value="{e(values.get(f"action_owner_{n}") or "")}"></td>'
        f'<td><input type="date" name="action_due_{n}" value="{e(values.get(f"action_due_{n}") or "")}"></td></tr>'
        for n in range(ACTION_ROWS))
    return (f'<form method="post" action="/conferences/{e(conference["id"])}/record" class="card" id="conference-record">'
            f'<h3>{e(both("wrap.conference.record"))}</h3>{message_box(error)}'
            f'<label>{e(both("wrap.conference.held_at"))}{_select("held_at", times, values.get("held_at"))}</label>'
            f'<fieldset><legend>{e(both("wrap.conference.present"))}</legend>{present}</fieldset>'
            f'<label>{e(both("wrap.conference.decisions"))}<textarea name="decisions" rows="4" required>'
            f'{e(values.get("decisions") or "")}</textarea></label>'
            f'<table id="conference-actions"><thead><tr><th>{e(both("wrap.conference.action_text"))}</th>'
            f'<th>{e(both("wrap.conference.owner"))}</th><th>{e(both("wrap.conference.due"))}</th></tr></thead>'
            f'<tbody>{actions}</tbody></table>'
            f'<button type="submit">{e(both("wrap.conference.record_submit"))}</button></form>')


def _detail_page(service, user, request, conference_id, *, values=None, error=None, info=None, status=200) -> Response:
    conference = call_intake(service, "conference_get", conference_id, coordinator_viewer(user, request))
    snapshot = network_snapshot(service, user, conference["referral_id"])
    invitees = "".join(
        f'<li>{e(i.get("name") or "")} &lt;{e(i["email"])}&gt; — {e(label("wrap.role", i["role"]))}'
        + (f' — <strong class="present">{e(both("wrap.conference.was_present"))}</strong>'
           if conference["status"] == "held" and n in conference["attendance"] else "") + "</li>"
        for n, i in enumerate(conference["invitees"]))
    facts = (f'<dl class="card"><dt>{e(both("wrap.conference.reason"))}</dt><dd>{e(label("wrap.reason", conference["reason"]))}</dd>'
             f'<dt>{e(both("portal.column.status"))}</dt><dd id="conference-status">{e(label("wrap.conference_status", conference["status"]))}</dd>'
             f'<dt>{e(both("wrap.conference.times"))}</dt><dd>{e(", ".join(local_time(t) for t in conference["proposed_times"]))}</dd>'
             + (f'<dt>{e(both("wrap.conference.confirmed_time"))}</dt><dd id="confirmed-time">{e(local_time(conference["confirmed_time"]))}</dd>'
                if conference.get("confirmed_time") else "")
             + f'<dt>{e(both("wrap.conference.location"))}</dt><dd>{e(conference["location"])}</dd>'
             f'<dt>{e(both("wrap.conference.invitees"))}</dt><dd><ul>{invitees}</ul></dd>'
             + (f'<dt>{e(both("wrap.conference.held_at"))}</dt><dd>{e(local_time(conference["held_at"]))}</dd>'
                f'<dt>{e(both("wrap.conference.decisions"))}</dt><dd id="decisions">{e(conference["decisions"])}</dd>'
                if conference["status"] == "held" else "") + "</dl>")
    if conference["status"] == "held":
        step = _tasks_html(conference, snapshot)
    else:
        invite = (f'<form method="post" action="/conferences/{e(conference["id"])}/invite" class="card" id="conference-invite">'
                  f'<p>{e(both("wrap.conference.invite_intro"))}</p>'
                  f'<button type="submit">{e(both("wrap.conference.invite" if conference["status"] == "proposed" else "wrap.conference.invite_again"))}</button></form>')
        confirm = ""
        if conference["status"] == "invited" and len(conference["proposed_times"]) > 1:
            confirm = (f'<form method="post" action="/conferences/{e(conference["id"])}/confirm" class="card" id="conference-confirm">'
                       f'<h3>{e(both("wrap.conference.confirm"))}</h3><p>{e(both("wrap.conference.confirm_intro"))}</p>'
                       f'<label>{e(both("wrap.conference.time"))}'
                       + _select("time", [(t, local_time(t)) for t in conference["proposed_times"]],
                                 conference.get("confirmed_time"))
                       + f'</label><button type="submit">{e(both("wrap.conference.confirm"))}</button></form>')
        step = invite + confirm + (record_form(conference, values) if conference["status"] == "invited" else "")
    body = (message_box(info, "info") + message_box(error) + facts + step
            + f'<p><a href="/referrals/{e(conference["referral_id"])}/conferences">{e(both("portal.back"))}</a></p>')
    return html_response(layout(both("wrap.conference.title", ref=conference["ref"]), body, user=user), status=status)


@html_page
def detail(service, request, conference_id: str) -> Response:
    user = require_coordinator(session_user(service, request))
    return _detail_page(service, user, request, conference_id)


@html_page
def invite(service, request, conference_id: str) -> Response:
    user = require_coordinator(session_user(service, request), "referral.act")
    result = call_intake(service, "conference_invite", conference_id, coordinator_viewer(user, request))
    with log_context(network=user.network, referral_ref=result.get("ref")):
        log.info("conference_invitations", count=len(result.get("mail_status") or []))
    return _detail_page(service, user, request, conference_id,
                        info=both("wrap.conference.invited", count=len(result.get("invitees") or [])))


@html_page
def confirm(service, request, conference_id: str) -> Response:
    user = require_coordinator(session_user(service, request), "referral.act")
    try:
        result = call_intake(service, "conference_confirm_time", conference_id, coordinator_viewer(user, request),
                             {"time": request.form.get("time")})
    except Refused as refused:
        if refused.status != 422:
            raise
        return _detail_page(service, user, request, conference_id, error=refused.message, status=422)
    with log_context(network=user.network, referral_ref=result.get("ref")):
        log.info("conference_time_confirmed")
    return _detail_page(service, user, request, conference_id,
                        info=both("wrap.conference.invited", count=len(result.get("invitees") or [])))


def record_data(form) -> dict:
    return {"held_at": form.get("held_at"), "present": form.getlist("present"),
            "decisions": form.get("decisions"),
            "actions": [{"text": form.get(f"action_text_{n}"), "owner": form.get(f"action_owner_{n}"),
                         "due": form.get(f"action_due_{n}")} for n in range(ACTION_ROWS)]}


def send_tasks(service, user, request, conference: dict) -> None:
    """The conference's actions into the workflow as tasks (once: the command id is the conference's)."""
    if conference["tasks"] and not conference.get("tasks_sent_at"):
        call_bridge(service, "add_tasks", conference["referral_id"], conference["tasks"], user.username,
                    f"conference:{conference['id']}", f"conference-{conference['id']}")
        call_intake(service, "conference_tasks_sent", conference["id"], coordinator_viewer(user, request))


@html_page
def record(service, request, conference_id: str) -> Response:
    user = require_coordinator(session_user(service, request), "referral.act")
    values = {k: request.form.get(k) for k in request.form.keys()}
    values["present"] = request.form.getlist("present")
    try:
        conference = call_intake(service, "conference_record", conference_id, coordinator_viewer(user, request),
                                 record_data(request.form))
    except Refused as refused:
        if refused.status != 422:
            raise
        return _detail_page(service, user, request, conference_id, values=values, error=refused.message, status=422)
    with log_context(network=user.network, referral_ref=conference.get("ref")):
        log.info("conference_recorded", actions=len(conference["tasks"]))
        try:
            send_tasks(service, user, request, conference)
        except Refused as refused:   # recorded; the tasks can be sent again from the page
            return _detail_page(service, user, request, conference_id, error=refused.message, status=refused.status)
    return redirect(f"/conferences/{quote(conference_id, safe='')}", code=303)


@html_page
def retry_tasks(service, request, conference_id: str) -> Response:
    user = require_coordinator(session_user(service, request), "referral.act")
    conference = call_intake(service, "conference_get", conference_id, coordinator_viewer(user, request))
    network_snapshot(service, user, conference["referral_id"])
    send_tasks(service, user, request, conference)
    return redirect(f"/conferences/{quote(conference_id, safe='')}", code=303)


@html_page
def task_done(service, request, referral_id: str, task_id: str) -> Response:
    user = require_coordinator(session_user(service, request), "referral.act")
    snapshot = network_snapshot(service, user, referral_id)
    task = next((t for t in snapshot.get("tasks") or [] if t["id"] == task_id), None)
    if task is None:
        raise Refused(404, both("wrap.task.not_found"))
    command = (request.form.get("command_id") or "").strip() or None
    call_bridge(service, "act", referral_id, "complete_task", {"by": user.username, "task_id": task_id}, command)
    source = str(task.get("source") or "")
    if source.startswith("conference:"):
        return redirect(f"/conferences/{quote(source.split(':', 1)[1], safe='')}", code=303)
    return redirect(f"/referrals/{quote(referral_id, safe='')}", code=303)
