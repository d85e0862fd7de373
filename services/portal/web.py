"""The portal's request handling: who is asking, calling the workflow bridge, turning its errors
into pages (422 / 404 / 503) instead of crashes. service.py routes every HTTP entrypoint here."""
from __future__ import annotations

import hmac
import json
import time
from dataclasses import dataclass
from functools import wraps
from typing import Callable
from pathlib import Path
from urllib.parse import quote

import eventlet
from nameko.exceptions import RemoteError, UnknownService
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from sqlalchemy import or_, select

from netsterk.catalogue import CATALOGUE
from netsterk.contracts import STATES
from netsterk.db import session_scope, utcnow
from netsterk.i18n import both
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import html_response, json_response
from netsterk.settings import get_settings
from services.portal import access, api_tokens, auth, pages, schemas, security, tasks
from services.portal.access import LoginRequired, Refused  # noqa: F401  (re-exported)
from services.portal.models import Task, User

log = get_logger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {".css": "text/css"}


# Refused / LoginRequired live in access.py (the one policy module); imported here for the pages
# that import them from web


# --- who is asking -------------------------------------------------------------------------

def _load_user(service, username: str | None) -> User | None:
    if not username:
        return None
    with session_scope(service.db) as session:
        return session.get(User, username)


IDLE_FLAG = "netsterk.session_idle"        # request.environ: the session ended by inactivity


def session_user(service, request) -> User | None:
    """The signed-in user: a valid, unexpired session cookie of the user's current session epoch
    (a logout or a new password ends every older cookie), for an active account, used within the
    idle timeout (settings.portal_idle_minutes). A session in use gets its activity time moved on
    (security.finish sets the cookie); one idle too long is marked, for the "expired" message."""
    settings = get_settings()
    data = auth.read_session_data(settings.session_key, request.cookies.get(auth.SESSION_COOKIE))
    if data is not None and auth.idle_expired(data, settings.portal_idle_minutes * 60):
        request.environ[IDLE_FLAG] = True
        return None
    user = _load_user(service, data["u"]) if data else None
    if user is None or not user.active or data.get("e", 0) != (user.session_epoch or 0):
        return None
    touched = auth.touched_session(settings.session_key, data)
    if touched:
        request.environ[security.TOUCH_COOKIE] = (touched, max(1, int(data["exp"] - time.time())))
    return user


def api_user(service, request) -> User | None:
    """A personal API token (`Authorization: Bearer <token>`), or the session cookie. Passwords
    (HTTP Basic) are refused: they would skip the second factor."""
    header = (request.headers.get("Authorization") or "").strip()
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "basic":
        raise Refused(401, both("portal.api.basic_removed"))
    if scheme.lower() == "bearer":
        with session_scope(service.db) as session:
            try:
                user, _token = api_tokens.resolve(session, credentials)
            except api_tokens.TokenRefused as refused:
                log.info("api_token_refused", reason=refused.key.rsplit(".", 1)[-1])
                raise Refused(401, both(refused.key)) from None
            return user
    if header:
        raise Refused(401, both("portal.api.token_missing"))
    return session_user(service, request)


def require_coordinator(user: User | None, action: str = "referral.view") -> User:
    """Kept for the pages that call it: the check itself is access.require."""
    return access.require(user, action)


def return_path(request) -> str:
    """Where to go back after signing in: the page asked for; for a form sent after the session
    ended, the referral it belonged to (the form's own address only takes a POST), else home."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    parts = request.path.split("/")
    return "/".join(parts[:3]) if len(parts) > 3 and parts[1] == "referrals" else "/"


def safe_next(value: str | None) -> str:
    """Only same-site paths after login, never another host."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


# --- the workflow bridge -------------------------------------------------------------------

def call_bridge(service, method: str, *args):
    """Call `workflow_bridge.<method>`; its refusals become `Refused` with the reason."""
    timeout = get_settings().rpc_timeout
    try:
        with eventlet.Timeout(timeout):
            return getattr(service.bridge, method)(*args)
    except RemoteError as exc:
        if exc.exc_type == "InvalidAction":
            raise Refused(422, exc.value or both("portal.error.remote")) from exc
        if exc.exc_type == "UnknownReferral":
            raise Refused(404, both("portal.error.not_found")) from exc
        if exc.exc_type == "TemporalUnavailable":
            log.warning("temporal_unavailable", method=method)
            raise Refused(503, both("portal.error.unavailable")) from exc
        log.warning("bridge_error", method=method, exc_type=exc.exc_type)
        raise Refused(502, both("portal.error.remote")) from exc
    except UnknownService as exc:
        log.warning("bridge_unavailable", method=method)
        raise Refused(503, both("portal.error.unavailable")) from exc
    except eventlet.Timeout as exc:
        log.warning("bridge_timeout", method=method, timeout=timeout)
        raise Refused(504, both("portal.error.unavailable")) from exc


