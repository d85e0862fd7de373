"""The coordinator's view of incoming e-mail that needs a person: the review list (replies from
someone who is not a party, or to an unknown referral) and the quarantine (mail that could not be
processed), with re-processing after a fix. Metadata only: no mail text is shown here."""
from __future__ import annotations

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from netsterk.i18n import both
from netsterk.nameko_support import html_response
from services.portal import pages
from services.portal import access
from services.portal.web import Refused, html_page, session_user

COLUMNS = ("portal.mail.received", "portal.mail.status", "portal.mail.reference", "portal.mail.reason")


def _rows(mails: list[dict], *, reprocess: bool) -> str:
    if not mails:
        return f"<p>{pages.e(both('portal.none'))}</p>"
    head = "".join(f"<th>{pages.e(both(c))}</th>" for c in COLUMNS) + "<th></th>"
    body = []
    for mail in mails:
        reason = mail.get("review_reason") or mail.get("error") or "; ".join(mail.get("problems") or [])
        button = (f'<form method="post" action="/mail/{pages.e(mail["id"])}/reprocess" class="inline">'
                  f'<button type="submit">{pages.e(both("portal.mail.reprocess"))}</button></form>'
                  if reprocess else "")
        body.append(f'<tr id="mail-{pages.e(mail["id"])}"><td>{pages.e(pages.local_time(mail.get("received_at")))}</td>'
                    f'<td>{pages.e(mail.get("kind") or mail.get("status"))}</td>'
                    f'<td>{pages.e(mail.get("referral_ref") or "")}</td><td>{pages.e(reason)}</td>'
                    f'<td>{button}</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


@html_page
def mailbox(service, request) -> Response:
    user = access.require(session_user(service, request), "mail.view")
    review = service.intake.mail_review(user.network)
    quarantine = service.intake.mail_quarantine(user.network)
    body = (f"<h2>{pages.e(both('portal.mail.review'))}</h2>{_rows(review, reprocess=False)}"
            f"<h2 id='quarantine'>{pages.e(both('portal.mail.quarantine'))}</h2>{_rows(quarantine, reprocess=True)}")
    return html_response(pages.layout(both("portal.mail.title"), body, user=user))


@html_page
def reprocess(service, request, mail_id: str) -> Response:
    user = access.require(session_user(service, request), "mail.reprocess")
    status = service.intake.mail_status(mail_id)
    if not status or status.get("network") not in (None, user.network):
        raise Refused(404, both("portal.error.not_found"))
    service.intake.mail_reprocess(mail_id)
    return redirect("/mail#quarantine", code=303)
