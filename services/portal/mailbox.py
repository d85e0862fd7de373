"""The coordinator's view of incoming e-mail that needs a person: the review list (replies from
someone who is not a party, or to an unknown referral) and the quarantine (mail that could not be
processed), with re-processing after a fix. The lists show metadata only; one mail's page
(`show`) shows its text and its HTML as intake sanitised it (nh3 allow-list), rendered in a
sandboxed frame (no scripts, no forms, a unique origin) under a CSP that allows no remote content,
with the SPF/DKIM/DMARC verdict. Intake scopes it to the coordinator's network and audits the read
with its purpose (services/intake/service.py `mail_show`)."""
from __future__ import annotations

from html import escape

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from netsterk.i18n import both
from netsterk.nameko_support import html_response
from services.portal import pages
from services.portal import access
from services.portal.privacy_pages import _actor, _intake
from services.portal.web import html_page, session_user

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
        show = f'<a class="mail-show" href="/mail/{pages.e(mail["id"])}">{pages.e(both("portal.mail.show"))}</a>'
        body.append(f'<tr id="mail-{pages.e(mail["id"])}"><td>{pages.e(pages.local_time(mail.get("received_at")))}</td>'
                    f'<td>{pages.e(mail.get("kind") or mail.get("status"))}</td>'
                    f'<td>{pages.e(mail.get("referral_ref") or "")}</td><td>{pages.e(reason)}</td>'
                    f'<td>{show} {button}</td></tr>')
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
    access.mail_in_network(user, service.intake.mail_status(mail_id))
    service.intake.mail_reprocess(mail_id)
    return redirect("/mail#quarantine", code=303)


# what the frame holding a mail's HTML may load: nothing but inline images (data:); no scripts,
# no styles, no remote images, fonts or frames (the sanitiser removed them already; this holds
# even if it missed one)
BODY_CSP = "default-src 'none'; img-src data:; base-uri 'none'; form-action 'none'"
PURPOSE = "mail quarantine review"


def _verdict(checked: dict) -> str:
    """The sender's authentication (Authentication-Results of our own MX) as a flag."""
    verified = (checked or {}).get("verified")
    if verified is True:
        return f'<p id="mail-auth" class="info">{pages.e(both("portal.mail.auth_verified"))}</p>'
    if verified is False:
        failed = ", ".join(checked.get("failures") or [])
        return (f'<p id="mail-auth" class="error" role="alert">'
                f'{pages.e(both("portal.mail.auth_failed", failures=failed))}</p>')
    return f'<p id="mail-auth" class="warning">{pages.e(both("portal.mail.auth_unknown"))}</p>'


def body_frame(html: str | None) -> str:
    """The sanitised HTML in a sandboxed iframe (srcdoc, escaped as an attribute value): an empty
    sandbox runs no script, submits no form and gets a unique origin (no cookies of the portal)."""
    if not html:
        return f'<p id="mail-no-html">{pages.e(both("portal.mail.no_html"))}</p>'
    document = (f'<!doctype html><html><head><meta charset="utf-8">'
                f'<meta http-equiv="Content-Security-Policy" content="{BODY_CSP}"></head>'
                f'<body>{html}</body></html>')
    return (f'<iframe id="mail-html" title="{pages.e(both("portal.mail.html"))}" sandbox="" '
            f'referrerpolicy="no-referrer" srcdoc="{escape(document, quote=True)}"></iframe>')


@html_page
def show(service, request, mail_id: str) -> Response:
    """One mail of the review list or the quarantine: metadata, the verdict, the text and the
    sanitised HTML. Another network's mail (or none) is 404; the read is audited in intake."""
    user = access.require(session_user(service, request), "mail.view")
    mail = access.mail_in_network(user, _intake(service, "mail_show", _actor(user, request, PURPOSE), mail_id))
    e = pages.e
    reason = mail.get("review_reason") or mail.get("error") or "; ".join(mail.get("problems") or [])
    facts = "".join(f"<dt>{e(both(key))}</dt><dd id=\"mail-{name}\">{e(value)}</dd>" for key, name, value in (
        ("portal.mail.received", "received", pages.local_time(mail.get("received_at"))),
        ("portal.mail.from", "from", mail.get("from") or ""),
        ("portal.mail.subject", "subject", mail.get("subject") or ""),
        ("portal.mail.status", "status", mail.get("kind") or mail.get("status")),
        ("portal.mail.reason", "reason", reason)))
    body = (f'{_verdict(mail.get("authentication"))}<dl class="mail-facts">{facts}</dl>'
            f'<h2>{e(both("portal.mail.text"))}</h2><pre id="mail-text">{e(mail.get("text") or "")}</pre>'
            f'<h2>{e(both("portal.mail.html"))}</h2>{body_frame(mail.get("html"))}'
            f'<p><a href="/mail#quarantine">{e(both("portal.mail.back"))}</a></p>')
    return html_response(pages.layout(both("portal.mail.show_title"), body, user=user))
