"""Notifications in the portal (issue 7): the list of e-mails that were not sent and the addresses
that bounce (coordinator, network admin), and the network admin's own wording of the e-mail
templates, with a preview, per language. Everything goes through notifications' RPCs and is
scoped to the user's network."""
from __future__ import annotations

from urllib.parse import quote

import eventlet
from werkzeug.utils import redirect

from netsterk.i18n import LANGUAGES, both
from netsterk.logging import get_logger
from netsterk.nameko_support import html_response
from netsterk.settings import get_settings
from services.portal import access
from services.portal.pages import e, layout, message_box
from services.portal.web import LoginRequired, Refused, html_page, session_user

log = get_logger(__name__)

FAILED_ROLES = "notifications.failed"          # actions of access.POLICY
TEMPLATE_ROLES = "notifications.templates"
LANGUAGE_ROLES = "notifications.languages"


def _user(service, request, action):
    user = session_user(service, request)
    if user is None:
        raise LoginRequired()
    if not access.allowed(user, action):
        raise Refused(403, both("notify_admin.forbidden"))
    return user


def _rpc(service, method: str, *args):
    try:
        with eventlet.Timeout(get_settings().rpc_timeout):
            return getattr(service.notifications, method)(*args)
    except Refused:
        raise
    except Exception as exc:
        log.warning("notifications_unavailable", method=method, error=type(exc).__name__)
        raise Refused(503, both("portal.error.unavailable")) from exc


def _table(headers: list[str], rows: list[list[str]], table_id: str) -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


@html_page
def failed_page(service, request):
    user = _user(service, request, FAILED_ROLES)
    failed = _rpc(service, "failed_mails", user.network) or []
    failing = _rpc(service, "failing_addresses", user.network) or []
    rows = [[e(m["referral_ref"]), e(m["template"]), e(m["attempts"]), e(m.get("last_error") or ""),
             e(m.get("created_at") or ""),
             f'<form method="post" action="/notifications/failed/{e(quote(m["mail_id"], safe=""))}/retry" '
             f'class="inline"><button type="submit">{e(both("notify_admin.retry"))}</button></form>']
            for m in failed]
    body = (f'<h2>{e(both("notify_admin.failed.title"))}</h2>' +
            (_table([both("notify_admin.col.ref"), both("notify_admin.col.template"),
                     both("notify_admin.col.attempts"), both("notify_admin.col.error"),
                     both("notify_admin.col.when"), ""], rows, "failed-mails")
             if rows else f'<p id="failed-mails">{e(both("notify_admin.failed.none"))}</p>'))
    if failing:
        body += (f'<h2>{e(both("notify_admin.failing.title"))}</h2>' +
                 _table([both("notify_admin.col.address"), both("notify_admin.col.ref"),
                         both("notify_admin.col.error"), both("notify_admin.col.when")],
                        [[e(f["address"]), e(f.get("referral_ref") or ""),
                          e(f"{f.get('status') or ''} {f.get('reason') or ''}"), e(f.get("last_at") or "")]
                         for f in failing], "failing-addresses"))
    hooks = _rpc(service, "webhook_failures", user.network) or []
    if hooks:
        body += (f'<h2>{e(both("notify_admin.webhooks.title"))}</h2>' +
                 _table([both("notify_admin.col.template"), both("notify_admin.col.attempts"),
                         both("notify_admin.col.error")],
                        [[e(h["event_type"]), e(h["attempts"]), e(h.get("last_error") or "")] for h in hooks],
                        "failed-webhooks"))
    return html_response(layout(both("notify_admin.failed.title"), body, user=user))


@html_page
def failed_retry(service, request, mail_id: str):
    user = _user(service, request, FAILED_ROLES)
    if _rpc(service, "retry_mail", mail_id, user.network) is None:
        raise Refused(404, both("portal.error.not_found"))
    return redirect("/notifications/failed", code=303)


@html_page
def templates_page(service, request):
    user = _user(service, request, TEMPLATE_ROLES)
    rows = [[f'<a href="/notifications/templates/{e(r["template"])}/{e(r["lang"])}">{e(r["template"])}</a>',
             e(r["lang"]), "✓" if r["custom"] else ""]
            for r in _rpc(service, "template_list", user.network)]
    body = (f'<p><a href="/notifications/languages">{e(both("notify_admin.languages.title"))}</a></p>'
            + _table([both("notify_admin.col.template"), "lang", ""], rows, "templates"))
    return html_response(layout(both("notify_admin.templates.title"), body, user=user))


