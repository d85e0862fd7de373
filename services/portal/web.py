"""The portal's request handling: who is asking, calling the workflow bridge, turning its errors
into pages (422 / 404 / 503) instead of crashes. service.py routes every HTTP entrypoint here."""
from __future__ import annotations

import hmac
import json
from functools import wraps
from pathlib import Path
from urllib.parse import quote

import eventlet
from nameko.exceptions import RemoteError, UnknownService
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from sqlalchemy import or_, select

from netsterk.contracts import STATES
from netsterk.db import session_scope
from netsterk.i18n import both
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import html_response, json_response
from netsterk.settings import get_settings
from services.portal import auth, pages, schemas, tasks
from services.portal.models import Task, User

log = get_logger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {".css": "text/css"}


class Refused(Exception):
    """A request that ends in a clear message for the user, with its HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class LoginRequired(Exception):
    """No (valid) session or credentials: log in first."""


# --- who is asking -------------------------------------------------------------------------

def _load_user(service, username: str | None) -> User | None:
    if not username:
        return None
    with session_scope(service.db) as session:
        return session.get(User, username)


def session_user(service, request) -> User | None:
    key = get_settings().session_key
    return _load_user(service, auth.read_session(key, request.cookies.get(auth.SESSION_COOKIE)))


def api_user(service, request) -> User | None:
    """HTTP Basic auth with a portal user, or the session cookie."""
    credentials = request.authorization
    if credentials is not None and credentials.type == "basic":
        with session_scope(service.db) as session:
            return auth.authenticate(session, credentials.username or "", credentials.password or "")
    return session_user(service, request)


def require_coordinator(user: User | None) -> User:
    if user is None:
        raise LoginRequired()
    if user.role != "coordinator" or not user.network:
        raise Refused(403, both("portal.forbidden"))
    return user


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
    snapshot = call_bridge(service, "get_referral", referral_id)
    if not isinstance(snapshot, dict) or snapshot.get("network") != user.network:
        raise Refused(404, both("portal.error.not_found"))
    return snapshot


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
            return redirect(f"/login?next={quote(request.full_path.rstrip('?'), safe='/')}", code=303)
        except Refused as refused:
            return html_response(pages.error_page(refused.message), status=refused.status)
        except Exception:
            log.exception("portal_page_failed", path=request.path)
            return html_response(pages.error_page(both("portal.error.remote")), status=500)
    return wrapper


def api(handler):
    """JSON entrypoints: 401 with a Basic challenge, refusals as {"error": ...}."""
    @wraps(handler)
    def wrapper(service, request, **kwargs):
        try:
            return handler(service, request, **kwargs)
        except LoginRequired:
            response = json_response({"error": both("portal.error.login_required")}, status=401)
            response.headers["WWW-Authenticate"] = 'Basic realm="Netsterk portal", charset="UTF-8"'
            return response
        except Refused as refused:
            return json_response({"error": refused.message}, status=refused.status)
        except schemas.ActionError as error:
            return json_response({"error": error.message, "field": error.field}, status=422)
        except Exception:
            log.exception("portal_api_failed", path=request.path)
            return json_response({"error": both("portal.error.remote")}, status=500)
    return wrapper


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
    return html_response(pages.login_page(next_path=safe_next(request.args.get("next"))))


@html_page
def login(service, request) -> Response:
    username = (request.form.get("username") or "").strip()
    with session_scope(service.db) as session:
        user = auth.authenticate(session, username, request.form.get("password") or "")
    if user is None:
        log.info("login_failed")
        return html_response(pages.login_page(error=both("portal.login.failed"), username=username,
                                              next_path=safe_next(request.form.get("next"))),
                             status=401)
    settings = get_settings()
    response = redirect(safe_next(request.form.get("next") or request.args.get("next")), code=303)
    response.set_cookie(auth.SESSION_COOKIE, auth.sign_session(settings.session_key, user.username),
                        max_age=auth.SESSION_MAX_AGE, httponly=True, samesite="Lax", path="/",
                        secure=settings.portal_url.startswith("https://"))
    with log_context(network=user.network):
        log.info("login", role=user.role)
    return response


@html_page
def logout(service, request) -> Response:
    response = html_response(pages.login_page(info=both("portal.logged_out")))
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
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
    user = require_coordinator(session_user(service, request))
    filters = inbox_filters(user, request.args)
    return html_response(pages.inbox_page(user, _inbox_rows(service, filters), filters))


@html_page
def referral_detail(service, request, referral_id: str) -> Response:
    user = require_coordinator(session_user(service, request))
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
    user = require_coordinator(session_user(service, request))
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


def _partner_act(service, request, referral_id: str, token: str, action: str, build, done) -> Response:
    snapshot, found = _engagement(service, referral_id, token)
    by = found.get("organisation_name") or "partner"
    try:
        values = schemas.form_data(request.form)
        args = build(values, found["token"], by)
        command = schemas.command_id(values.get("command_id"))
        with log_context(network=snapshot.get("network"), referral_ref=snapshot.get("ref")):
            call_bridge(service, "act", referral_id, action, args, command)
            log.info("partner_action_done", action=action)
    except (schemas.ActionError, Refused) as error:
        if isinstance(error, Refused) and error.status != 422:
            raise
        return html_response(pages.engagement_page(snapshot, found, _categories(service, snapshot),
                                                   error=error.message), status=422)
    back = f"/engagements/{quote(referral_id, safe='')}/{quote(token, safe='')}"
    return html_response(pages.confirmation_page(both("portal.engagement.title", ref=snapshot.get("ref", "")),
                                                 done(args), back))


@html_page
def engagement_respond(service, request, referral_id: str, token: str) -> Response:
    return _partner_act(service, request, referral_id, token, "partner_respond", schemas.respond_args,
                        lambda args: both("portal.engagement.accepted" if args["accept"]
                                          else "portal.engagement.declined"))


@html_page
def engagement_feedback(service, request, referral_id: str, token: str) -> Response:
    return _partner_act(service, request, referral_id, token, "submit_feedback", schemas.feedback_args,
                        lambda args: both("portal.engagement.feedback_sent"))


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
def school_efforts(service, request, referral_id: str, token: str) -> Response:
    return html_response(pages.school_efforts_page(_question(service, referral_id, token, "school_efforts"),
                                                   token))


@html_page
def school_efforts_confirm(service, request, referral_id: str, token: str) -> Response:
    question = _question(service, referral_id, token, "school_efforts")
    values = schemas.form_data(request.form)
    try:
        args = schemas.school_efforts_args(values, token)
        command = schemas.command_id(values.get("command_id"))
        call_bridge(service, "act", referral_id, "confirm_school_efforts", args, command)
    except (schemas.ActionError, Refused) as error:
        if isinstance(error, Refused) and error.status != 422:
            raise
        return html_response(pages.school_efforts_page(question, token, error=error.message,
                                                       summary=values.get("summary") or ""), status=422)
    log.info("school_efforts_confirmed")
    return html_response(pages.confirmation_page(
        both("portal.school.title", ref=question.get("ref", "")), both("portal.school.thanks"), None))


@html_page
def information(service, request, referral_id: str, token: str) -> Response:
    return html_response(pages.information_page(_question(service, referral_id, token), token))


@html_page
def information_answer(service, request, referral_id: str, token: str) -> Response:
    question = _question(service, referral_id, token)
    values = schemas.form_data(request.form)
    try:
        args = schemas.answer_args(values, token)
        command = schemas.command_id(values.get("command_id"))
        call_bridge(service, "act", referral_id, "answer_information", args, command)
    except (schemas.ActionError, Refused) as error:
        if isinstance(error, Refused) and error.status != 422:
            raise
        return html_response(pages.information_page(question, token, error=error.message,
                                                    answer=values.get("answer") or ""), status=422)
    log.info("information_answered")
    return html_response(pages.confirmation_page(
        both("portal.information.title", ref=question.get("ref", "")),
        both("portal.information.thanks"), None))


# --- JSON API ------------------------------------------------------------------------------

@api
def api_tasks(service, request) -> Response:
    user = require_coordinator(api_user(service, request))
    return json_response(_inbox_rows(service, inbox_filters(user, request.args)))


@api
def api_referral(service, request, referral_id: str) -> Response:
    user = require_coordinator(api_user(service, request))
    snapshot = network_snapshot(service, user, referral_id)
    privacy_pages.audit_access(service, user, request, snapshot, purpose="referral API")  # issue 10
    return json_response(snapshot)


@api
def api_action(service, request, referral_id: str, action: str) -> Response:
    user = require_coordinator(api_user(service, request))
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
