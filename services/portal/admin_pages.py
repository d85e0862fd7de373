"""The network admin's area: users and roles of their own network (create, change role, reset
the password or the second factor, deactivate), and the way to the directory approvals and the
matching weights (directory.py). Ops accounts are not made here: they are not of one network."""
from __future__ import annotations

import secrets

from sqlalchemy import select
from werkzeug.wrappers import Response

from netsterk import deadlines as deadline_rules
from netsterk.db import session_scope, utcnow
from netsterk.catalogue import CATALOGUE
from netsterk.i18n import both
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import html_response
from netsterk.web_security import client_address
from services.portal import access, auth, pages
from services.portal.models import User
from services.portal.web import call_bridge, html_page, session_user

log = get_logger(__name__)
e = pages.e
ADMIN_ROLES = ("coordinator", "partner_staff", "network_admin", "analyst")


def _admin(service, request, action: str = "admin.users"):
    return access.require(session_user(service, request), action)


@html_page
def home(service, request) -> Response:
    user = _admin(service, request, "admin.settings")
    links = [("/admin/users", "portal.admin.users_title", "portal.admin.users_intro"),
             ("/admin/categories", "portal.admin.categories_title", "portal.admin.categories_intro"),
             ("/admin/deadlines", "portal.admin.deadlines_title", "portal.admin.deadlines_intro"),
             ("/directory/changes", "portal.nav.changes", "portal.admin.changes_intro"),
             ("/directory/rules", "portal.admin.weights", "portal.admin.weights_intro"),
             ("/directory/gaps", "portal.admin.gaps", "portal.admin.gaps_intro"),
             ("/reports", "portal.nav.reports", "portal.admin.reports_intro")]
    body = "".join(f'<section class="card"><h2><a href="{path}">{e(both(title))}</a></h2>'
                   f'<p>{e(both(intro))}</p></section>' for path, title, intro in links)
    return html_response(pages.layout(both("portal.admin.title", network=user.network), body, user=user))


def _users_page(service, user, *, error: str | None = None, info: str | None = None,
                values: dict | None = None, status: int = 200) -> Response:
    values = values or {}
    with session_scope(service.db) as session:
        rows = session.scalars(select(User).where(User.network == user.network, User.role.in_(ADMIN_ROLES))
                               .order_by(User.username)).all()
        listed = [[f'<span class="username">{e(u.username)}</span>', e(pages.label("portal.role", u.role)),
                   e(u.organisation_id or ""),
                   e(both("portal.yes" if u.totp_confirmed_at else "portal.no")),
                   e(both("portal.yes" if u.active else "portal.no"))] for u in rows]
    roles = [(r, both("portal.role." + r)) for r in ADMIN_ROLES]
    form = (
        f'<form method="post" action="/admin/users" class="card" id="user-form">'
        f'<h2>{e(both("portal.admin.user_form"))}</h2>'
        + pages._input("username", "portal.login.username", values.get("username", ""), required=True,
                       extra='maxlength="64" autocomplete="off"')
        + f'<label>{e(both("portal.admin.role"))}{pages._select("role", roles, values.get("role") or "coordinator")}</label>'
        + pages._input("organisation_id", "portal.admin.organisation", values.get("organisation_id", ""))
        + f'<label>{e(both("portal.language"))}{pages._select("lang", [("nl", "Nederlands"), ("en", "English")], values.get("lang") or "nl")}</label>'
        + f'<label class="choice"><input type="checkbox" name="reset_password" value="1"> {e(both("portal.admin.reset_password"))}</label>'
        + f'<label class="choice"><input type="checkbox" name="reset_totp" value="1"> {e(both("portal.admin.reset_totp"))}</label>'
        + f'<label class="choice"><input type="checkbox" name="deactivate" value="1"> {e(both("portal.admin.deactivate"))}</label>'
        + f'<button type="submit">{e(both("portal.admin.save_user"))}</button></form>')
    body = (pages.message_box(error) + pages.message_box(info, "info")
            + pages._table(["portal.login.username", "portal.admin.role", "portal.admin.organisation",
                            "portal.admin.second_factor", "portal.admin.active"], listed) + form)
    return html_response(pages.layout(both("portal.admin.users_title"), body, user=user), status=status)


@html_page
def users(service, request) -> Response:
    return _users_page(service, _admin(service, request))