def network_snapshot(service, user: User, referral_id: str) -> dict:
    """The referral's snapshot, only when it belongs to the user's network (else 404)."""
    return access.in_network(user, call_bridge(service, "get_referral", referral_id))


def _categories(service, snapshot: dict) -> list[str]:
    if snapshot.get("categories"):
        return list(snapshot["categories"])
    with session_scope(service.db) as session:
        task = session.get(Task, snapshot["referral_id"])
        return list(task.categories or []) if task else []


def find_engagement(snapshot: dict, token: str) -> dict:
    for engagement in snapshot.get("engagements") or []:
        candidate = str(engagement.get("token") or "")
        if candidate and hmac.compare_digest(candidate.encode(), token.encode()):
            return engagement
    raise Refused(404, both("portal.error.engagement_not_found"))


# --- response helpers ----------------------------------------------------------------------

def html_page(handler):
    """HTML entrypoints: login redirects, refusals as an error page, no tracebacks to users."""
    @wraps(handler)
    def wrapper(service, request, **kwargs):
        try:
            return handler(service, request, **kwargs)
        except LoginRequired:
            expired = "&expired=1" if request.environ.get(IDLE_FLAG) else ""
            return redirect(f"/login?next={quote(return_path(request), safe='/')}{expired}", code=303)
        except Refused as refused:
            return _retry_after(html_response(pages.error_page(refused.message), status=refused.status),
                                refused.retry_after)
        except Exception:
            log.exception("portal_page_failed", path=request.path)
            return html_response(pages.error_page(both("portal.error.remote")), status=500)
    return wrapper


def _retry_after(response: Response, seconds: int | None) -> Response:
    if seconds:
        response.headers["Retry-After"] = str(seconds)
    return response


