"""Every portal HTTP response passes here (one place, so pages written anywhere get it):

- CSRF: a random cookie `netsterk_csrf` per browser; every `<form method="post">` of an HTML
  response gets a hidden `csrf_token` (an HMAC of that cookie with the session key) added here,
  and every POST must carry it (form field `csrf_token` or header `X-CSRF-Token`). Requests
  with a personal API token (`Authorization: Bearer`, the JSON API for machines) are exempt: a
  browser never adds that header to a cross-site request by itself.
- the session's activity time: a session used on this request gets its cookie renewed (web.py
  decides, here it is set), so the idle timeout counts from the last request.
- security headers on every response (CSP on HTML), and the page language (nl / en / both)
  chosen by the `netsterk_lang` cookie, for the worker that renders the page.

`http` here replaces nameko's `http` decorator in service.py."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from html import escape
from urllib.parse import quote

from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler
from werkzeug.wrappers import Response

from netsterk import i18n
from netsterk.i18n import both
from netsterk.logging import get_logger
from netsterk.settings import get_settings
from services.portal.auth import SESSION_COOKIE

log = get_logger(__name__)

TOUCH_COOKIE = "netsterk.session_touch"   # request.environ: the renewed session cookie (web.py)
CSRF_COOKIE = "netsterk_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LANG_COOKIE = "netsterk_lang"
LANG_CHOICES = ("nl", "en", "both")

FORM_POST = re.compile(r"""<form\b[^>]*\bmethod\s*=\s*["']?post["']?[^>]*>""", re.IGNORECASE)

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",      # the token links must not leak through Referer
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def secure_cookies() -> bool:
    """Secure cookies when the portal is served over TLS (its public URL is https)."""
    return get_settings().portal_url.startswith("https://")


def csrf_token(cookie_value: str) -> str:
    key = get_settings().session_key.encode("utf-8")
    return hmac.new(key, b"csrf|" + cookie_value.encode("utf-8"), hashlib.sha256).hexdigest()[:40]


def _token_auth(request) -> bool:
    return (request.headers.get("Authorization") or "").lower().startswith("bearer ")


def csrf_ok(request) -> bool:
    if request.method not in ("POST", "PUT", "PATCH", "DELETE") or _token_auth(request):
        return True
    if request.path.startswith("/api/") and not request.cookies.get(SESSION_COOKIE):
        return True        # the API without a session: only an API token can act there (401 otherwise)
    cookie = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    return bool(cookie) and hmac.compare_digest(csrf_token(cookie), sent)


def _inject(request, response: Response, token: str) -> None:
    if response.mimetype != "text/html" or response.direct_passthrough or response.is_streamed:
        return
    html = response.get_data(as_text=True)
    field = f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">'
    changed = FORM_POST.sub(lambda match: match.group(0) + field, html)
    if request.method == "GET" and "/language?lang=" in changed:      # back to this page after a switch
        here = escape(quote(request.full_path.rstrip("?"), safe="/"))
        changed = re.sub(r'href="/language\?lang=(\w+)"', rf'href="/language?lang=\1&amp;next={here}"', changed)
    if changed != html:
        response.set_data(changed)


def _forbidden() -> Response:
    from services.portal import pages   # pages imports this module's helpers lazily too
    return Response(pages.error_page(both("portal.error.csrf"), back=None), status=403,
                    mimetype="text/html")


def finish(request, response: Response) -> Response:
    """CSRF field and cookie, security headers."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie:
        cookie = secrets.token_urlsafe(32)
        response.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="Lax", path="/",
                            secure=secure_cookies())
    _inject(request, response, csrf_token(cookie))
    touched = request.environ.get(TOUCH_COOKIE)
    if touched and not any(value.startswith(SESSION_COOKIE + "=")
                           for value in response.headers.getlist("Set-Cookie")):
        value, max_age = touched
        response.set_cookie(SESSION_COOKIE, value, max_age=max_age, httponly=True, samesite="Lax",
                            path="/", secure=secure_cookies())
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = CSP
        response.headers.setdefault("Cache-Control", "no-store")
    return response


class PortalRequestHandler(HttpRequestHandler):
    """nameko's HTTP entrypoint with the CSRF check before and `finish` after every request."""

    def handle_request(self, request):
        request.shallow = False     # as nameko's own handler does: the form may be read
        try:
            if not csrf_ok(request):
                log.warning("csrf_refused", path=request.path)
                return finish(request, _forbidden())
            return finish(request, super().handle_request(request))
        except Exception:
            log.exception("portal_request_failed", path=request.path)
            return Response(both("portal.error.remote"), status=500, mimetype="text/plain")


http = PortalRequestHandler.decorator


# --- the page language ------------------------------------------------------------------------

def request_language(request) -> str | None:
    """"nl" or "en" when chosen, None: both (the default)."""
    chosen = request.cookies.get(LANG_COOKIE) if request is not None else None
    return chosen if chosen in i18n.LANGUAGES else None


class PageLanguage(DependencyProvider):
    """Sets the display language for the worker that renders a page (netsterk.i18n.both)."""

    def __init__(self):
        self.tokens = {}      # per worker (not in worker_ctx.data: that travels as AMQP headers)

    def worker_setup(self, worker_ctx):
        request = worker_ctx.args[0] if worker_ctx.args else None
        lang = request_language(request) if hasattr(request, "cookies") else None
        self.tokens[id(worker_ctx)] = i18n.set_display_language(lang)

    def worker_teardown(self, worker_ctx):
        token = self.tokens.pop(id(worker_ctx), None)
        if token is not None:
            try:
                i18n.reset_display_language(token)
            except ValueError:    # set in another context: nothing to undo there
                pass

    def get_dependency(self, worker_ctx):
        return i18n.display_language()
