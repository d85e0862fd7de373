"""Server-rendered HTML of the portal: Dutch first, English beside it (netsterk.i18n.both)."""
from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from netsterk.catalogue import CATALOGUE
from netsterk.i18n import both
from services.portal.schemas import TRIAGE_DECISIONS
from services.portal.tasks import as_utc, parse_time

try:
    LOCAL_TIME = ZoneInfo("Europe/Brussels")
except ZoneInfoNotFoundError:  # minimal images without tzdata: show UTC
    LOCAL_TIME = ZoneInfo("UTC")

ACCEPTED_ENGAGEMENT = ("accepted", "in_progress", "active")


def e(value) -> str:
    return escape("" if value is None else str(value))


def label(prefix: str, value) -> str:
    key = f"{prefix}.{value}"
    return both(key) if key in CATALOGUE else str(value)


def local_time(value, *, date_only: bool = False) -> str:
    try:
        moment = as_utc(parse_time(value))
    except ValueError:
        return str(value)
    if moment is None:
        return ""
    local = moment.astimezone(LOCAL_TIME)
    return local.strftime("%Y-%m-%d") if date_only else local.strftime("%Y-%m-%d %H:%M")


def layout(title: str, body: str, *, user=None) -> str:
    account = ""
    if user is not None:
        account = (f'<span>{e(both("portal.logged_in_as", username=user.username, network=user.network))}</span>'
                   f'<form method="post" action="/logout" class="inline">'
                   f'<button type="submit">{e(both("portal.logout"))}</button></form>')
    return (
        '<!doctype html><html lang="nl"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{e(title)} · {e(both("app.name"))}</title>'
        '<link rel="stylesheet" href="/static/portal.css"></head><body>'
        f'<header><a class="brand" href="/">{e(both("app.name"))}</a><nav>{account}</nav></header>'
        f'<main><h1>{e(title)}</h1>{body}</main></body></html>'
    )


def message_box(text: str | None, kind: str = "error") -> str:
    return f'<p class="{kind}" role="alert">{e(text)}</p>' if text else ""


def login_page(*, error: str | None = None, info: str | None = None, username: str = "",
               next_path: str = "/") -> str:
    body = (
        message_box(error) + message_box(info, "info") +
        '<form method="post" action="/login" class="card">'
        f'<input type="hidden" name="next" value="{e(next_path)}">'
        f'<label>{e(both("portal.login.username"))}<input name="username" value="{e(username)}" '
        'autocomplete="username" required></label>'
        f'<label>{e(both("portal.login.password"))}<input type="password" name="password" '
        'autocomplete="current-password" required></label>'
        f'<button type="submit">{e(both("portal.login.submit"))}</button></form>'
    )
    return layout(both("portal.login.title"), body)


def error_page(message: str, *, user=None, back: str | None = "/") -> str:
    link = f'<p><a href="{e(back)}">{e(both("portal.back"))}</a></p>' if back else ""
    return layout(both("portal.error.title"), message_box(message) + link, user=user)


