"""The directory in the portal (issue 5): partners keep their own entry up to date (the change
waits until the network admin approves it), the network admin approves changes, sets the ranking
rules with a preview on recent referrals, and sees gaps and capacity. The HSDS read API is here
too (public, no staff data). Everything lives in matching; the portal calls it over RPC."""
from __future__ import annotations

import re
from urllib.parse import quote

import eventlet
from nameko.exceptions import RemoteError, UnknownService
from werkzeug.utils import redirect

from netsterk.i18n import both
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import html_response, json_response
from netsterk.settings import get_settings
from services.portal import directory_pages as pages
from services.portal import access
from services.portal.web import Refused, html_page, session_user

log = get_logger(__name__)

PROBLEM_TYPES = ("InvalidDirectory", "InvalidRules", "UnknownChange", "InvalidRankRequest")
HSDS_COLLECTIONS = ("services", "organizations", "taxonomies", "taxonomy_terms")
MAX_BLOCKS = 200


class Problems(Exception):
    """matching refused the input; `problems` are its reasons, one per bad field or row."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def call_matching(service, method: str, *args):
    timeout = get_settings().rpc_timeout
    try:
        with eventlet.Timeout(timeout):
            return getattr(service.matching, method)(*args)
    except RemoteError as exc:
        if exc.exc_type in PROBLEM_TYPES:
            text = exc.value or ""
            text = text.split(": ", 1)[1] if text.startswith(("directory not", "rules not", "invalid rank")) else text
            raise Problems([p for p in text.split("; ") if p]) from exc
        log.warning("matching_error", method=method, exc_type=exc.exc_type)
        raise Refused(502, both("directory.unavailable")) from exc
    except UnknownService as exc:
        raise Refused(503, both("directory.unavailable")) from exc
    except eventlet.Timeout as exc:
        raise Refused(504, both("directory.unavailable")) from exc


def _user(service, request, action: str):
    """The signed-in user allowed `action` (services/portal/access.py has the table)."""
    user = session_user(service, request)
    if user is not None and not access.allowed(user, action):
        raise Refused(403, both("directory.forbidden"))
    return access.require(user, action)


def _may_edit(user, organisation_id: str) -> bool:
    return user.role == "network_admin" or (user.role == "partner_staff" and user.organisation_id == organisation_id)


# --- form <-> entry ---------------------------------------------------------------------------

def _list(value) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _number(value):
    text = (value or "").strip()
    return int(text) if re.fullmatch(r"\d{1,6}", text) else (text or None)


def parse_hours(text: str) -> list[dict] | str:
    from services.matching.spreadsheet import parse_hours as parse

    try:
        return parse(text or "")
    except ValueError as exc:
        return str(exc)


def slug(text: str) -> str:
    value = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return value[:40] or "aanbod"


def entry_from_form(organisation_id: str, form) -> tuple[dict, list[str]]:
    """The proposed entry and problems the form itself shows (matching checks the rest)."""
    problems = []
    get = lambda key: (form.get(key) or "").strip()  # noqa: E731
    entry = {"id": organisation_id, "name": get("name"), "email": get("email"), "phone": get("phone") or None,
             "website": get("website") or None, "description": get("description"),
             "how_to_reach": get("how_to_reach"), "offers": [], "staff": []}
    counts = [min(MAX_BLOCKS, int(v)) if (v := get(k)).isdigit() else 0 for k in ("offer_count", "staff_count")]
    used = set()
    for i in range(counts[0]):
        p = f"offer-{i}-"
        offer_id, name = get(p + "id"), get(p + "name")
        if not offer_id and not name:
            continue
        if not offer_id:
            offer_id = base = f"{organisation_id}-{slug(name)}"[:64]
            n = 2
            while offer_id in used:
                offer_id, n = f"{base[:60]}-{n}", n + 1
        used.add(offer_id)
        hours = parse_hours(get(p + "opening_hours"))
        if isinstance(hours, str):
            problems.append(f"{name or offer_id}: {hours}")
            hours = []
        entry["offers"].append({
            "id": offer_id, "name": name, "description": get(p + "description"),
            "categories": _list(get(p + "categories")), "postcodes": _list(get(p + "postcodes")),
            "neighbourhoods": _list(get(p + "neighbourhoods")), "languages": _list(get(p + "languages")),
            "min_age": _number(get(p + "min_age")) if get(p + "min_age") else 0,
            "max_age": _number(get(p + "max_age")) if get(p + "max_age") else 99,
            "school_levels": _list(get(p + "school_levels")),
            "capacity": _number(get(p + "capacity")) if get(p + "capacity") else 0,
            "capacity_period": get(p + "capacity_period") or "month",
            "waiting_list": _number(get(p + "waiting_list")) if get(p + "waiting_list") else 0,
            "opening_hours": hours, "how_to_reach": get(p + "how_to_reach"),
            "active": form.get(p + "active") == "1"})
    for j in range(counts[1]):
        p = f"staff-{j}-"
        staff_id, name = get(p + "id"), get(p + "name")
        if (not staff_id and not name) or form.get(p + "remove") == "1":
            continue
        entry["staff"].append({
            "id": staff_id or f"{organisation_id}-staff-{slug(name)}"[:64], "name": name,
            "phone": get(p + "phone") or None, "email": get(p + "email") or None,
            "languages": _list(get(p + "languages")), "offer_ids": _list(get(p + "offer_ids"))})
    return entry, problems


# --- pages ------------------------------------------------------------------------------------

@html_page
def index(service, request):
    user = _user(service, request, "directory.view")
    if user.role == "partner_staff":
        return redirect(f"/directory/organisations/{quote(user.organisation_id or '', safe='')}", code=303)
    organisations = call_matching(service, "list_organisations", user.network)
    pending = len(call_matching(service, "list_changes", user.network, "pending")) \
        if user.role == "network_admin" else 0
    return html_response(pages.directory_page(user, organisations, pending))


def _pending_of(service, user, organisation_id: str) -> dict | None:
    changes = call_matching(service, "list_changes", user.network, "pending")
    return next((c for c in reversed(changes) if c["organisation_id"] == organisation_id), None)


@html_page
def organisation(service, request, organisation_id: str):
    user = _user(service, request, "directory.edit_own")
    if not _may_edit(user, organisation_id):
        raise Refused(403, both("directory.forbidden"))
    entry = call_matching(service, "get_organisation", user.network, organisation_id)
    if entry is None:
        raise Refused(404, both("directory.not_found"))
    pending = _pending_of(service, user, organisation_id)
    shown = dict(pending["entry"], last_confirmed=entry.get("last_confirmed")) if pending else entry
    return html_response(pages.organisation_page(user, shown, pending=pending))


@html_page
def organisation_submit(service, request, organisation_id: str):
    user = _user(service, request, "directory.edit_own")
    if not _may_edit(user, organisation_id):
        raise Refused(403, both("directory.forbidden"))
    current = call_matching(service, "get_organisation", user.network, organisation_id)
    if current is None:
        raise Refused(404, both("directory.not_found"))
    entry, problems = entry_from_form(organisation_id, request.form)
    shown = dict(entry, last_confirmed=current.get("last_confirmed"))
    if problems:
        return html_response(pages.organisation_page(user, shown, problems=problems), status=422)
    try:
        with log_context(network=user.network):
            change = call_matching(service, "propose_change", user.network, organisation_id, entry, user.username)
            if user.role == "network_admin":
                call_matching(service, "decide_change", user.network, change["id"], True, user.username,
                              "edited by the network admin")
            log.info("directory_entry_submitted", role=user.role, change_id=change["id"])
    except Problems as refused:
        return html_response(pages.organisation_page(user, shown, problems=refused.problems), status=422)
    if user.role == "network_admin":
        fresh = call_matching(service, "get_organisation", user.network, organisation_id)
        return html_response(pages.organisation_page(user, fresh, info=both("directory.saved")))
    pending = _pending_of(service, user, organisation_id)
    return html_response(pages.organisation_page(user, shown, pending=pending, info=both("directory.submitted")))


@html_page
def changes(service, request):
    user = _user(service, request, "directory.approve")
    return html_response(pages.changes_page(user, call_matching(service, "list_changes", user.network, "pending")))


@html_page
def decide(service, request, change_id: str):
    user = _user(service, request, "directory.approve")
    if not change_id.isdigit():
        raise Refused(404, both("directory.not_found"))
    approve = request.form.get("approve") == "1"
    try:
        with log_context(network=user.network):
            result = call_matching(service, "decide_change", user.network, int(change_id), approve,
                                   user.username, (request.form.get("note") or "").strip())
            log.info("directory_change_decided", change_id=result["id"], status=result["status"])
    except Problems as refused:
        return html_response(pages.changes_page(
            user, call_matching(service, "list_changes", user.network, "pending"), problems=refused.problems),
            status=422)
    info = both("directory.approved" if approve else "directory.rejected")
    return html_response(pages.changes_page(
        user, call_matching(service, "list_changes", user.network, "pending"), info=info))


def rules_from_form(form) -> dict:
    def number(key):
        value = _number(form.get(key))
        return value if value is not None else 0
    return {"weights": {c: number(f"weight-{c}") for c in pages.CRITERIA},
            "urgent_capacity_weight": number("urgent_capacity_weight"),
            "required": form.getlist("required"), "min_score": number("min_score"),
            "max_candidates": number("max_candidates")}


@html_page
def rules(service, request):
    user = _user(service, request, "directory.rules")
    return html_response(pages.rules_page(user, call_matching(service, "get_rules", user.network)))


@html_page
def rules_submit(service, request):
    user = _user(service, request, "directory.rules")
    proposed = rules_from_form(request.form)
    shown = {"weights": dict(proposed["weights"]), **{k: v for k, v in proposed.items() if k != "weights"}}
    try:
        if request.form.get("do") == "save":
            with log_context(network=user.network):
                saved = call_matching(service, "set_rules", user.network, proposed, user.username)
                log.info("rules_saved")
            return html_response(pages.rules_page(user, saved, info=both("directory.rules.saved")))
        preview = call_matching(service, "preview_rules", user.network, proposed, 20)
        return html_response(pages.rules_page(user, preview["proposed"], preview=preview))
    except Problems as refused:
        return html_response(pages.rules_page(user, shown, problems=refused.problems), status=422)


@html_page
def gaps(service, request):
    user = _user(service, request, "directory.gaps")
    return html_response(pages.gaps_page(user, call_matching(service, "list_gaps", user.network),
                                         call_matching(service, "capacity", user.network)))


# --- HSDS read API (public, openapi.json shapes) -------------------------------------------------

def hsds(service, request, collection: str, item_id: str | None = None):
    network = (request.args.get("network") or "").strip()
    if collection not in HSDS_COLLECTIONS:
        return json_response({"error": both("portal.error.page_not_found")}, status=404)
    if not network:
        return json_response({"error": both("reporting.network_required")}, status=400)
    try:
        result = call_matching(service, "hsds_read", network, collection, item_id,
                               request.args.get("page", 1), request.args.get("per_page", 50))
    except Refused as refused:
        return json_response({"error": refused.message}, status=refused.status)
    if result is None:
        return json_response({"error": both("directory.not_found")}, status=404)
    return json_response(result)
