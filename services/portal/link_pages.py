"""The pages behind the signed single-action links of e-mails (netsterk/links.py): `/l/<token>`.

GET shows what the link will do (a mail scanner that follows links changes nothing); POST does
it, once, and records the use. A link that is not ours, expired or already used says so (404 /
410). accept / decline answer an engagement request; feedback, answer and confirm_efforts serve
the form of that one action here (the party's page renderers and handlers of web.py, posting
back to the link); complete_draft checks the referral still is a draft and sends the reporter
on to intake's prefilled form of that one draft (notifications marks the link used once the
referral leaves `draft`)."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

import eventlet
from werkzeug.utils import redirect

from netsterk import links
from netsterk.i18n import both
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import html_response
from netsterk.settings import get_settings
from services.portal import pages, schemas, web
from services.portal.pages import e, layout, message_box
from services.portal.web import Refused, _engagement, call_bridge, html_page

log = get_logger(__name__)

# the forms a link serves itself: action -> (show, submit) of web.py, called with the link
FORMS = {"feedback": (web.feedback_form, web.engagement_feedback),
         "answer": (web.information, web.information_answer),
         "confirm_efforts": (web.school_efforts, web.school_efforts_confirm)}


def _when(value) -> str:
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=timezone.utc)
    elif isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _notifications(service, method: str, *args):
    try:
        with eventlet.Timeout(get_settings().rpc_timeout):
            return getattr(service.notifications, method)(*args)
    except Exception as exc:  # the link cannot be checked now: say so, change nothing
        log.warning("link_check_unavailable", method=method, error=type(exc).__name__)
        raise Refused(503, both("portal.error.unavailable")) from exc


def verify(service, token: str) -> links.Link:
    """The link, or a Refused that explains it: not valid (404), expired or used (410)."""
    try:
        link = links.verify(token, links.link_key(get_settings()))
    except links.LinkExpired as expired:
        raise Refused(410, both("links.expired", date=_when(expired.link.expires))) from expired
    except links.LinkInvalid as invalid:
        raise Refused(404, both("links.invalid")) from invalid
    used = _notifications(service, "link_used", link.id)
    if used:
        raise Refused(410, both("links.used", date=_when(used)))
    return link


def _open_engagement(service, link: links.Link) -> tuple[dict, dict]:
    snapshot, found = _engagement(service, link.referral_id, link.key)
    if found.get("status") != "proposed":
        raise Refused(410, both("links.no_longer", reason=web.label_of_status(str(found.get("status") or ""))))
    return snapshot, found


def _signed(service, link: links.Link, token: str) -> web.SignedLink:
    def used():
        log.info("link_used", action=link.action)
        return _notifications(service, "use_link", link.id, link.action, link.referral_id)
    return web.SignedLink(url=f"/l/{quote(token, safe='')}", command_id=f"link-{link.id}", used=used)


def _to_draft(service, link: links.Link):
    """complete_draft: while the referral is a draft, on to intake's form of that one draft."""
    try:
        snapshot = call_bridge(service, "get_referral", link.referral_id)
    except Refused as refused:
        if refused.status == 404:
            raise Refused(404, both("links.invalid")) from refused
        raise
    if snapshot.get("state") != "draft":
        raise Refused(410, both("links.draft_done", ref=snapshot.get("ref", "")))
    return redirect(f"{get_settings().intake_url}/referrals/draft/{quote(link.key, safe='')}", code=303)


def _form(link: links.Link, token: str, ref: str, error: str | None = None) -> str:
    action = f"/l/{quote(token, safe='')}"
    fields = ""
    if link.action == "decline":
        options = "".join(f'<option value="{code}">{e(both("portal.decline_reason." + code))}</option>'
                          for code in schemas.DECLINE_REASONS)
        fields = (f'<label>{e(both("links.decline.reason"))}<select name="reason">{options}</select></label>'
                  f'<label>{e(both("links.decline.note"))}<textarea name="note" rows="3">'
                  '</textarea></label>')
    body = (message_box(error) + f'<p>{e(both(f"links.{link.action}.question", ref=ref))}</p>'
            f'<form method="post" action="{e(action)}" class="card" id="link-action">{fields}'
            f'<button type="submit">{e(both(f"links.{link.action}.button"))}</button></form>')
    return layout(both("links.title"), body)


@html_page
def link_page(service, request, token: str):
    link = verify(service, token)
    if link.action == "complete_draft":
        return _to_draft(service, link)
    if link.action in FORMS:
        show, _submit = FORMS[link.action]
        return show(service, request, referral_id=link.referral_id, token=link.key,
                    link=_signed(service, link, token))
    if link.action not in ("accept", "decline"):
        raise Refused(404, both("links.invalid"))
    snapshot, _found = _open_engagement(service, link)
    return html_response(_form(link, token, snapshot.get("ref", "")))


@html_page
def link_submit(service, request, token: str):
    link = verify(service, token)
    if link.action in FORMS:
        _show, submit = FORMS[link.action]
        return submit(service, request, referral_id=link.referral_id, token=link.key,
                      link=_signed(service, link, token))
    if link.action not in ("accept", "decline"):
        raise Refused(404, both("links.invalid"))
    snapshot, found = _open_engagement(service, link)
    values = schemas.form_data(request.form)
    values["accept"] = "1" if link.action == "accept" else ""
    try:
        args = schemas.respond_args(values, found["token"], found.get("organisation_name") or "partner")
        with log_context(network=snapshot.get("network"), referral_ref=snapshot.get("ref")):
            signed = _signed(service, link, token)
            call_bridge(service, "act", link.referral_id, "partner_respond", args, signed.command_id)
            signed.used()
    except (schemas.ActionError, Refused) as error:
        if isinstance(error, Refused) and error.status != 422:
            raise
        return html_response(_form(link, token, snapshot.get("ref", ""), error=error.message), status=422)
    return html_response(pages.confirmation_page(
        both("links.title"), both(f"links.done.{link.action}", ref=snapshot.get("ref", "")), None))
