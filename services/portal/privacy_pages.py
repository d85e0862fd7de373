"""Privacy in the portal (issue 10): the coordinator's actions for the rights of the young person
and the parents — export what is held (right of access) and erase where the law allows — and the
network admin's view of the audit log with the state of its hash chain.

The personal data and the audit log live in intake; this module passes who is asking (username,
role, network, client address, purpose) and intake decides in one place (services/intake/
privacy.py) what that caller may see: a referral of another network is "not found" (404)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import eventlet
from nameko.exceptions import RemoteError, UnknownService
from werkzeug.wrappers import Response

from netsterk.contracts import PERSONAL_DATA_ACCESSED, PORTAL
from netsterk.i18n import both
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import html_response
from netsterk.settings import get_settings
from netsterk.web_security import client_address
from services.portal import access, pages
from services.portal.web import Refused, call_bridge, html_page, session_user

log = get_logger(__name__)

RIGHTS, AUDIT = "privacy.rights", "privacy.audit"     # actions of services/portal/access.py


def _require(user, action: str) -> object:
    return access.require(user, action)


def _actor(user, request, purpose: str | None = None) -> dict:
    return {"username": user.username, "role": user.role, "network": user.network,
            "origin": client_address(request), "purpose": purpose}


def _intake(service, method: str, *args, **kwargs):
    """Call intake; its 'not found' becomes 404, an unreachable intake 503."""
    try:
        with eventlet.Timeout(get_settings().rpc_timeout):
            return getattr(service.intake, method)(*args, **kwargs)
    except RemoteError as exc:
        if exc.exc_type in ("LookupError", "NotAllowed"):
            raise Refused(404, both("privacy.not_found")) from exc
        raise
    except (UnknownService, eventlet.Timeout) as exc:
        raise Refused(503, both("portal.error.unavailable")) from exc


# the parts of the workflow's record (bridge snapshot) that hold personal data or free text
SNAPSHOT_FIELDS = ("history.reason", "log.details", "feedback", "questions", "closure", "school_efforts")


_connections: dict = {}
# a read of the same record by the same person for the same purpose is recorded once per window
# (a page reloaded or an API client polling a referral must not flood the chain); changes always
READ_WINDOW_SECONDS = 60.0
_recent_reads: dict = {}


def _seen_recently(key: tuple, *, now: float | None = None) -> bool:
    import time

    now = time.monotonic() if now is None else now
    if len(_recent_reads) > 10_000:
        for old in [k for k, at in _recent_reads.items() if now - at >= READ_WINDOW_SECONDS]:
            _recent_reads.pop(old, None)
    at = _recent_reads.get(key)
    return at is not None and now - at < READ_WINDOW_SECONDS


def _connection(uri: str):
    """One kombu Connection per broker URI in this process: kombu's producer pool keyed by it
    keeps the real connections open between requests."""
    from netsterk import amqp

    if uri not in _connections:
        _connections[uri] = amqp.connect(uri)
    return _connections[uri]


def audit_access(service, user, request, snapshot: dict, *, action: str = "read",
                 purpose: str = "referral page", fields=SNAPSHOT_FIELDS) -> None:
    """A coordinator's read (or change) of a referral's workflow record, for the network's audit
    chain in intake (see audit_event). A read of the same record by the same person for the same
    purpose is recorded once per READ_WINDOW_SECONDS."""
    read_key = (user.username, snapshot.get("referral_id"), purpose)
    if action == "read" and _seen_recently(read_key):
        return
    audit_event(service, user, request, action=action, record_type="workflow_record",
                record_id=snapshot.get("referral_id"), ref=snapshot.get("ref"), fields=fields,
                purpose=purpose)
    if action == "read":     # recorded: later reads in the window need no new entry
        import time
        _recent_reads[read_key] = time.monotonic()


def audit_event(service, user, request, *, action: str, record_type: str, record_id: str | None,
                fields, purpose: str, ref: str | None = None) -> None:
    """One entry for the network's audit chain in intake: published as
    `portal.personal_data_accessed` (references and field names only) with publisher confirms
    before the page is answered; intake appends it (once, by message id). When the broker cannot
    take it, the page is not shown (503)."""
    from netsterk import amqp
    from netsterk.envelope import make_envelope

    envelope = make_envelope(PERSONAL_DATA_ACCESSED, {
        "actor": _actor(user, request, purpose), "action": action, "record_type": record_type,
        "record_id": record_id, "ref": ref, "fields": list(fields), "purpose": purpose},
        network=user.network, referral_ref=ref)
    try:
        amqp.publish_event(_connection(service.config["AMQP_URI"]), PORTAL, PERSONAL_DATA_ACCESSED, envelope)
    except Exception as exc:
        log.warning("audit_publish_failed", error=type(exc).__name__)
        raise Refused(503, both("portal.error.unavailable")) from exc


def _form(user, *, error: str | None = None, info: str | None = None, values: dict | None = None) -> str:
    values = values or {}
    e = pages.e

    def field(name, key, kind="text"):
        return (f'<label>{e(both(key))}<input type="{kind}" name="{name}" value="{e(values.get(name, ""))}" '
                f'required maxlength="200"></label>')

    return (pages.message_box(error) + pages.message_box(info, "info") +
            f'<p>{e(both("privacy.intro"))}</p>'
            '<form method="post" action="/privacy/export" class="card" id="privacy-export">'
            + field("ref", "privacy.reference") + field("purpose", "privacy.purpose") +
            f'<button type="submit">{e(both("privacy.export"))}</button></form>'
            '<form method="post" action="/privacy/erase" class="card" id="privacy-erase">'
            + field("ref", "privacy.reference") + field("purpose", "privacy.purpose") +
            f'<label><input type="checkbox" name="confirm" value="yes" required> '
            f'{e(both("privacy.erase_confirm"))}</label>'
            f'<button type="submit">{e(both("privacy.erase"))}</button></form>')


@html_page
def index(service, request) -> Response:
    user = session_user(service, request)
    if access.allowed(user, AUDIT):
        return audit_page.__wrapped__(service, request)
    user = _require(user, RIGHTS)
    return html_response(pages.layout(both("privacy.title"), _form(user), user=user))


def _values(request) -> dict:
    return {"ref": (request.form.get("ref") or "").strip()[:32],
            "purpose": " ".join((request.form.get("purpose") or "").split())[:200],
            "confirm": request.form.get("confirm") == "yes"}


@html_page
def export(service, request) -> Response:
    user = _require(session_user(service, request), RIGHTS)
    values = _values(request)
    if not values["purpose"]:
        return html_response(pages.layout(both("privacy.title"), _form(
            user, error=both("privacy.purpose_required"), values=values), user=user), status=422)
    held = _intake(service, "privacy_export", _actor(user, request, values["purpose"]), ref=values["ref"])
    referral_id = held["referral"]["id"]
    document = {"subject_access_export": {"network": user.network, "ref": held["referral"]["ref"],
                                          "requested_by": user.username, "purpose": values["purpose"],
                                          "at": datetime.now(timezone.utc).isoformat()},
                "intake": held}
    try:   # what the workflow holds: states, decisions, feedback texts (no names are sent there)
        document["workflow"] = call_bridge(service, "get_referral", referral_id)
    except Refused as refused:
        document["workflow"] = {"unavailable": refused.message}
    with log_context(network=user.network, referral_ref=held["referral"]["ref"]):
        log.info("privacy_export", role=user.role)
    response = Response(json.dumps(document, ensure_ascii=False, indent=2, default=str),
                        mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{held["referral"]["ref"]}-export.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@html_page
def erase(service, request) -> Response:
    user = _require(session_user(service, request), RIGHTS)
    values = _values(request)
    error = (both("privacy.purpose_required") if not values["purpose"] else
             both("privacy.confirm_required") if not values["confirm"] else None)
    if error:
        return html_response(pages.layout(both("privacy.title"), _form(user, error=error, values=values),
                                          user=user), status=422)
    try:
        result = _intake(service, "privacy_erase", _actor(user, request, values["purpose"]), ref=values["ref"],
                         reason=values["purpose"])
    except RemoteError as exc:
        if exc.exc_type == "ValueError" and "refused:" in (exc.value or ""):
            state = exc.value.split("refused:", 1)[1].strip()
            return html_response(pages.layout(both("privacy.title"), _form(
                user, error=both("privacy.erase_refused", state=state), values=values), user=user), status=422)
        raise
    with log_context(network=user.network, referral_ref=result["ref"]):
        log.info("privacy_erase", role=user.role)
    return html_response(pages.layout(both("privacy.title"), _form(
        user, info=both("privacy.erased", ref=result["ref"])) + _erasure_table(
        _intake(service, "erasure_status", _actor(user, request), ref=result["ref"])), user=user))


def _erasure_table(status: dict) -> str:
    """Per service: when it confirmed its part of the erasure, or that it has not (yet)."""
    e = pages.e
    rows = "".join(f'<tr><td>{e(name)}</td><td>{e(at or both("privacy.erasure_pending"))}</td></tr>'
                   for name, at in status["services"].items())
    state = both("privacy.erasure_complete" if status["complete"] else "privacy.erasure_incomplete")
    return (f'<section class="card" id="erasure-status"><h2>{e(both("privacy.erasure_status", ref=status["ref"]))}</h2>'
            f'<p>{e(state)}</p><table><tbody>{rows}</tbody></table>'
            f'<p><a href="/privacy/erasure?ref={e(status["ref"])}">{e(both("privacy.erasure_refresh"))}</a></p></section>')


@html_page
def erasure_status(service, request) -> Response:
    """Which services confirmed the erasure of a referral (coordinator of its network)."""
    user = _require(session_user(service, request), RIGHTS)
    ref = (request.args.get("ref") or "").strip()[:32]
    status = _intake(service, "erasure_status", _actor(user, request), ref=ref)
    return html_response(pages.layout(both("privacy.title"), _erasure_table(status), user=user))


@html_page
def audit_page(service, request) -> Response:
    user = _require(session_user(service, request), AUDIT)
    before = request.args.get("before")
    data = _intake(service, "audit_log", _actor(user, request, "audit review"), limit=200,
                   before=int(before) if before and before.isdigit() else None)
    chain = data["chain"]
    e = pages.e
    status = (pages.message_box(both("privacy.chain_ok", entries=chain["entries"]), "info") if chain["ok"] else
              pages.message_box(both("privacy.chain_broken")) +
              "<ul>" + "".join(f"<li>#{e(p['seq'])}: {e(p['problem'])}</li>" for p in chain["problems"]) + "</ul>")
    if chain.get("anchor_seq"):
        status += pages.message_box(both("privacy.chain_archived", seq=chain["anchor_seq"]), "info")
    columns = ("privacy.col.when", "privacy.col.who", "privacy.col.role", "privacy.col.action",
               "privacy.col.record", "privacy.col.fields", "privacy.col.purpose", "privacy.col.origin")
    rows = "".join(
        f'<tr id="audit-{e(x["seq"])}"><td>{e(pages.local_time(x["at"]))}</td><td>{e(x["actor"])}</td>'
        f'<td>{e(x["role"])}</td><td>{e(x["action"])}</td>'
        f'<td>{e(x["record_type"])} {e(x.get("record_ref") or "")}</td><td>{e(", ".join(x["fields"]))}</td>'
        f'<td>{e(x["purpose"])}</td><td>{e(x.get("origin") or "")}</td></tr>' for x in data["entries"])
    more = (f'<p><a href="/privacy/audit?before={e(data["entries"][-1]["seq"])}">&rarr;</a></p>'
            if len(data["entries"]) == 200 else "")
    table = ("<table><thead><tr>" + "".join(f"<th>{e(both(c))}</th>" for c in columns) +
             f"</tr></thead><tbody>{rows}</tbody></table>")
    return html_response(pages.layout(both("privacy.audit_title"),
                                      f'<div id="chain-status">{status}</div>{table}{more}', user=user))