def inbox_page(user, tasks: list[dict]) -> str:
    if not tasks:
        table = f'<p>{e(both("portal.inbox.empty"))}</p>'
    else:
        rows = []
        for task in tasks:
            due = (both("portal.due_on", date=local_time(task["due_at"], date_only=True))
                   if task["due_at"] and task["open"] else "")
            categories = ", ".join(label("category", c) for c in task["categories"])
            rows.append(
                f'<tr class="{"open" if task["open"] else "done"}"><td>{e(task["ref"])}</td>'
                f'<td>{e(label("state", task["state"]))}</td><td>{e(due)}</td><td>{e(categories)}</td>'
                f'<td>{e(local_time(task["updated_at"]))}</td>'
                f'<td><a href="/referrals/{e(task["referral_id"])}">{e(both("portal.open"))}</a></td></tr>')
        table = (
            '<table><thead><tr>' + "".join(f"<th>{e(both(k))}</th>" for k in (
                "portal.column.ref", "portal.column.state", "portal.column.due",
                "portal.column.categories", "portal.column.updated")) +
            '<th></th></tr></thead><tbody>' + "".join(rows) + '</tbody></table>')
    return layout(both("portal.inbox.title", network=user.network), table, user=user)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    """`rows` hold HTML that is already escaped."""
    if not rows:
        return f'<p>{e(both("portal.none"))}</p>'
    head = "".join(f"<th>{e(both(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _textarea(name: str, key: str, value: str = "", required: bool = False) -> str:
    return (f'<label>{e(both(key))}<textarea name="{name}" rows="3"'
            f'{" required" if required else ""}>{e(value)}</textarea></label>')


def _action_form(referral_id: str, action: str, fields: str) -> str:
    return (f'<form method="post" action="/referrals/{e(referral_id)}/actions/{action}" '
            f'class="card action" id="action-{action}"><h3>{e(both("portal.action." + action))}</h3>'
            f'{fields}<button type="submit">{e(both("portal.submit"))}</button></form>')


def action_forms(snapshot: dict, values: dict | None = None) -> str:
    values = values or {}
    referral_id = snapshot["referral_id"]
    allowed = snapshot.get("allowed_actions") or []
    forms = []
    if "confirm_school_efforts" in allowed:
        forms.append(_action_form(referral_id, "confirm_school_efforts",
                                  _textarea("summary", "portal.field.summary", values.get("summary", ""), True)))
    if "triage" in allowed:
        options = "".join(
            f'<label class="choice"><input type="radio" name="decision" value="{d}"'
            f'{" checked" if values.get("decision", "accept") == d else ""}> {e(both("portal.decision." + d))}</label>'
            for d in TRIAGE_DECISIONS)
        forms.append(_action_form(referral_id, "triage",
                                  f'<fieldset><legend>{e(both("portal.field.decision"))}</legend>{options}</fieldset>'
                                  + _textarea("reason", "portal.field.reason", values.get("reason", ""))))
    if "choose_partner" in allowed:
        boxes = "".join(
            f'<label class="choice"><input type="checkbox" name="offer_ids" value="{e(c.get("offer_id"))}"> '
            f'{e(c.get("offer_name"))} — {e(c.get("organisation_name"))}</label>'
            for c in snapshot.get("candidates") or [])
        forms.append(_action_form(referral_id, "choose_partner",
                                  boxes or f'<p>{e(both("portal.none"))}</p>'))
    if "close" in allowed:
        forms.append(_action_form(
            referral_id, "close",
            f'<label>{e(both("portal.field.outcome"))}<input name="outcome" value="{e(values.get("outcome", ""))}" '
            'required maxlength="200"></label>' + _textarea("reason", "portal.field.reason", values.get("reason", ""))))
    return "".join(forms) or f'<p>{e(both("portal.detail.no_actions"))}</p>'


def detail_page(user, snapshot: dict, *, error: str | None = None, values: dict | None = None) -> str:
    history = [[e(local_time(h.get("at"))),
                f'{e(label("state", h.get("from_state")) if h.get("from_state") else "")} → '
                f'{e(label("state", h.get("to_state")))}',
                e(h.get("by")), e(h.get("reason"))]
               for h in snapshot.get("history") or []]
    deadlines = [[e(name), e(local_time(at))] for name, at in (snapshot.get("deadlines") or {}).items()]
    candidates = [[e(c.get("offer_name")), e(c.get("organisation_name")), e(c.get("score")),
                   e(c.get("explanation")) + (
                       f'<br><small>{e(both("portal.candidate.matched"))}: {e(", ".join(c.get("matched") or []))}'
                       f' · {e(both("portal.candidate.unmatched"))}: {e(", ".join(c.get("unmatched") or []))}</small>')]
                  for c in snapshot.get("candidates") or []]
    engagements = [[e(g.get("offer_name")), e(g.get("organisation_name")),
                    e(label("portal.engagement_status", g.get("status")))]
                   for g in snapshot.get("engagements") or []]
    feedback = [[e(local_time(f.get("at"))), e(f.get("by")), e(f.get("text"))]
                for f in snapshot.get("feedback") or []]
    body = (
        message_box(error) +
        f'<p class="state">{e(both("portal.column.state"))}: <strong>{e(label("state", snapshot.get("state")))}</strong></p>'
        f'<section><h2>{e(both("portal.detail.actions"))}</h2>{action_forms(snapshot, values)}</section>'
        f'<section><h2>{e(both("portal.detail.history"))}</h2>'
        + _table(["portal.column.when", "portal.column.change", "portal.column.who", "portal.column.why"], history)
        + f'</section><section><h2>{e(both("portal.detail.deadlines"))}</h2>'
        + _table(["portal.column.deadline", "portal.column.when"], deadlines)
        + f'</section><section><h2>{e(both("portal.detail.candidates"))}</h2>'
        + _table(["portal.column.offer", "portal.column.organisation", "portal.column.score",
                  "portal.column.explanation"], candidates)
        + f'</section><section><h2>{e(both("portal.detail.engagements"))}</h2>'
        + _table(["portal.column.offer", "portal.column.organisation", "portal.column.status"], engagements)
        + f'</section><section><h2>{e(both("portal.detail.feedback"))}</h2>'
        + _table(["portal.column.when", "portal.column.who", "portal.detail.feedback"], feedback)
        + f'</section><p><a href="/">{e(both("portal.back"))}</a></p>'
    )
    return layout(both("portal.detail.title", ref=snapshot.get("ref", "")), body, user=user)


def engagement_page(snapshot: dict, engagement: dict, categories: list[str], *,
                    error: str | None = None) -> str:
    base = f'/engagements/{e(snapshot["referral_id"])}/{e(engagement["token"])}'
    status = engagement.get("status")
    facts = (
        '<dl class="card">'
        f'<dt>{e(both("portal.column.ref"))}</dt><dd>{e(snapshot.get("ref"))}</dd>'
        f'<dt>{e(both("portal.column.offer"))}</dt><dd>{e(engagement.get("offer_name"))}</dd>'
        f'<dt>{e(both("portal.column.organisation"))}</dt><dd>{e(engagement.get("organisation_name"))}</dd>'
        f'<dt>{e(both("portal.column.categories"))}</dt>'
        f'<dd>{e(", ".join(label("category", c) for c in categories))}</dd>'
        f'<dt>{e(both("portal.column.status"))}</dt><dd>{e(label("portal.engagement_status", status))}</dd></dl>')
    if status == "proposed":
        action = (
            f'<p>{e(both("portal.engagement.intro"))}</p>'
            f'<form method="post" action="{base}/respond" class="card">'
            f'<button type="submit" name="accept" value="1">{e(both("portal.engagement.accept"))}</button>'
            f'{_textarea("reason", "portal.engagement.decline_reason")}'
            f'<button type="submit" name="accept" value="0" class="secondary">'
            f'{e(both("portal.engagement.decline"))}</button></form>')
    elif status in ACCEPTED_ENGAGEMENT:
        action = (
            f'<form method="post" action="{base}/feedback" class="card">'
            f'<p>{e(both("portal.engagement.feedback_intro"))}</p>'
            f'{_textarea("text", "portal.detail.feedback", required=True)}'
            f'<button type="submit">{e(both("portal.engagement.feedback_submit"))}</button></form>')
    else:
        action = f'<p>{e(both("portal.engagement.no_more_action"))}</p>'
    return layout(both("portal.engagement.title", ref=snapshot.get("ref", "")),
                  message_box(error) + facts + action)


def confirmation_page(title: str, message: str, back: str) -> str:
    return layout(title, message_box(message, "info") +
                  f'<p><a href="{e(back)}">{e(both("portal.engagement.back"))}</a></p>')
