"""One family, one plan in the portal (issue 13): the coordinator's plan page of a referral (all of
it: goals, who does what by when, contact person, progress notes, the family's voice and consent,
the history), the engaged partner's page behind its engagement link (only what its engagement
allows), and the school's read-only page behind a signed link (only what is meant for the school,
only with the family's consent). The data and every access rule live in intake (plan.py,
voice.py); the portal says who is asking."""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

import eventlet
from kombu.exceptions import OperationalError
from nameko.exceptions import RemoteError, UnknownService
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from netsterk.i18n import both
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import html_response
from netsterk.settings import get_settings
from netsterk.web_security import client_address
from services.portal import pages
from services.portal.pages import e, label, layout, local_time, message_box
from services.portal.web import (
    Refused, call_bridge, find_engagement, html_page, network_snapshot, require_coordinator, session_user,
)

log = get_logger(__name__)

KINDS = ("goal", "action", "note")
AUDIENCES = ("own", "partners", "school")
FROM_WHOM = ("young_person", "parents", "both")


# --- calling intake (its answers are {"result"} or {"error": {status, message, field}}) ---------

def call_intake(service, method: str, *args):
    timeout = get_settings().rpc_timeout
    try:
        with eventlet.Timeout(timeout):
            answer = getattr(service.intake, method)(*args)
    except (RemoteError, UnknownService, eventlet.Timeout, OSError, OperationalError) as exc:
        log.warning("intake_unavailable", method=method, error=type(exc).__name__)
        raise Refused(503, both("portal.error.unavailable")) from None
    if "error" in answer:
        error = answer["error"]
        raise Refused(int(error.get("status") or 422), error.get("message") or both("portal.error.remote"))
    return answer["result"]


def form_values(request) -> dict:
    return {key: request.form.get(key) for key in request.form.keys()}


def school_signature(referral_id: str) -> str:
    key = get_settings().session_key.encode()
    return hmac.new(key, f"school-plan:{referral_id}".encode(), hashlib.sha256).hexdigest()[:32]


def school_link(referral_id: str) -> str:
    return f"{get_settings().portal_url}/plan/{quote(referral_id, safe='')}/school/{school_signature(referral_id)}"


# --- who is asking ---------------------------------------------------------------------------

def coordinator_viewer(user, request=None) -> dict:
    """The signed-in coordinator; `origin` (the client's address) goes to the audit log."""
    return {"role": "coordinator", "network": user.network, "by": user.username,
            "origin": client_address(request) if request is not None else "portal"}


def partner_viewer(service, referral_id: str, token: str, request=None) -> tuple[dict, dict, dict]:
    """(viewer, snapshot, engagement) of a partner's engagement link; only an accepted (edit) or
    completed (read) engagement opens the plan."""
    try:
        snapshot = call_bridge(service, "get_referral", referral_id)
    except Refused as refused:
        if refused.status == 404:
            raise Refused(404, both("portal.error.engagement_not_found")) from refused
        raise
    engagement = find_engagement(snapshot, token)
    if engagement.get("status") not in ("accepted", "completed") or not engagement.get("organisation_id"):
        raise Refused(403, both("wrap.plan.not_engaged"))
    viewer = {"role": "partner", "network": snapshot["network"],
              "by": engagement.get("organisation_name") or engagement["organisation_id"],
              "organisation_id": engagement["organisation_id"],
              "organisation_name": engagement.get("organisation_name") or "",
              "can_edit": engagement.get("status") == "accepted",
              "origin": client_address(request) if request is not None else "portal"}
    return viewer, snapshot, engagement


# --- rendering ---------------------------------------------------------------------------------

def _select(name: str, options, selected=None) -> str:
    return pages._select(name, options, selected)


def voice_html(voice: dict) -> str:
    consent = voice.get("consent") or {}
    if consent.get("withdrawn"):
        status = both("wrap.voice.withdrawn", at=local_time(consent.get("withdrawn_at")))
    else:
        status = both("wrap.voice.consent_status",
                      partners=both("wrap.yes" if consent.get("partners") else "wrap.no"),
                      school=both("wrap.yes" if consent.get("school") else "wrap.no"))
    if not voice.get("shown"):
        text = both("wrap.voice.not_shared" if voice.get("recorded") else "wrap.voice.none")
        return (f'<section class="card" id="voice"><h2>{e(both("wrap.voice.title"))}</h2>'
                f'<p id="consent-status">{e(status)}</p><p class="muted">{e(text)}</p></section>')
    rows = "".join(f'<dt>{e(both("wrap.voice." + k))}</dt><dd class="voice-{k}">{e(voice.get(k) or "—")}</dd>'
                   for k in ("wishes", "worries", "what_helps"))
    return (f'<section class="card" id="voice"><h2>{e(both("wrap.voice.title"))}</h2>'
            f'<p>{e(both("wrap.voice.from"))}: {e(label("wrap.from_whom", voice.get("from_whom")))}</p>'
            f'<dl>{rows}</dl><p id="consent-status">{e(status)}</p></section>')


