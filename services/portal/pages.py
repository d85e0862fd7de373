"""Server-rendered HTML of the portal: Dutch first, English beside it (netsterk.i18n.both)."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from html import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from netsterk.catalogue import CATALOGUE
from netsterk.i18n import both, display_language
from netsterk.contracts import STATES
from services.portal.schemas import DECLINE_REASONS, END_OUTCOMES, RE_ENGAGED, TRIAGE_DECISIONS
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


# the pages each role can open, in the header (one place; each page still checks access.POLICY)
NAVIGATION = {
    "coordinator": (("/", "portal.nav.inbox"), ("/referrals/phone", "portal.nav.phone"),
                    ("/mail", "portal.nav.mail"), ("/directory", "portal.nav.directory"),
                    ("/reports", "portal.nav.reports"), ("/notifications/failed", "portal.nav.notifications"),
                    ("/notifications/languages", "portal.nav.mail_languages")),
    "partner_staff": (("/partner", "portal.nav.engagements"), ("/directory", "portal.nav.directory"),
                      ("/engagements/direct", "portal.nav.direct"), ("/catalogue/sessions", "catalogue.session.nav")),
    "network_admin": (("/admin", "portal.nav.admin"), ("/admin/users", "portal.nav.users"),
                      ("/admin/categories", "portal.nav.categories"), ("/admin/deadlines", "portal.nav.deadlines"),
                      ("/directory", "portal.nav.directory"), ("/directory/changes", "portal.nav.changes"),
                      ("/directory/rules", "portal.nav.rules"), ("/reports", "portal.nav.reports"),
                      ("/notifications/failed", "portal.nav.notifications"),
                      ("/notifications/templates", "portal.nav.templates"),
                      ("/notifications/languages", "portal.nav.mail_languages")),
    "analyst": (("/reports", "portal.nav.reports"), ("/directory", "portal.nav.directory")),
    "ops": (("/ops", "portal.nav.ops"), ("/ops/queues", "portal.nav.queues"),
            ("/ops/workflows", "portal.nav.workflows")),
}
LANGUAGE_LINKS = (("nl", "Nederlands"), ("en", "English"), ("both", "NL + EN"))
CURRENT = ' aria-current="true"'


def navigation(user) -> str:
    links = NAVIGATION.get(getattr(user, "role", None), ())
    return "".join(f'<a href="{e(path)}">{e(both(key))}</a>' for path, key in links)


def language_switch(current: str | None) -> str:
    chosen = current or "both"
    return (f'<nav class="languages" aria-label="{e(both("portal.language"))}">' + "".join(
        f'<a href="/language?lang={code}" lang="{code if code != "both" else "nl"}"'
        f'{CURRENT if code == chosen else ""}>{e(name)}</a>'
        for code, name in LANGUAGE_LINKS) + "</nav>")


def layout(title: str, body: str, *, user=None) -> str:
    lang = display_language()
    account = ""
    if user is not None:
        account = (navigation(user) +
                   f'<span>{e(both("portal.logged_in_as", username=user.username, network=user.network))}</span>'
                   f'<form method="post" action="/logout" class="inline">'
                   f'<button type="submit">{e(both("portal.logout"))}</button></form>')
    return (
        f'<!doctype html><html lang="{lang or "nl"}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{e(title)} · {e(both("app.name"))}</title>'
        '<link rel="stylesheet" href="/static/portal.css"></head><body>'
        f'<a class="skip" href="#main">{e(both("portal.skip_to_content"))}</a>'
        f'<header><a class="brand" href="/">{e(both("app.name"))}</a>'
        f'<nav aria-label="{e(both("portal.nav.label"))}">{account}</nav>{language_switch(lang)}</header>'
        f'<main id="main" tabindex="-1"><h1>{e(title)}</h1>{body}</main></body></html>'
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


def _code_form(action: str, next_path: str) -> str:
    return (f'<form method="post" action="{action}" class="card" id="code-form">'
            f'<input type="hidden" name="next" value="{e(next_path)}">'
            f'<label for="code">{e(both("portal.totp.code"))}</label>'
            '<input id="code" name="code" inputmode="numeric" pattern="[0-9 ]{6,7}" maxlength="7" '
            'autocomplete="one-time-code" required autofocus>'
            f'<button type="submit">{e(both("portal.totp.submit"))}</button></form>')


def totp_page(username: str, *, next_path: str = "/", error: str | None = None) -> str:
    body = (message_box(error) + f'<p>{e(both("portal.totp.intro", username=username))}</p>'
            + _code_form("/login/totp", next_path))
    return layout(both("portal.totp.title"), body)


def qr_svg_data_uri(text: str) -> str:
    import base64
    import qrcode
    import qrcode.image.svg
    svg = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=2).to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def enrol_page(username: str, secret: str, uri: str, *, next_path: str = "/", error: str | None = None) -> str:
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    body = (message_box(error) + f'<p>{e(both("portal.totp.enrol_intro"))}</p>'
            f'<figure class="card qr"><img src="{qr_svg_data_uri(uri)}" width="200" height="200" '
            f'alt="{e(both("portal.totp.qr_alt"))}"><figcaption>{e(both("portal.totp.secret"))}: '
            f'<code id="totp-secret">{e(grouped)}</code></figcaption></figure>'
            f'<p>{e(both("portal.totp.enrol_once"))}</p>' + _code_form("/login/enrol", next_path))
    return layout(both("portal.totp.enrol_title", username=username), body)


def error_page(message: str, *, user=None, back: str | None = "/") -> str:
    link = f'<p><a href="{e(back)}">{e(both("portal.back"))}</a></p>' if back else ""
    return layout(both("portal.error.title"), message_box(message) + link, user=user)


def deadline_label(name: str, names: dict | None = None) -> str:
    """`partner_response:offer-a` -> "Antwoord van Arktos / Answer of Arktos"."""
    kind, _, offer_id = name.partition(":")
    key = f"portal.deadline.{kind}"
    if key not in CATALOGUE:
        return name
    return both(key, name=(names or {}).get(offer_id) or offer_id) if offer_id else both(key)


def due_marks(deadlines: dict, overdue: dict, names: dict | None = None, *, now=None) -> list[tuple[str, str, bool]]:
    """(label, "due on ..." or "overdue since ...", overdue?) for every timer, soonest first."""
    now = now or datetime.now(timezone.utc)
    marks = []
    for name, at in sorted({**deadlines, **overdue}.items(), key=lambda item: item[1]):
        moment = parse_time(at)
        late = name in overdue or (moment is not None and moment < now)
        text = both("portal.overdue" if late else "portal.due_on", date=local_time(at))
        marks.append((deadline_label(name, names), text, late))
    return marks


def _marks_html(marks) -> str:
    return "<br>".join(f'<span class="{"overdue" if late else "due"}">{e(label_)}: {e(text)}</span>'
                       for label_, text, late in marks)


def _attention_html(attention: list) -> str:
    return "<br>".join(f'<span class="attention">{e(label("portal.attention", a.get("kind", "").split(":")[0]))}'
                       f'{": " + e(a.get("reason")) if a.get("reason") else ""}</span>' for a in attention)


def _select(name: str, options: list[tuple[str, str]], selected: str | None) -> str:
    return (f'<select name="{name}">' + "".join(
        f'<option value="{e(value)}"{" selected" if value == (selected or "") else ""}>{e(text)}</option>'
        for value, text in options) + "</select>")


def inbox_filter_form(user, filters: dict) -> str:
    states = [("", both("portal.inbox.all"))] + [(s, label("state", s)) for s in STATES]
    urgencies = [("", both("portal.inbox.all"))] + [(u, label("portal.urgency", u)) for u in ("normal", "urgent")]
    check = lambda name, key: (f'<label class="choice"><input type="checkbox" name="{name}" value="1"'  # noqa: E731
                               f'{" checked" if filters.get(key) else ""}> {e(both("portal.inbox." + key))}</label>')
    return (f'<form method="get" action="/" class="card filters" id="filters">'
            f'<label>{e(both("portal.column.network"))}{_select("network", [(user.network, user.network)], user.network)}</label>'
            f'<label>{e(both("portal.column.state"))}{_select("state", states, filters.get("state"))}</label>'
            f'<label>{e(both("portal.column.urgency"))}{_select("urgency", urgencies, filters.get("urgency"))}</label>'
            f'{check("open", "only_open")}{check("overdue", "only_overdue")}'
            f'<button type="submit">{e(both("portal.inbox.filter"))}</button></form>')


def inbox_page(user, tasks: list[dict], filters: dict | None = None) -> str:
    filters = filters or {}
    if not tasks:
        table = f'<p>{e(both("portal.inbox.empty"))}</p>'
    else:
        rows = []
        for task in tasks:
            marks = _marks_html(due_marks(task.get("deadlines") or {}, task.get("overdue") or {})) if task["open"] else ""
            if task["open"] and not marks and task["due_at"]:
                marks = _marks_html([("", both("portal.due_on", date=local_time(task["due_at"], date_only=True)),
                                      task.get("is_overdue", False))])
            categories = ", ".join(label("category", c) for c in task["categories"])
            classes = ["open" if task["open"] else "done"] + (["overdue"] if task.get("is_overdue") else [])
            rows.append(
                f'<tr class="{" ".join(classes)}" data-ref="{e(task["ref"])}"><td>{e(task["ref"])}</td>'
                f'<td>{e(label("state", task["state"]))}</td>'
                f'<td>{e(label("portal.urgency", task.get("urgency", "normal")))}</td>'
                f'<td>{marks}</td><td>{_attention_html(task.get("attention") or [])}</td>'
                f'<td>{e(categories)}</td><td>{e(local_time(task["updated_at"]))}</td>'
                f'<td><a href="/referrals/{e(task["referral_id"])}">{e(both("portal.open"))}</a></td></tr>')
        table = (
            '<table><thead><tr>' + "".join(f"<th>{e(both(k))}</th>" for k in (
                "portal.column.ref", "portal.column.state", "portal.column.urgency", "portal.column.due",
                "portal.column.attention", "portal.column.categories", "portal.column.updated")) +
            '<th></th></tr></thead><tbody>' + "".join(rows) + '</tbody></table>')
    return layout(both("portal.inbox.title", network=user.network), inbox_filter_form(user, filters) + table,
                  user=user)


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


def _command_field() -> str:
    """A fresh id per rendered form: submitting it twice (a double click) acts once."""
    return f'<input type="hidden" name="command_id" value="{uuid.uuid4().hex}">'


def _input(name: str, key: str, value: str = "", *, required: bool = False, kind: str = "text",
           extra: str = "") -> str:
    return (f'<label>{e(both(key))}<input type="{kind}" name="{name}" value="{e(value)}"'
            f'{" required" if required else ""} {extra}></label>')


def _radios(name: str, prefix: str, codes, selected: str | None) -> str:
    return "".join(f'<label class="choice"><input type="radio" name="{name}" value="{c}"'
                   f'{" checked" if selected == c else ""} required> {e(both(prefix + c))}</label>'
                   for c in codes)


def _action_form(referral_id: str, action: str, fields: str) -> str:
    return (f'<form method="post" action="/referrals/{e(referral_id)}/actions/{action}" '
            f'class="card action" id="action-{action}"><h3>{e(both("portal.action." + action))}</h3>'
            f'{_command_field()}{fields}<button type="submit">{e(both("portal.submit"))}</button></form>')


def action_forms(snapshot: dict, values: dict | None = None) -> str:
    values = values or {}
    referral_id = snapshot["referral_id"]
    allowed = snapshot.get("allowed_actions") or []
    v = values.get
    fields = {
        "complete_draft": lambda: (
            f'<label class="choice"><input type="checkbox" name="school_efforts_done" value="1"> '
            f'{e(both("portal.field.school_efforts_done"))}</label>'
            + _textarea("summary", "portal.field.summary", v("summary", ""))),
        "confirm_school_efforts": lambda: _textarea("summary", "portal.field.summary", v("summary", ""), True),
        "triage": lambda: (
            f'<fieldset><legend>{e(both("portal.field.decision"))}</legend>'
            + "".join(f'<label class="choice"><input type="radio" name="decision" value="{d}"'
                      f'{" checked" if v("decision", "accept") == d else ""}> {e(both("portal.decision." + d))}</label>'
                      for d in TRIAGE_DECISIONS)
            + "</fieldset>" + _textarea("reason", "portal.field.reason", v("reason", ""))),
        "ask_information": lambda: _textarea("question", "portal.field.question", v("question", ""), True),
        "redirect": lambda: (_input("to_service", "portal.field.to_service", v("to_service", ""), required=True)
                             + _textarea("reason", "portal.field.reason", v("reason", ""), True)),
        "mark_duplicate": lambda: (_input("target", "portal.field.target", v("target", "") or next(
            (d.get("ref", "") for d in snapshot.get("possible_duplicates") or []), ""), required=True)
            + _textarea("reason", "portal.field.reason", v("reason", ""))),
        "choose_partner": lambda: "".join(
            f'<label class="choice"><input type="checkbox" name="offer_ids" value="{e(c.get("offer_id"))}"> '
            f'{e(c.get("offer_name"))} — {e(c.get("organisation_name"))}</label>'
            for c in snapshot.get("candidates") or []
            if c.get("offer_id") not in {g["offer_id"] for g in snapshot.get("engagements") or []
                                         if g.get("status") in ("proposed", "accepted")})
            or f'<p>{e(both("portal.none"))}</p>',
        "extend_deadline": lambda: (
            f'<label>{e(both("portal.field.deadline"))}' + _select("deadline", [
                (name, deadline_label(name, _offer_names(snapshot)))
                for name in sorted({**(snapshot.get("deadlines") or {}), **(snapshot.get("overdue") or {})})],
                v("deadline")) + "</label>"
            + _input("working_days", "portal.field.working_days", v("working_days", "") or "1", required=True,
                     kind="number", extra='min="1" max="60"')
            + _textarea("reason", "portal.field.reason", v("reason", ""), True)),
        "acknowledge": lambda: _textarea("note", "portal.field.note", v("note", "")),
        "withdraw": lambda: _textarea("reason", "portal.field.reason", v("reason", ""), True),
        "close": lambda: (
            f'<fieldset><legend>{e(both("portal.field.re_engaged"))}</legend>'
            + _radios("re_engaged", "portal.re_engaged.", RE_ENGAGED, v("re_engaged")) + "</fieldset>"
            + _textarea("what_was_done", "portal.field.what_was_done", v("what_was_done", ""), True)
            + _textarea("reason", "portal.field.reason", v("reason", ""))),
    }
    forms = [_action_form(referral_id, action, fields[action]()) for action in allowed if action in fields]
    if "acknowledge" in allowed and not snapshot.get("attention"):
        forms = [f for f in forms if 'id="action-acknowledge"' not in f]
    if "extend_deadline" in allowed and not (snapshot.get("deadlines") or snapshot.get("overdue")):
        forms = [f for f in forms if 'id="action-extend_deadline"' not in f]
    return "".join(forms) or f'<p>{e(both("portal.detail.no_actions"))}</p>'


def _offer_names(snapshot: dict) -> dict:
    return {g.get("offer_id"): g.get("organisation_name") or g.get("offer_name")
            for g in snapshot.get("engagements") or []}


def detail_page(user, snapshot: dict, *, error: str | None = None, values: dict | None = None) -> str:
    history = [[e(local_time(h.get("at"))),
                f'{e(label("state", h.get("from_state")) if h.get("from_state") else "")} → '
                f'{e(label("state", h.get("to_state")))}',
                e(h.get("by")), e(h.get("reason"))]
               for h in snapshot.get("history") or []]
    log_rows = [[e(local_time(x.get("at"))), e(label("portal.action", x.get("action"))), e(x.get("by")),
                 e(x.get("details"))] for x in snapshot.get("log") or []]
    marks = due_marks(snapshot.get("deadlines") or {}, snapshot.get("overdue") or {}, _offer_names(snapshot))
    deadlines = [[e(name), f'<span class="{"overdue" if late else "due"}">{e(text)}</span>']
                 for name, text, late in marks]
    candidates = [[e(c.get("offer_name")), e(c.get("organisation_name")), e(c.get("score")),
                   e(c.get("explanation")) + (
                       f'<br><small>{e(both("portal.candidate.matched"))}: {e(", ".join(c.get("matched") or []))}'
                       f' · {e(both("portal.candidate.unmatched"))}: {e(", ".join(c.get("unmatched") or []))}</small>')]
                  for c in snapshot.get("candidates") or []]
    engagements = [[e(g.get("offer_name")), e(g.get("organisation_name")),
                    e(label("portal.engagement_status", g.get("status")))
                    + (f' ({e(label("portal.decline_reason", g.get("reason")))})'
                       if g.get("status") == "declined" and g.get("reason") else "")
                    + (f' ({e(label("portal.end_outcome", g.get("end_outcome")))})' if g.get("end_outcome") else "")]
                   for g in snapshot.get("engagements") or []]
    feedback = [[e(local_time(f.get("at"))), e(f.get("by")), e(f.get("text"))]
                for f in snapshot.get("feedback") or []]
    questions = [[e(local_time(q.get("asked_at"))), e(q.get("question")), e(q.get("answer") or "—")]
                 for q in snapshot.get("questions") or []]
    attention = _attention_html(snapshot.get("attention") or [])
    body = (
        message_box(error) +
        f'<p class="state">{e(both("portal.column.state"))}: <strong>{e(label("state", snapshot.get("state")))}</strong>'
        f' · {e(both("portal.column.urgency"))}: {e(label("portal.urgency", snapshot.get("urgency") or "normal"))}</p>'
        + (f'<section class="card attention"><h2>{e(both("portal.detail.attention"))}</h2><p>{attention}</p></section>'
           if attention else "")
        + f'<section><h2>{e(both("portal.detail.deadlines"))}</h2>'
        + _table(["portal.column.deadline", "portal.column.when"],
                 [[e(name), when] for name, when in deadlines])
        + f'</section><section><h2>{e(both("portal.detail.actions"))}</h2>{action_forms(snapshot, values)}</section>'
        f'<section><h2>{e(both("portal.detail.history"))}</h2>'
        + _table(["portal.column.when", "portal.column.change", "portal.column.who", "portal.column.why"], history)
        + f'</section><section><h2>{e(both("portal.detail.log"))}</h2>'
        + _table(["portal.column.when", "portal.column.action", "portal.column.who", "portal.column.details"], log_rows)
        + f'</section><section><h2>{e(both("portal.detail.questions"))}</h2>'
        + _table(["portal.column.when", "portal.column.question", "portal.column.answer"], questions)
        + f'</section><section><h2>{e(both("portal.detail.candidates"))}</h2>'
        + _table(["portal.column.offer", "portal.column.organisation", "portal.column.score",
                  "portal.column.explanation"], candidates)
        + f'</section><section><h2>{e(both("portal.detail.engagements"))}</h2>'
        + _table(["portal.column.offer", "portal.column.organisation", "portal.column.status"], engagements)
        + f'</section><section><h2>{e(both("portal.detail.feedback"))}</h2>'
        + _table(["portal.column.when", "portal.column.who", "portal.detail.feedback"], feedback)
        + f'</section><p><a href="/">{e(both("portal.back"))}</a>'
        f' · <a id="plan-link" href="/referrals/{e(snapshot["referral_id"])}/plan">{e(both("wrap.plan.link"))}</a>'
        f' · <a id="conference-link" href="/referrals/{e(snapshot["referral_id"])}/conferences">'
        f'{e(both("wrap.conference.title_list"))}</a></p>'
    )
    return layout(both("portal.detail.title", ref=snapshot.get("ref", "")), body, user=user)


def _partner_form(base: str, path: str, intro_key: str, fields: str, submit_key: str, css: str = "", *,
                  action: str | None = None) -> str:
    """A partner's form; it posts to `<base>/<path>`, or to `action` (a signed link's own page)."""
    return (f'<form method="post" action="{e(action) if action else f"{base}/{path}"}" class="card {css}" '
            f'id="partner-{path}"><p>{e(both(intro_key))}</p>{_command_field()}{fields}'
            f'<button type="submit">{e(both(submit_key))}</button></form>')


def _feedback_form(base: str, action: str | None = None) -> str:
    return _partner_form(base, "feedback", "portal.engagement.feedback_intro",
                         _textarea("text", "portal.detail.feedback", required=True),
                         "portal.engagement.feedback_submit", action=action)


def _engagement_facts(snapshot: dict, engagement: dict, categories: list[str]) -> str:
    return ('<dl class="card">'
            f'<dt>{e(both("portal.column.ref"))}</dt><dd>{e(snapshot.get("ref"))}</dd>'
            f'<dt>{e(both("portal.column.offer"))}</dt><dd>{e(engagement.get("offer_name"))}</dd>'
            f'<dt>{e(both("portal.column.organisation"))}</dt><dd>{e(engagement.get("organisation_name"))}</dd>'
            f'<dt>{e(both("portal.column.categories"))}</dt>'
            f'<dd>{e(", ".join(label("category", c) for c in categories))}</dd>'
            f'<dt>{e(both("portal.column.status"))}</dt>'
            f'<dd>{e(label("portal.engagement_status", engagement.get("status")))}</dd></dl>')


def feedback_page(snapshot: dict, engagement: dict, categories: list[str], action: str, *,
                  error: str | None = None) -> str:
    """Only the feedback form of one engagement (a signed feedback link: it posts to `action`)."""
    base = f'/engagements/{e(snapshot["referral_id"])}/{e(engagement["token"])}'
    return layout(both("portal.engagement.title", ref=snapshot.get("ref", "")),
                  message_box(error) + _engagement_facts(snapshot, engagement, categories)
                  + _feedback_form(base, action))


def engagement_page(snapshot: dict, engagement: dict, categories: list[str], *,
                    error: str | None = None, user=None) -> str:
    base = f'/engagements/{e(snapshot["referral_id"])}/{e(engagement["token"])}'
    status = engagement.get("status")
    facts = _engagement_facts(snapshot, engagement, categories)
    if status == "proposed":
        reasons = [("", "—")] + [(r, both("portal.decline_reason." + r)) for r in DECLINE_REASONS]
        action = (
            f'<p>{e(both("portal.engagement.intro"))}</p>'
            f'<form method="post" action="{base}/respond" class="card" id="partner-respond">{_command_field()}'
            f'<button type="submit" name="accept" value="1">{e(both("portal.engagement.accept"))}</button>'
            f'<label>{e(both("portal.engagement.decline_code"))}{_select("reason", reasons, None)}</label>'
            f'{_textarea("note", "portal.engagement.note")}'
            f'<button type="submit" name="accept" value="0" class="secondary">'
            f'{e(both("portal.engagement.decline"))}</button></form>')
    elif status in ACCEPTED_ENGAGEMENT:
        outcomes = [(o, both("portal.end_outcome." + o)) for o in END_OUTCOMES]
        action = (f'<p><a id="plan-link" href="{base}/plan">{e(both("wrap.plan.link"))}</a></p>'
            + _feedback_form(base)
            + _partner_form(base, "help", "portal.engagement.help_intro",
                            _textarea("text", "portal.field.question", required=True),
                            "portal.engagement.help_submit", "secondary")
            + _partner_form(base, "end", "portal.engagement.end_intro",
                            f'<label>{e(both("portal.engagement.end_outcome"))}{_select("outcome", outcomes, None)}</label>'
                            + _textarea("text", "portal.detail.feedback", required=True),
                            "portal.engagement.end_submit", "secondary"))
    else:
        action = f'<p>{e(both("portal.engagement.no_more_action"))}</p>'
        if status == "completed":   # the family plan stays readable for a partner that ended
            action += f'<p><a id="plan-link" href="{base}/plan">{e(both("wrap.plan.link"))}</a></p>'
    return layout(both("portal.engagement.title", ref=snapshot.get("ref", "")),
                  message_box(error) + facts + action, user=user)


def status_page(snapshot: dict) -> str:
    """The reporter's view: where the referral stands and since when. No names, no texts."""
    steps = [[e(local_time(h.get("at"))), e(label("state", h.get("to_state")))]
             for h in snapshot.get("history") or []]
    body = (f'<p class="state" id="status-state">{e(both("portal.column.state"))}: '
            f'<strong>{e(label("state", snapshot.get("state")))}</strong></p>'
            f'<p>{e(both("portal.status.intro"))}</p>'
            f'<section><h2>{e(both("portal.status.steps"))}</h2>'
            + _table(["portal.column.when", "portal.column.state"], steps) + "</section>")
    return layout(both("portal.status.title", ref=snapshot.get("ref", "")), body)