def throttled(seconds: int) -> Refused:
    """Too many failed sign-ins of this user from this address: 429, how long to wait."""
    return Refused(429, both("portal.login.throttled", minutes=max(1, -(-seconds // 60))), retry_after=seconds)


def api(handler):
    """JSON entrypoints: 401 with a Bearer challenge (a personal API token), refusals as
    {"error": ...}."""
    @wraps(handler)
    def wrapper(service, request, **kwargs):
        try:
            return handler(service, request, **kwargs)
        except LoginRequired:
            return _unauthorised(both("portal.api.token_missing"), "invalid_request")
        except Refused as refused:
            if refused.status == 401:
                return _unauthorised(refused.message, "invalid_token")
            return _retry_after(json_response({"error": refused.message}, status=refused.status),
                                refused.retry_after)
        except schemas.ActionError as error:
            return json_response({"error": error.message, "field": error.field}, status=422)
        except Exception:
            log.exception("portal_api_failed", path=request.path)
            return json_response({"error": both("portal.error.remote")}, status=500)
    return wrapper


def _unauthorised(message: str, error: str) -> Response:
    response = json_response({"error": message}, status=401)
    response.headers["WWW-Authenticate"] = f'Bearer realm="Netsterk portal", error="{error}"'
    return response


def static_file(name: str) -> Response:
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR or path.suffix not in STATIC_TYPES or not path.is_file():
        return Response(both("portal.error.page_not_found"), status=404, mimetype="text/plain")
    response = Response(path.read_bytes(), mimetype=STATIC_TYPES[path.suffix])
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


# --- pages ---------------------------------------------------------------------------------

@html_page
def login_form(service, request) -> Response:
    user = session_user(service, request)
    if user is not None:
        return redirect(safe_next(request.args.get("next")) if request.args.get("next") else access.home(user),
                        code=303)
    expired = both("portal.session.expired") if request.args.get("expired") else None
    return html_response(pages.login_page(next_path=safe_next(request.args.get("next")), info=expired))


def _cookie(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="Lax", path="/",
                        secure=security.secure_cookies())


def _signed_in(user: User, next_path: str | None) -> Response:
    """The session starts: session cookie, pending cookie gone, on to the page asked for."""
    target = safe_next(next_path) if next_path and safe_next(next_path) != "/" else access.home(user)
    response = redirect(target, code=303)
    _cookie(response, auth.SESSION_COOKIE,
            auth.sign_session(get_settings().session_key, user.username, epoch=user.session_epoch or 0),
            auth.SESSION_MAX_AGE)
    response.delete_cookie(auth.PENDING_COOKIE, path="/")
    with log_context(network=user.network):
        log.info("login", role=user.role)
    return response


@html_page
def login(service, request) -> Response:
    """Step 1: the password. Throttled per user and address. Roles with a second factor go on
    to the code (or, the first time, to enrolment); the others are signed in."""
    username = (request.form.get("username") or "").strip()
    next_path = safe_next(request.form.get("next") or request.args.get("next"))
    key = auth.throttle_key(username, request.remote_addr)
    with session_scope(service.db) as session:
        if wait := auth.locked_for(session, key):
            log.warning("login_throttled")
            return _retry_after(html_response(pages.login_page(error=throttled(wait).message, username=username,
                                                               next_path=next_path), status=429), wait)
        user = auth.authenticate(session, username, request.form.get("password") or "")
        if user is None:
            auth.record_failure(session, key)
        elif auth.needs_second_factor(user):
            stage = "totp" if user.totp_confirmed_at else "enrol"
            if stage == "enrol" and not user.totp_secret:
                user.totp_secret = auth.new_totp_secret()
            pending = auth.sign_pending(get_settings().session_key, user.username, stage,
                                        epoch=user.session_epoch or 0)
        else:
            auth.clear_failures(session, key)
    if user is None:
        log.info("login_failed")
        return html_response(pages.login_page(error=both("portal.login.failed"), username=username,
                                              next_path=next_path), status=401)
    if not auth.needs_second_factor(user):
        return _signed_in(user, next_path)
    response = redirect(f"/login/{stage}?next={quote(next_path, safe='/')}", code=303)
    _cookie(response, auth.PENDING_COOKIE, pending, auth.PENDING_MAX_AGE)
    return response


def _pending_user(service, request, stage: str) -> User:
    data = auth.read_pending(get_settings().session_key, request.cookies.get(auth.PENDING_COOKIE))
    user = _load_user(service, data["u"]) if data and data.get("s") == stage else None
    if user is None or not user.active or data.get("e", 0) != (user.session_epoch or 0):
        raise LoginRequired()
    return user


def _check_code(service, request, stage: str) -> tuple[User | None, str | None, int]:
    """(user signed in, or None with the error and status) for the code in the form."""
    user = _pending_user(service, request, stage)
    key = auth.throttle_key(user.username, request.remote_addr)
    with session_scope(service.db) as session:
        stored = session.get(User, user.username)
        if wait := auth.locked_for(session, key):
            return None, throttled(wait).message, 429
        step = auth.totp_step(stored.totp_secret or "", request.form.get("code") or "",
                              after=stored.totp_last_step)
        if step is None:
            auth.record_failure(session, key)
            log.info("second_factor_failed", stage=stage)
            return None, both("portal.totp.failed"), 401
        stored.totp_last_step = step
        if stage == "enrol":
            stored.totp_confirmed_at = utcnow()
        auth.clear_failures(session, key)
        return stored, None, 200


@html_page
def totp_form(service, request) -> Response:
    user = _pending_user(service, request, "totp")
    return html_response(pages.totp_page(user.username, next_path=safe_next(request.args.get("next"))))


@html_page
def totp_submit(service, request) -> Response:
    next_path = safe_next(request.form.get("next"))
    user, error, status = _check_code(service, request, "totp")
    if user is None:
        pending = _pending_user(service, request, "totp")
        return html_response(pages.totp_page(pending.username, next_path=next_path, error=error), status=status)
    return _signed_in(user, next_path)


@html_page
def enrol_form(service, request) -> Response:
    """The secret and its QR code, shown only while the factor is not yet confirmed."""
    user = _pending_user(service, request, "enrol")
    if user.totp_confirmed_at or not user.totp_secret:
        raise LoginRequired()
    return html_response(pages.enrol_page(user.username, user.totp_secret,
                                          auth.totp_uri(user.totp_secret, user.username),
                                          next_path=safe_next(request.args.get("next"))))


@html_page
def enrol_submit(service, request) -> Response:
    next_path = safe_next(request.form.get("next"))
    user, error, status = _check_code(service, request, "enrol")
    if user is None:
        pending = _pending_user(service, request, "enrol")
        return html_response(pages.enrol_page(pending.username, pending.totp_secret,
                                              auth.totp_uri(pending.totp_secret, pending.username),
                                              next_path=next_path, error=error), status=status)
    log.info("second_factor_enrolled", role=user.role)
    return _signed_in(user, next_path)


@html_page
def logout(service, request) -> Response:
    """Ends this session and every other one of the user (the session epoch moves on)."""
    user = session_user(service, request)
    if user is not None and request.method == "POST":
        with session_scope(service.db) as session:
            stored = session.get(User, user.username)
            stored.session_epoch = (stored.session_epoch or 0) + 1
    response = html_response(pages.login_page(info=both("portal.logged_out")))
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    response.delete_cookie(auth.PENDING_COOKIE, path="/")
    return response


@html_page
def language(service, request) -> Response:
    """`/language?lang=nl|en|both&next=/path`: remembered in a cookie for a year."""
    lang = request.args.get("lang") or request.form.get("lang")
    response = redirect(safe_next(request.args.get("next") or request.form.get("next")), code=303)
    if lang in security.LANG_CHOICES:
        response.set_cookie(security.LANG_COOKIE, lang, max_age=365 * 24 * 3600, httponly=True,
                            samesite="Lax", path="/", secure=security.secure_cookies())
    user = session_user(service, request)
    if user is not None and lang in ("nl", "en"):
        with session_scope(service.db) as session:
            session.get(User, user.username).lang = lang
    return response


def inbox_filters(user: User, args) -> dict:
    """`?network=&state=&urgency=&overdue=1&open=1`; a coordinator sees only their network."""
    network = (args.get("network") or user.network).strip()
    if network != user.network:
        raise Refused(403, both("portal.forbidden"))
    state = args.get("state") or None
    if state is not None and state not in STATES:
        raise Refused(422, both("field.invalid_choice", choices=", ".join(STATES)))
    urgency = args.get("urgency") or None
    if urgency is not None and urgency not in tasks.URGENCIES:
        raise Refused(422, both("field.invalid_choice", choices=", ".join(tasks.URGENCIES)))
    return {"network": network, "state": state, "urgency": urgency,
            "only_overdue": args.get("overdue") in ("1", "true", "on"),
            "only_open": args.get("open") in ("1", "true", "on")}


def _inbox_rows(service, filters: dict) -> list[dict]:
    with session_scope(service.db) as session:
        return tasks.inbox(session, filters["network"], state=filters["state"],
                           urgency=filters["urgency"], only_overdue=filters["only_overdue"],
                           only_open=filters["only_open"])


@html_page
def inbox(service, request) -> Response:
    user = session_user(service, request)
    if user is not None and not access.allowed(user, "inbox.view"):
        return redirect(access.home(user), code=303)      # each role has its own start page
    user = access.require(user, "inbox.view")
    filters = inbox_filters(user, request.args)
    return html_response(pages.inbox_page(user, _inbox_rows(service, filters), filters))


@html_page
def referral_detail(service, request, referral_id: str) -> Response:
    user = access.require(session_user(service, request), "referral.view")
    snapshot = network_snapshot(service, user, referral_id)
    privacy_pages.audit_access(service, user, request, snapshot)          # issue 10: audited read
    with log_context(network=user.network, referral_ref=snapshot.get("ref")):
        log.info("referral_viewed")
    return html_response(pages.detail_page(user, snapshot))


def resolve_target(service, user: User, args: dict) -> dict:
    """mark_duplicate names the other referral by reference (or id): find it in the user's
    network through the read model; the bridge checks again that it exists and is open."""
    if "target_referral_id" not in args:
        return args
    target = args["target_referral_id"].strip()
    with session_scope(service.db) as session:
        task = session.scalars(select(Task).where(
            Task.network == user.network, or_(Task.ref == target, Task.referral_id == target))).first()
        if task is None:
            raise schemas.ActionError("target", both("portal.error.unknown_target"))
        return dict(args, target_referral_id=task.referral_id)


@html_page
def referral_action(service, request, referral_id: str, action: str) -> Response:
    user = access.require(session_user(service, request), "referral.act")
    snapshot = network_snapshot(service, user, referral_id)
    values = schemas.form_data(request.form)
    try:
        args = resolve_target(service, user, schemas.coordinator_args(action, values, user.username))
        command = schemas.command_id(values.get("command_id"))
        with log_context(network=user.network, referral_ref=snapshot.get("ref")):
            privacy_pages.audit_access(service, user, request, snapshot, action="update",  # issue 10
                                       purpose=f"action {action}", fields=[action])
            call_bridge(service, "act", referral_id, action, args, command)
            log.info("action_done", action=action)
    except schemas.ActionError as error:
        return html_response(pages.detail_page(user, snapshot, error=error.message, values=values), status=422)
    except Refused as refused:
        if refused.status != 422:
            raise
        return html_response(pages.detail_page(user, snapshot, error=refused.message, values=values), status=422)
    return redirect(f"/referrals/{quote(referral_id, safe='')}", code=303)


# --- partner pages (the token is the key) --------------------------------------------------

def _engagement(service, referral_id: str, token: str) -> tuple[dict, dict]:
    try:
        snapshot = call_bridge(service, "get_referral", referral_id)
    except Refused as refused:
        if refused.status == 404:
            raise Refused(404, both("portal.error.engagement_not_found")) from refused
        raise
    return snapshot, find_engagement(snapshot, token)


@html_page
def engagement(service, request, referral_id: str, token: str) -> Response:
    snapshot, found = _engagement(service, referral_id, token)
    return html_response(pages.engagement_page(snapshot, found, _categories(service, snapshot)))


@dataclass(frozen=True)
class SignedLink:
    """A page reached through a signed single-action link (`/l/<token>`, link_pages.py): its form
    posts back there, the link's id makes the command id, and `used()` records its one use."""
    url: str
    command_id: str
    used: Callable[[], object]


def _command(values: dict, link: SignedLink | None) -> str:
    return link.command_id if link else schemas.command_id(values.get("command_id"))


def _partner_act(service, request, referral_id: str, token: str, action: str, build, done,
                 link: SignedLink | None = None) -> Response:
    snapshot, found = _engagement(service, referral_id, token)
    by = found.get("organisation_name") or "partner"
    try:
        values = schemas.form_data(request.form)
        args = build(values, found["token"], by)
        with log_context(network=snapshot.get("network"), referral_ref=snapshot.get("ref")):
            call_bridge(service, "act", referral_id, action, args, _command(values, link))
            if link:
                link.used()
            log.info("partner_action_done", action=action)
    except (schemas.ActionError, Refused) as error:
        if isinstance(error, Refused) and error.status != 422:
            raise
        categories = _categories(service, snapshot)
        page = (pages.feedback_page(snapshot, found, categories, link.url, error=error.message) if link
                else pages.engagement_page(snapshot, found, categories, error=error.message))
        return html_response(page, status=422)
    back = None if link else f"/engagements/{quote(referral_id, safe='')}/{quote(token, safe='')}"
    return html_response(pages.confirmation_page(both("portal.engagement.title", ref=snapshot.get("ref", "")),
                                                 done(args), back))


@html_page
def feedback_form(service, request, referral_id: str, token: str, link: SignedLink) -> Response:
    """The feedback form alone (a signed feedback link), for an engagement a partner works on."""
    snapshot, found = _engagement(service, referral_id, token)
    if found.get("status") not in pages.ACCEPTED_ENGAGEMENT:
        status = str(found.get("status") or "")
        raise Refused(410, both("links.no_longer", reason=label_of_status(status)))
    return html_response(pages.feedback_page(snapshot, found, _categories(service, snapshot), link.url))


def label_of_status(status: str) -> str:
    key = f"portal.engagement_status.{status}"
    return both(key) if key in CATALOGUE else status


@html_page
def engagement_respond(service, request, referral_id: str, token: str) -> Response:
    return _partner_act(service, request, referral_id, token, "partner_respond", schemas.respond_args,
                        lambda args: both("portal.engagement.accepted" if args["accept"]
                                          else "portal.engagement.declined"))


@html_page
def engagement_feedback(service, request, referral_id: str, token: str,
                        link: SignedLink | None = None) -> Response:
    return _partner_act(service, request, referral_id, token, "submit_feedback", schemas.feedback_args,
                        lambda args: both("portal.engagement.feedback_sent"), link)


@html_page
def engagement_help(service, request, referral_id: str, token: str) -> Response:
    return _partner_act(service, request, referral_id, token, "ask_help", schemas.help_args,
                        lambda args: both("portal.engagement.help_sent"))


@html_page
def engagement_end(service, request, referral_id: str, token: str) -> Response:
    return _partner_act(service, request, referral_id, token, "report_end", schemas.end_args,
                        lambda args: both("portal.engagement.end_sent"))


# --- the reporter's and the school's link pages (the token is the key) ----------------------

def _question(service, referral_id: str, token: str, kind: str = "information") -> dict:
    try:
        return call_bridge(service, "get_question", referral_id, token, kind)
    except Refused as refused:
        if refused.status in (404, 422):
            raise Refused(404, both("portal.information.invalid")) from refused
        raise


@html_page
def school_efforts(service, request, referral_id: str, token: str, link: SignedLink | None = None) -> Response:
    return html_response(pages.school_efforts_page(_question(service, referral_id, token, "school_efforts"),
                                                   token, action=link.url if link else None))


@html_page
def school_efforts_confirm(service, request, referral_id: str, token: str,
                           link: SignedLink | None = None) -> Response:
    question = _question(service, referral_id, token, "school_efforts")
    values = schemas.form_data(request.form)
    try:
        args = schemas.school_efforts_args(values, token)
        call_bridge(service, "act", referral_id, "confirm_school_efforts", args, _command(values, link))
        if link:
            link.used()
    except (schemas.ActionError, Refused) as error:
        if isinstance(error, Refused) and error.status != 422:
            raise
        return html_response(pages.school_efforts_page(question, token, error=error.message,
                                                       summary=values.get("summary") or "",
                                                       action=link.url if link else None), status=422)
    log.info("school_efforts_confirmed")
    return html_response(pages.confirmation_page(
        both("portal.school.title", ref=question.get("ref", "")), both("portal.school.thanks"), None))


@html_page
def information(service, request, referral_id: str, token: str, link: SignedLink | None = None) -> Response:
    return html_response(pages.information_page(_question(service, referral_id, token), token,
                                                 action=link.url if link else None))


@html_page
def information_answer(service, request, referral_id: str, token: str,
                       link: SignedLink | None = None) -> Response:
    question = _question(service, referral_id, token)
    values = schemas.form_data(request.form)
    try:
        args = schemas.answer_args(values, token)
        call_bridge(service, "act", referral_id, "answer_information", args, _command(values, link))
        if link:
            link.used()
    except (schemas.ActionError, Refused) as error:
        if isinstance(error, Refused) and error.status != 422:
            raise
        return html_response(pages.information_page(question, token, error=error.message,
                                                    answer=values.get("answer") or "",
                                                    action=link.url if link else None), status=422)
    log.info("information_answered")
    return html_response(pages.confirmation_page(
        both("portal.information.title", ref=question.get("ref", "")),
        both("portal.information.thanks"), None))


# --- JSON API ------------------------------------------------------------------------------

@api
def api_tasks(service, request) -> Response:
    user = access.require(api_user(service, request), "inbox.view")
    return json_response(_inbox_rows(service, inbox_filters(user, request.args)))


@api
def api_referral(service, request, referral_id: str) -> Response:
    user = access.require(api_user(service, request), "referral.view")
    snapshot = network_snapshot(service, user, referral_id)
    privacy_pages.audit_access(service, user, request, snapshot, purpose="referral API")  # issue 10
    return json_response(snapshot)


@api
def api_action(service, request, referral_id: str, action: str) -> Response:
    user = access.require(api_user(service, request), "referral.act")
    try:
        data = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        return json_response({"error": both("portal.error.invalid_json")}, status=422)
    command = request.headers.get("Idempotency-Key")
    if isinstance(data, dict) and isinstance(data.get("args"), dict):
        command = data.get("command_id") or command
        data = data["args"]
    elif isinstance(data, dict) and "command_id" in data:
        data = dict(data)
        command = data.pop("command_id") or command
    args = schemas.coordinator_args(action, data, user.username)
    command = schemas.command_id(command)
    snapshot = network_snapshot(service, user, referral_id)
    args = resolve_target(service, user, args)
    with log_context(network=user.network, referral_ref=snapshot.get("ref")):
        privacy_pages.audit_access(service, user, request, snapshot, action="update",  # issue 10
                                   purpose=f"action {action} (API)", fields=[action])
        result = call_bridge(service, "act", referral_id, action, args, command)
        log.info("action_done", action=action, via="api")
    return json_response({"result": result})


# issue 10: the audit of reads and changes (at the end: privacy_pages uses this module's helpers)
from services.portal import privacy_pages  # noqa: E402