def _languages(service, user, *, problems=(), info: str | None = None, address: str = "") -> str:
    rows = [[e(r["address"]), e(r["lang"]), e(r.get("updated_by") or ""), e(r.get("updated_at") or "")]
            for r in _rpc(service, "recipient_languages", user.network) or []]
    options = "".join(f'<option value="{lang}">{lang}</option>' for lang in LANGUAGES)
    body = ("".join(message_box(p) for p in problems) + message_box(info, "info")
            + f'<p>{e(both("notify_admin.languages.intro", default=get_settings().coordinator_lang))}</p>'
            + (_table([both("notify_admin.col.address"), "lang", both("notify_admin.col.by"),
                       both("notify_admin.col.when")], rows, "recipient-languages") if rows else "")
            + '<form method="post" action="/notifications/languages" class="card" id="language-form">'
            f'<label>{e(both("notify_admin.col.address"))}<input name="address" type="email" '
            f'value="{e(address)}" required></label>'
            f'<label>lang<select name="lang"><option value="">{e(both("notify_admin.languages.forget"))}'
            f'</option>{options}</select></label>'
            f'<button type="submit">{e(both("notify_admin.templates.save"))}</button></form>')
    return layout(both("notify_admin.languages.title"), body, user=user)


@html_page
def languages_page(service, request):
    user = _user(service, request, LANGUAGE_ROLES)
    return html_response(_languages(service, user))


@html_page
def languages_submit(service, request):
    """Choose (or forget) the language of one address's e-mails in the user's network."""
    user = _user(service, request, LANGUAGE_ROLES)
    address = (request.form.get("address") or "").strip()
    saved = _rpc(service, "set_recipient_language", user.network, address,
                 request.form.get("lang") or "", user.username)
    if saved.get("problems"):
        return html_response(_languages(service, user, problems=saved["problems"], address=address), status=422)
    return html_response(_languages(service, user, info=both("notify_admin.templates.saved")))


def _editor(user, template: str, lang: str, subject: str, body_text: str, fields: list[str], *,
            problems=(), preview: dict | None = None, info: str | None = None) -> str:
    base = f"/notifications/templates/{quote(template, safe='')}/{quote(lang, safe='')}"
    out = "".join(message_box(p) for p in problems) + message_box(info, "info")
    out += (f'<p>{e(both("notify_admin.templates.placeholders", names=", ".join("{" + f + "}" for f in fields)))}</p>'
            f'<form method="post" action="{e(base)}" class="card" id="template-form">'
            f'<label>{e(both("notify_admin.templates.subject"))}<input name="subject" value="{e(subject)}" required></label>'
            f'<label>{e(both("notify_admin.templates.body"))}<textarea name="body" rows="14" required>{e(body_text)}</textarea></label>'
            f'<button type="submit" name="do" value="preview">{e(both("notify_admin.templates.preview"))}</button> '
            f'<button type="submit" name="do" value="save">{e(both("notify_admin.templates.save"))}</button> '
            f'<button type="submit" name="do" value="reset" formnovalidate>{e(both("notify_admin.templates.reset"))}</button>'
            '</form>')
    if preview:
        out += (f'<h2>{e(both("notify_admin.templates.preview"))}</h2><section id="preview">'
                f'<p><strong>{e(preview["subject"])}</strong></p><pre>{e(preview["text"])}</pre>'
                f'<iframe title="HTML" sandbox="" srcdoc="{e(preview["html"])}" style="width:100%;height:20em"></iframe>'
                '</section>')
    return layout(f'{both("notify_admin.templates.title")}: {template} ({lang})', out, user=user)


def _loaded(service, user, template: str, lang: str) -> dict:
    if lang not in LANGUAGES:
        raise Refused(404, both("portal.error.not_found"))
    found = _rpc(service, "template_get", user.network, template, lang)
    if not found:
        raise Refused(404, both("portal.error.not_found"))
    return found


@html_page
def template_edit(service, request, template: str, lang: str):
    user = _user(service, request, TEMPLATE_ROLES)
    found = _loaded(service, user, template, lang)
    current = found["current"]
    preview = _rpc(service, "template_preview", template, lang, current["subject"], current["body"])
    return html_response(_editor(user, template, lang, current["subject"], current["body"], found["fields"],
                                 preview=preview if not preview.get("problems") else None))


@html_page
def template_submit(service, request, template: str, lang: str):
    user = _user(service, request, TEMPLATE_ROLES)
    found = _loaded(service, user, template, lang)
    subject = request.form.get("subject") or ""
    body_text = (request.form.get("body") or "").replace("\r\n", "\n")
    action = request.form.get("do") or "preview"
    if action == "reset":
        _rpc(service, "template_save", user.network, template, lang, None, None, user.username)
        standard = found["standard"]
        return html_response(_editor(user, template, lang, standard["subject"], standard["body"],
                                     found["fields"], info=both("notify_admin.templates.saved")))
    preview = _rpc(service, "template_preview", template, lang, subject, body_text)
    problems = preview.get("problems") or []
    if problems:
        return html_response(_editor(user, template, lang, subject, body_text, found["fields"],
                                     problems=problems), status=422)
    info = None
    if action == "save":
        saved = _rpc(service, "template_save", user.network, template, lang, subject, body_text,
                     user.username)
        if saved.get("problems"):
            return html_response(_editor(user, template, lang, subject, body_text, found["fields"],
                                         problems=saved["problems"]), status=422)
        info = both("notify_admin.templates.saved")
    return html_response(_editor(user, template, lang, subject, body_text, found["fields"],
                                 preview=preview, info=info))
