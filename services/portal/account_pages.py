"""The signed-in user's own API tokens (/account/tokens): make a named token (shown once), see
when each was made, last used and ends, revoke one. Only for roles that sign in with a second
factor (access.POLICY "account.tokens"), so a token is never easier to get than a session.
Making and revoking are audited in the network's audit chain (privacy_pages.audit_event)."""
from __future__ import annotations

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from netsterk.db import session_scope
from netsterk.i18n import both
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import html_response
from services.portal import access, api_tokens, pages
from services.portal.privacy_pages import audit_event
from services.portal.web import html_page, session_user

log = get_logger(__name__)
e = pages.e
ACTION = "account.tokens"


def _status(token) -> str:
    return both(f"portal.tokens.{api_tokens.state(token)}")


def _page(service, user, *, new_token: str | None = None, error: str | None = None,
          info: str | None = None, name: str = "", status: int = 200) -> Response:
    with session_scope(service.db) as session:
        tokens = api_tokens.listing(session, user.username)
        rows = [[e(t.name), e(pages.local_time(t.created_at)), e(pages.local_time(t.expires_at, date_only=True)),
                 e(pages.local_time(t.last_used_at) if t.last_used_at else "—"), e(_status(t)),
                 (f'<form method="post" action="/account/tokens/{e(t.id)}/revoke" class="inline">'
                  f'<button type="submit" aria-label="{e(both("portal.tokens.revoke_named", name=t.name))}">'
                  f'{e(both("portal.tokens.revoke"))}</button></form>')
                 if t.revoked_at is None else ""] for t in tokens]
    shown = ""
    if new_token:
        shown = (f'<section class="card" id="new-token-card"><h2>{e(both("portal.tokens.new_title"))}</h2>'
                 f'<p>{e(both("portal.tokens.shown_once"))}</p>'
                 f'<p><code id="new-token">{e(new_token)}</code></p>'
                 f'<p>{e(both("portal.tokens.usage"))}</p>'
                 f'<pre>Authorization: Bearer &lt;token&gt;</pre></section>')
    validity = [(str(days), both("portal.tokens.days", days=days)) for days in api_tokens.VALIDITY_DAYS]
    form = (f'<form method="post" action="/account/tokens" class="card" id="token-form">'
            f'<h2>{e(both("portal.tokens.form_title"))}</h2>'
            + pages._input("name", "portal.tokens.name", name, required=True,
                           extra=f'maxlength="{api_tokens.NAME_LENGTH}" autocomplete="off"')
            + f'<label>{e(both("portal.tokens.validity"))}'
            f'{pages._select("days", validity, str(api_tokens.DEFAULT_VALIDITY))}</label>'
            f'<button type="submit">{e(both("portal.tokens.create"))}</button></form>')
    body = (pages.message_box(error) + pages.message_box(info, "info") + shown
            + f'<p>{e(both("portal.tokens.intro"))}</p>'
            + pages._table(["portal.tokens.name", "portal.tokens.created", "portal.tokens.expires",
                            "portal.tokens.last_used", "portal.tokens.status", "portal.tokens.action"], rows)
            + form)
    return html_response(pages.layout(both("portal.tokens.title"), body, user=user), status=status)


@html_page
def tokens(service, request) -> Response:
    info = both("portal.tokens.revoked_info") if request.args.get("revoked") else None
    return _page(service, access.require(session_user(service, request), ACTION), info=info)


@html_page
def create(service, request) -> Response:
    user = access.require(session_user(service, request), ACTION)
    name = request.form.get("name") or ""
    with session_scope(service.db) as session:
        try:
            row, raw = api_tokens.create(session, user, name, request.form.get("days"))
        except api_tokens.TokenError as error:
            return _page(service, user, error=both(str(error)),
                         name=name, status=422)
        # in the same transaction: no token without its audit entry
        audit_event(service, user, request, action="create", record_type="api_token", record_id=row.id,
                    fields=["api_token"], purpose=f"API token made: {row.name}")
    with log_context(network=user.network):
        log.info("api_token_created", role=user.role)
    return _page(service, user, new_token=raw, info=both("portal.tokens.created_info", name=row.name))


@html_page
def revoke(service, request, token_id: str) -> Response:
    user = access.require(session_user(service, request), ACTION)
    with session_scope(service.db) as session:
        row = api_tokens.revoke(session, user, token_id)
        if row is None:
            raise access.not_found()
        audit_event(service, user, request, action="update", record_type="api_token", record_id=row.id,
                    fields=["revoked_at"], purpose=f"API token revoked: {row.name}")
    with log_context(network=user.network):
        log.info("api_token_revoked", role=user.role)
    return redirect("/account/tokens?revoked=1", code=303)
