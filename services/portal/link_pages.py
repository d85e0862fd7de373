"""The pages behind the signed single-action links of e-mails (netsterk/links.py): `/l/<token>`.

GET shows what the link will do (a mail scanner that follows links changes nothing); POST does
it, once. A link that is not ours, expired or already used says so and what to do instead.
accept / decline answer an engagement request; feedback, answer and confirm_efforts lead to the
party's page of that one referral (the workflow accepts each answer once)."""
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
from services.portal import pages, schemas
from services.portal.pages import e, layout, message_box
from services.portal.web import Refused, _engagement, call_bridge, html_page

log = get_logger(__name__)

PAGES = {"feedback": "/engagements/{r}/{k}", "answer": "/information/{r}/{k}",
         "confirm_efforts": "/school-efforts/{r}/{k}"}


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
        status = str(found.get("status") or "")
        raise Refused(410, both("links.no_longer", reason=both(f"portal.engagement_status.{status}")
                                if status in ("accepted", "declined", "withdrawn", "expired", "completed")
                                else status))
    return snapshot, found


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
    if link.action in PAGES:
        return redirect(PAGES[link.action].format(r=quote(link.referral_id, safe=""),
                                                  k=quote(link.key, safe="")), code=303)
    if link.action not in ("accept", "decline"):
        raise Refused(404, both("links.invalid"))
    snapshot, _found = _open_engagement(service, link)
    return html_response(_form(link, token, snapshot.get("ref", "")))


@html_page
def link_submit(service, request, token: str):
    link = verify(service, token)
    if link.action not in ("accept", "decline"):
        raise Refused(404, both("links.invalid"))
    snapshot, found = _open_engagement(service, link)
    values = schemas.form_data(request.form)
    values["accept"] = "1" if link.action == "accept" else ""
    try:
        args = schemas.respond_args(values, found["token"], found.get("organisation_name") or "partner")
        with log_context(network=snapshot.get("network"), referral_ref=snapshot.get("ref")):
            call_bridge(service, "act", link.referral_id, "partner_respond", args, f"link-{link.id}")
            _notifications(service, "use_link", link.id, link.action, link.referral_id)
            log.info("link_used", action=link.action)
    except (schemas.ActionError, Refused) as error:
        if isinstance(error, Refused) and error.status != 422:
            raise
        return html_response(_form(link, token, snapshot.get("ref", ""), error=error.message), status=422)
    return html_response(pages.confirmation_page(
        both("links.title"), both(f"links.done.{link.action}", ref=snapshot.get("ref", "")), None))