@html_page
def users_submit(service, request) -> Response:
    """Create or change a user of the admin's network. A new user (or a reset) gets a one-time
    password shown once here; a reset second factor is enrolled again at the next sign-in."""
    admin = _admin(service, request)
    form = {k: (request.form.get(k) or "").strip() for k in ("username", "role", "organisation_id", "lang")}
    if form["role"] not in ADMIN_ROLES:
        return _users_page(service, admin, error=both("portal.admin.bad_role"), values=form, status=422)
    with session_scope(service.db) as session:
        existing = session.get(User, form["username"])
        if existing is not None and (existing.network != admin.network or existing.role not in ADMIN_ROLES):
            # a username of another network: refuse without telling whose it is
            return _users_page(service, admin, error=both("portal.admin.username_taken"), values=form, status=422)
        new_password = secrets.token_urlsafe(12) if existing is None or request.form.get("reset_password") else None
        try:
            user, created = auth.upsert_user(
                session, form["username"], new_password or "unchanged-placeholder", form["role"], admin.network,
                form["organisation_id"] or None, form["lang"] or "nl") if new_password else \
                _change(session, existing, form, admin)
        except auth.UserError as error:
            return _users_page(service, admin, error=str(error), values=form, status=422)
        if request.form.get("reset_totp"):
            user.totp_secret, user.totp_confirmed_at, user.totp_last_step = None, None, None
            user.session_epoch = (user.session_epoch or 0) + 1
        if request.form.get("deactivate") and user.username != admin.username:
            user.active = False
            user.session_epoch = (user.session_epoch or 0) + 1
        user.updated_at = utcnow()
        username = user.username
    with log_context(network=admin.network):
        log.info("user_saved", role=form["role"], created=existing is None)
    info = both("portal.admin.saved", username=username)
    if new_password:
        info += " " + both("portal.admin.one_time_password", password=new_password)
    return _users_page(service, admin, info=info)


def _change(session, user: User, form: dict, admin) -> tuple[User, bool]:
    """Role, organisation, language of an existing user; the password stays."""
    if form["role"] == "partner_staff" and not form["organisation_id"]:
        raise auth.UserError(both("portal.admin.organisation_required"))
    if form["lang"] not in ("nl", "en"):
        raise auth.UserError("lang must be nl or en")
    if user.role != form["role"]:
        user.session_epoch = (user.session_epoch or 0) + 1     # a new role: sign in again
    user.role, user.organisation_id, user.lang = form["role"], form["organisation_id"] or None, form["lang"]
    user.active = True
    return user, False


def _step_label(step: str) -> str:
    """The step's name (the inbox's deadline name, or the admin page's own where that one names
    a partner) and its code."""
    for key in (f"portal.deadline.{step}", f"portal.admin.step.{step}"):
        text = CATALOGUE.get(key, {}).get("nl", "")
        if text and "{" not in text:
            return f"{both(key)} ({step})"
    return step


def _deadlines_page(service, user, *, values: dict | None = None, error: str | None = None,
                    info: str | None = None, status: int = 200) -> Response:
    """Per step: the default (the workflow layer's, through the bridge) and the network's own
    value (a field; empty = the default), for normal and urgent referrals."""
    defaults = call_bridge(service, "deadlines_config", user.network)
    own = _network(service, user).get("deadlines") or {}
    if values is None:
        values = {f"{u}.{step}": str(days) for u, steps in own.items() for step, days in steps.items()}

    def field(urgency: str, step: str) -> str:
        name = f"{urgency}.{step}"
        label = both(f"portal.admin.deadline_field_{urgency}", step=step)
        return (f'<input type="number" name="{name}" id="deadline-{urgency}-{step}" value="{e(values.get(name, ""))}" '
                f'min="{deadline_rules.MIN_DAYS}" max="{deadline_rules.MAX_DAYS}" inputmode="numeric" '
                f'class="days" aria-label="{e(label)}">')

    rows = [[e(_step_label(step)), e(defaults["normal"][step]), field("normal", step),
             e(defaults["urgent"][step]), field("urgent", step)] for step in deadline_rules.STEPS]
    closed = ", ".join(defaults["normal"].get("closed_dates") or []) or "—"
    body = (pages.message_box(error) + pages.message_box(info, "info")
            + f'<p>{e(both("portal.admin.deadlines_intro_edit", low=deadline_rules.MIN_DAYS, high=deadline_rules.MAX_DAYS))}</p>'
            + '<form method="post" action="/admin/deadlines" class="card" id="deadlines-form">'
            + pages._table(["portal.admin.step", "portal.admin.default_normal", "portal.admin.network_normal",
                            "portal.admin.default_urgent", "portal.admin.network_urgent"], rows)
            + f'<button type="submit">{e(both("portal.admin.deadlines_save"))}</button></form>'
            + f'<p>{e(both("portal.admin.closed_dates"))}: {e(closed)} · '
            f'{e(both("portal.admin.school_holidays"))}: {e(defaults["normal"].get("school_holidays") or "—")}</p>')
    return html_response(pages.layout(both("portal.admin.deadlines_title"), body, user=user), status=status)