def _item_row(item: dict, base: str | None) -> str:
    who = (f'{e(item.get("owner_name") or "")}' + (f' · {e(both("wrap.plan.due"))} {e(item["due_date"])}'
                                                   if item.get("due_date") else ""))
    change = ""
    if base and item.get("may_change"):
        next_status = "done" if item.get("status") == "open" else "open"
        change = (f'<form method="post" action="{base}/items/{e(item["id"])}" class="inline">'
                  f'<input type="hidden" name="status" value="{next_status}">'
                  f'<button type="submit" class="secondary">{e(both(f"wrap.plan.mark_{next_status}"))}</button></form>')
    return (f'<tr class="plan-item kind-{e(item["kind"])} {"done" if item.get("status") == "done" else ""}" '
            f'data-id="{e(item["id"])}"><td>{e(label("wrap.kind", item["kind"]))}</td>'
            f'<td class="item-text">{e(item["text"])}</td><td>{who}</td>'
            f'<td>{e(label("wrap.audience", item["audience"]))}</td>'
            f'<td>{e(item.get("created_by"))}<br><small>{e(local_time(item.get("created_at")))}</small></td>'
            f'<td>{e(label("wrap.status", item.get("status")))} {change}</td></tr>')


def items_html(plan: dict, base: str | None) -> str:
    rows = [_item_row(i, base) for i in plan.get("items") or []]
    head = "".join(f"<th>{e(both(k))}</th>" for k in (
        "wrap.plan.kind", "wrap.plan.text", "wrap.plan.who_when", "wrap.plan.audience",
        "wrap.plan.written_by", "wrap.plan.status"))
    hidden = (f'<p class="muted" id="hidden-items">{e(both("wrap.plan.hidden", count=plan["hidden"]))}</p>'
              if plan.get("hidden") and plan.get("viewer", {}).get("role") != "coordinator" else "")
    if not rows:
        return f'<p id="no-items">{e(both("wrap.plan.no_items"))}</p>' + hidden
    return (f'<table id="plan-items"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            + hidden)


def add_form(base: str, role: str, error: str | None = None, values: dict | None = None) -> str:
    v = (values or {}).get
    kinds = [(k, both("wrap.kind." + k)) for k in KINDS]
    audiences = [(a, both("wrap.audience." + a)) for a in AUDIENCES]
    owner = ("" if role == "partner" else
             f'<label>{e(both("wrap.plan.owner"))}<input name="owner_name" value="{e(v("owner_name") or "")}"></label>')
    return (f'<form method="post" action="{base}/items" class="card" id="plan-add">'
            f'<h3>{e(both("wrap.plan.add"))}</h3>{message_box(error)}'
            f'<label>{e(both("wrap.plan.kind"))}{_select("kind", kinds, v("kind") or "goal")}</label>'
            f'<label>{e(both("wrap.plan.text"))}<textarea name="text" rows="3" required>{e(v("text") or "")}</textarea></label>'
            f'{owner}<label>{e(both("wrap.plan.due_date"))}<input type="date" name="due_date" value="{e(v("due_date") or "")}"></label>'
            f'<label>{e(both("wrap.plan.audience"))}{_select("audience", audiences, v("audience") or "partners")}</label>'
            f'<button type="submit">{e(both("wrap.plan.add_submit"))}</button></form>')


def contact_html(plan: dict) -> str:
    contact = plan.get("contact")
    if contact is None:
        return ""
    text = (f'{e(contact.get("person"))}' + (f' ({e(contact.get("organisation"))})' if contact.get("organisation") else "")
            if contact.get("person") else e(both("wrap.plan.no_contact")))
    return f'<p id="contact">{e(both("wrap.plan.contact"))}: <strong>{text}</strong></p>'


def plan_body(plan: dict, base: str | None, *, error: str | None = None, values: dict | None = None) -> str:
    refs = ", ".join(r["ref"] for r in plan.get("referrals") or [])
    body = (message_box(error) + f'<p>{e(both("wrap.plan.intro"))}</p>'
            f'<p>{e(both("wrap.plan.referrals"))}: <span id="plan-refs">{e(refs)}</span></p>'
            + contact_html(plan) + voice_html(plan.get("voice") or {})
            + f'<section><h2>{e(both("wrap.plan.items"))}</h2>{items_html(plan, base if plan.get("can_edit") else None)}</section>')
    if base and plan.get("can_edit"):
        body += add_form(base, plan["viewer"]["role"], None, values)
    return body


def coordinator_extras(referral_id: str, plan: dict) -> str:
    base = f"/referrals/{quote(referral_id, safe='')}"
    voice = plan.get("voice") or {}
    v = lambda k: voice.get(k) or ""  # noqa: E731
    consent = voice.get("consent") or {}
    check = lambda name, on: (f'<label class="choice"><input type="checkbox" name="{name}" value="1"'  # noqa: E731
                              f'{" checked" if on else ""}> {e(both("wrap.voice." + name))}</label>')
    voice_form = (
        f'<form method="post" action="{base}/voice" class="card" id="voice-form"><h3>{e(both("wrap.voice.record"))}</h3>'
        f'<label>{e(both("wrap.voice.from"))}{_select("from_whom", [(w, both("wrap.from_whom." + w)) for w in FROM_WHOM], voice.get("from_whom") or "both")}</label>'
        + "".join(f'<label>{e(both("wrap.voice." + k))}<textarea name="{k}" rows="2">{e(v(k))}</textarea></label>'
                  for k in ("wishes", "worries", "what_helps"))
        + f'<fieldset><legend>{e(both("wrap.voice.consent"))}</legend>'
        + check("share_partners", consent.get("partners") and voice.get("recorded"))
        + check("share_school", consent.get("school"))
        + f'</fieldset><button type="submit">{e(both("wrap.voice.save"))}</button></form>')
    withdraw = (f'<form method="post" action="{base}/voice/withdraw" class="card" id="consent-withdraw">'
                f'<p>{e(both("wrap.voice.withdraw_intro"))}</p>'
                f'<button type="submit" class="secondary">{e(both("wrap.voice.withdraw"))}</button></form>')
    contact = plan.get("contact") or {}
    contact_form = (
        f'<form method="post" action="{base}/plan/contact" class="card" id="contact-form">'
        f'<h3>{e(both("wrap.plan.contact"))}</h3>'
        f'<label>{e(both("wrap.plan.contact_person"))}<input name="person" value="{e(contact.get("person") or "")}" required></label>'
        f'<label>{e(both("wrap.plan.contact_organisation"))}<input name="organisation" value="{e(contact.get("organisation") or "")}"></label>'
        f'<button type="submit">{e(both("wrap.save"))}</button></form>')
    history = "".join(
        f'<tr><td>{e(local_time(h["at"]))}</td><td>{e(h["by"])}</td><td>{e(h["subject"])}</td>'
        f'<td>{e(h["action"])}</td><td>{e(", ".join(h.get("fields") or []))}</td></tr>'
        for h in plan.get("history") or [])
    return (voice_form + withdraw + contact_form
            + f'<section class="card"><h2>{e(both("wrap.plan.school_link"))}</h2>'
              f'<p>{e(both("wrap.plan.school_link_intro"))}</p><p><a id="school-link" href="{e(school_link(referral_id))}">'
              f'{e(school_link(referral_id))}</a></p></section>'
            + f'<section><h2>{e(both("wrap.plan.history"))}</h2><table id="plan-history"><thead><tr>'
              + "".join(f"<th>{e(both(k))}</th>" for k in ("portal.column.when", "portal.column.who",
                                                           "wrap.plan.subject", "portal.column.action",
                                                           "wrap.plan.fields"))
              + f"</tr></thead><tbody>{history}</tbody></table></section>"
            + f'<p><a href="{base}">{e(both("portal.back"))}</a> · '
              f'<a href="{base}/conferences">{e(both("wrap.conference.title_list"))}</a></p>')


# --- coordinator -------------------------------------------------------------------------------

def _coordinator_page(service, user, request, referral_id: str, *, error=None, values=None, status=200) -> Response:
    snapshot = network_snapshot(service, user, referral_id)
    plan = call_intake(service, "plan_view", referral_id, coordinator_viewer(user, request))
    base = f"/referrals/{quote(referral_id, safe='')}/plan"
    body = plan_body(plan, base, error=error, values=values) + coordinator_extras(referral_id, plan)
    return html_response(layout(both("wrap.plan.title", ref=snapshot.get("ref", "")), body, user=user),
                         status=status)


@html_page
def coordinator_plan(service, request, referral_id: str) -> Response:
    user = require_coordinator(session_user(service, request))
    return _coordinator_page(service, user, request, referral_id)


def _coordinator_change(service, request, referral_id: str, method: str, *args) -> Response:
    user = require_coordinator(session_user(service, request), "referral.act")
    network_snapshot(service, user, referral_id)
    values = form_values(request)
    try:
        with log_context(network=user.network):
            call_intake(service, method, referral_id, coordinator_viewer(user, request), *args, values)
            log.info("plan_changed", via=method)
    except Refused as refused:
        if refused.status != 422:
            raise
        return _coordinator_page(service, user, request, referral_id, error=refused.message, values=values, status=422)
    return redirect(f"/referrals/{quote(referral_id, safe='')}/plan", code=303)


@html_page
def coordinator_add_item(service, request, referral_id: str) -> Response:
    return _coordinator_change(service, request, referral_id, "plan_add_item")


@html_page
def coordinator_change_item(service, request, referral_id: str, item_id: str) -> Response:
    return _coordinator_change(service, request, referral_id, "plan_change_item", item_id)


@html_page
def coordinator_contact(service, request, referral_id: str) -> Response:
    return _coordinator_change(service, request, referral_id, "plan_set_contact")


@html_page
def coordinator_voice(service, request, referral_id: str) -> Response:
    return _coordinator_change(service, request, referral_id, "voice_record")


@html_page
def coordinator_withdraw(service, request, referral_id: str) -> Response:
    user = require_coordinator(session_user(service, request), "referral.act")
    network_snapshot(service, user, referral_id)
    call_intake(service, "voice_withdraw_consent", referral_id, coordinator_viewer(user, request))
    with log_context(network=user.network):
        log.info("consent_withdrawn")
    return redirect(f"/referrals/{quote(referral_id, safe='')}/plan", code=303)


# --- partner (the engagement link is the key) --------------------------------------------------

def _partner_base(referral_id: str, token: str) -> str:
    return f"/engagements/{quote(referral_id, safe='')}/{quote(token, safe='')}/plan"


def _partner_page(service, request, referral_id, token, *, error=None, values=None, status=200) -> Response:
    viewer, snapshot, _engagement = partner_viewer(service, referral_id, token, request)
    plan = call_intake(service, "plan_view", referral_id, viewer)
    back = f'<p><a href="/engagements/{e(referral_id)}/{e(token)}">{e(both("portal.engagement.back"))}</a></p>'
    body = plan_body(plan, _partner_base(referral_id, token), error=error, values=values) + back
    return html_response(layout(both("wrap.plan.title_partner", ref=snapshot.get("ref", ""),
                                     organisation=viewer["organisation_name"]), body), status=status)


@html_page
def partner_plan(service, request, referral_id: str, token: str) -> Response:
    return _partner_page(service, request, referral_id, token)


def _partner_change(service, request, referral_id, token, method, *args) -> Response:
    viewer, snapshot, _engagement = partner_viewer(service, referral_id, token, request)
    values = form_values(request)
    try:
        with log_context(network=snapshot.get("network"), referral_ref=snapshot.get("ref")):
            call_intake(service, method, referral_id, viewer, *args, values)
            log.info("plan_changed_by_partner", via=method)
    except Refused as refused:
        if refused.status not in (403, 404, 422):
            raise
        return _partner_page(service, request, referral_id, token, error=refused.message, values=values,
                             status=refused.status)
    return redirect(_partner_base(referral_id, token), code=303)


@html_page
def partner_add_item(service, request, referral_id: str, token: str) -> Response:
    return _partner_change(service, request, referral_id, token, "plan_add_item")


@html_page
def partner_change_item(service, request, referral_id: str, token: str, item_id: str) -> Response:
    return _partner_change(service, request, referral_id, token, "plan_change_item", item_id)


# --- school (a signed link, read only) ---------------------------------------------------------

@html_page
def school_plan(service, request, referral_id: str, signature: str) -> Response:
    if not hmac.compare_digest(school_signature(referral_id).encode(), str(signature).encode()):
        raise Refused(404, both("wrap.plan.link_invalid"))
    snapshot = call_bridge(service, "get_referral", referral_id)
    viewer = {"role": "school", "network": snapshot["network"], "by": "school", "origin": client_address(request)}
    plan = call_intake(service, "plan_view", referral_id, viewer)
    if not plan["sharing"]["school"]:
        body = f'<p id="school-no-consent">{e(both("wrap.plan.school_no_consent"))}</p>'
    else:
        body = plan_body(plan, None)
    return html_response(layout(both("wrap.plan.title_school", ref=snapshot.get("ref", "")), body))