def information_page(question: dict, token: str, *, error: str | None = None, answer: str = "",
                     action: str | None = None) -> str:
    """The reporter's answer form; it posts to its own page, or to `action` (a signed link)."""
    base = e(action) if action else f'/information/{e(question["referral_id"])}/{e(token)}'
    body = (message_box(error)
            + f'<p>{e(both("portal.information.intro"))}</p><blockquote class="card">{e(question.get("question"))}</blockquote>'
            f'<form method="post" action="{base}" class="card" id="information-answer">{_command_field()}'
            + _textarea("answer", "portal.information.answer", answer, True)
            + f'<button type="submit">{e(both("portal.information.submit"))}</button></form>')
    return layout(both("portal.information.title", ref=question.get("ref", "")), body)


def school_efforts_page(request: dict, token: str, *, error: str | None = None, summary: str = "",
                        action: str | None = None) -> str:
    """The school's confirmation form; it posts to its own page, or to `action` (a signed link)."""
    base = e(action) if action else f'/school-efforts/{e(request["referral_id"])}/{e(token)}'
    body = (message_box(error) + f'<p>{e(both("portal.school.intro"))}</p>'
            f'<form method="post" action="{base}" class="card" id="school-efforts">{_command_field()}'
            + _textarea("summary", "portal.field.summary", summary, True)
            + f'<button type="submit">{e(both("portal.school.submit"))}</button></form>')
    return layout(both("portal.school.title", ref=request.get("ref", "")), body)


def confirmation_page(title: str, message: str, back: str | None) -> str:
    link = f'<p><a href="{e(back)}">{e(both("portal.engagement.back"))}</a></p>' if back else ""
    return layout(title, message_box(message, "info") + link)