@html_page
def deadlines(service, request) -> Response:
    """The deadlines (working days) new referrals of the admin's network get, per urgency: the
    defaults (the YAML file NETSTERK_WORKFLOW_CONFIG, through the bridge) and the network's own."""
    return _deadlines_page(service, _admin(service, request, "admin.settings"))


def deadline_form(form) -> dict:
    """`{urgency: {step: days}}` from the form's `<urgency>.<step>` fields (empty: the default);
    DeadlineError for a field that is not a deadline or not a whole number."""
    overrides: dict = {}
    for name, value in form.items():
        if name in ("csrf_token", "network"):
            continue
        urgency, _, step = name.partition(".")
        if urgency not in deadline_rules.URGENCIES or step not in deadline_rules.STEPS:
            raise deadline_rules.DeadlineError("deadlines.unknown_step", step=name[:64])
        value = (value or "").strip()
        if not value:
            continue
        if not value.isdigit():
            raise deadline_rules.DeadlineError("deadlines.out_of_range", step=step, low=deadline_rules.MIN_DAYS,
                                               high=deadline_rules.MAX_DAYS)
        overrides.setdefault(urgency, {})[step] = int(value)
    return overrides


@html_page
def deadlines_submit(service, request) -> Response:
    """Save the network's own deadlines (only the admin's own network: a `network` field naming
    another is refused); checked here with the defaults (a reminder before its deadline), stored
    and audited by intake. New referrals get them; running ones keep theirs."""
    user = _admin(service, request, "admin.settings")
    if (request.form.get("network") or user.network) != user.network:
        raise access.Refused(403, both("portal.forbidden"))
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        overrides = deadline_rules.clean(deadline_form(request.form))
        days = deadline_rules.merged(call_bridge(service, "deadlines_config", user.network), overrides)
        for urgency in deadline_rules.URGENCIES:
            deadline_rules.check_order(days[urgency])
    except deadline_rules.DeadlineError as error:
        return _deadlines_page(service, user, values=values, error=error.text(), status=422)
    actor = {"username": user.username, "role": user.role, "origin": client_address(request)}
    service.intake.set_network_deadlines(user.network, overrides, actor)
    with log_context(network=user.network):
        log.info("deadlines_saved", steps=sum(len(v) for v in overrides.values()))
    return _deadlines_page(service, user, info=both("portal.admin.deadlines_saved"))


# --- concern categories (intake owns them: the form offers exactly these) -----------------------

KNOWN_CATEGORIES = tuple(sorted(key.split(".", 1)[1] for key in CATALOGUE if key.startswith("category.")))


def _categories_page(service, user, network: dict, *, error=None, info=None, status=200) -> Response:
    chosen = set(network.get("categories") or [])
    boxes = "".join(
        f'<label class="choice"><input type="checkbox" name="categories" value="{e(code)}"'
        f'{" checked" if code in chosen else ""}> {e(both("category." + code))}</label>'
        for code in KNOWN_CATEGORIES)
    body = (pages.message_box(error) + pages.message_box(info, "info")
            + f'<form method="post" action="/admin/categories" class="card" id="categories-form">'
            f'<fieldset><legend>{e(both("portal.admin.categories_legend", network=network["name"]))}</legend>'
            f'{boxes}</fieldset><button type="submit">{e(both("portal.admin.save_user"))}</button></form>')
    return html_response(pages.layout(both("portal.admin.categories_title"), body, user=user), status=status)


def _network(service, user) -> dict:
    network = service.intake.get_network(user.network)
    if not network:
        raise access.not_found()
    return network


@html_page
def categories(service, request) -> Response:
    user = _admin(service, request, "admin.settings")
    return _categories_page(service, user, _network(service, user))


@html_page
def categories_submit(service, request) -> Response:
    user = _admin(service, request, "admin.settings")
    network = _network(service, user)
    chosen = [c for c in request.form.getlist("categories") if c in KNOWN_CATEGORIES]
    unknown = [c for c in request.form.getlist("categories") if c not in KNOWN_CATEGORIES]
    if unknown or not chosen:
        return _categories_page(service, user, network, status=422, error=both(
            "portal.admin.categories_unknown" if unknown else "portal.admin.categories_empty"))
    saved = service.intake.upsert_network(network["code"], network["name"], chosen)
    with log_context(network=user.network):
        log.info("categories_saved", count=len(chosen))
    return _categories_page(service, user, saved, info=both("portal.admin.categories_saved"))
