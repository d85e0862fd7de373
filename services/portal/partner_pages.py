"""Partner staff signed in: their own organisation's engagements only (a list fed by the
workflow's `engagement_changed` events, and each engagement's page, read through the bridge and
scoped by access.own_engagement: another organisation's referral is 404). The reporter's status
link page (no account; the signed token is the key) is here too."""
from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from netsterk.db import session_scope
from netsterk.i18n import both
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import html_response
from netsterk.status_link import valid_status_token
from services.portal import access, pages
from services.portal.models import PartnerEngagement
from services.portal.tasks import TaskEventError, as_utc, parse_time
from services.portal.web import Refused, _categories, call_bridge, html_page, session_user

log = get_logger(__name__)

STATUS_ORDER = {"proposed": 0, "accepted": 1, "declined": 2, "ended": 2}


# --- read model ------------------------------------------------------------------------------

def apply_engagement_changed(session: Session, envelope: dict) -> PartnerEngagement | None:
    """Upsert one engagement; an older event (by time, then by lifecycle order) changes nothing."""
    payload = envelope["payload"]
    missing = [k for k in ("referral_id", "ref", "network", "offer_id", "status", "at") if not payload.get(k)]
    if missing:
        raise TaskEventError(f"engagement_changed misses {', '.join(missing)}")
    if payload["status"] not in STATUS_ORDER:
        raise TaskEventError(f"unknown engagement status {payload['status']!r}")
    if not payload.get("organisation_id"):
        return None           # an engagement without organisation is nobody's to list
    at = parse_time(payload["at"])
    row = session.get(PartnerEngagement, (payload["referral_id"], payload["offer_id"]))
    if row is not None and (as_utc(row.updated_at) > at or (
            as_utc(row.updated_at) == at and STATUS_ORDER[row.status] > STATUS_ORDER[payload["status"]])):
        return row
    if row is None:
        row = PartnerEngagement(referral_id=payload["referral_id"], offer_id=payload["offer_id"])
        session.add(row)
    row.ref, row.network, row.organisation_id = payload["ref"], payload["network"], payload["organisation_id"]
    row.status, row.updated_at = payload["status"], at
    session.flush()
    return row


def own_engagements(session: Session, network: str, organisation_id: str) -> list[dict]:
    rows = session.scalars(select(PartnerEngagement).where(
        PartnerEngagement.network == network, PartnerEngagement.organisation_id == organisation_id)
        .order_by(PartnerEngagement.updated_at.desc()))
    return [{"referral_id": r.referral_id, "ref": r.ref, "offer_id": r.offer_id, "status": r.status,
             "updated_at": as_utc(r.updated_at).isoformat()} for r in rows]


# --- pages -----------------------------------------------------------------------------------

def _partner(service, request):
    user = access.require(session_user(service, request), "engagement.list_own")
    if not user.organisation_id:
        raise Refused(403, both("portal.forbidden"))
    return user


@html_page
def engagements(service, request) -> Response:
    user = _partner(service, request)
    with session_scope(service.db) as session:
        rows = own_engagements(session, user.network, user.organisation_id)
    open_first = sorted(rows, key=lambda r: STATUS_ORDER[r["status"]] >= 2)
    table = pages._table(
        ["portal.column.ref", "portal.column.status", "portal.column.updated", "portal.column.open"],
        [[e_ref(r), pages.e(pages.label("portal.engagement_status", r["status"])),
          pages.e(pages.local_time(r["updated_at"])),
          f'<a href="/partner/referrals/{pages.e(quote(r["referral_id"], safe=""))}">{pages.e(both("portal.open"))}</a>']
         for r in open_first])
    return html_response(pages.layout(both("portal.partner.title", organisation=user.organisation_id),
                                      f'<p>{pages.e(both("portal.partner.intro"))}</p>{table}', user=user))


def e_ref(row: dict) -> str:
    return f'<span class="ref">{pages.e(row["ref"])}</span>'


@html_page
def engagement(service, request, referral_id: str) -> Response:
    """The signed-in partner's page of one engagement; the forms act through its token routes."""
    user = access.require(session_user(service, request), "engagement.act_own")
    try:
        snapshot = call_bridge(service, "get_referral", referral_id)
    except Refused as refused:
        if refused.status == 404:
            raise access.not_found() from refused
        raise
    found = access.own_engagement(user, snapshot)
    with log_context(network=user.network, referral_ref=snapshot.get("ref")):
        log.info("partner_engagement_viewed")
    return html_response(pages.engagement_page(snapshot, found, _categories(service, snapshot), user=user))


# --- the reporter's status link ----------------------------------------------------------------

@html_page
def status(service, request, referral_id: str, token: str) -> Response:
    """Where the referral stands, for the reporter: reference, state, dates. Nothing personal."""
    if not valid_status_token(referral_id, token):
        raise Refused(404, both("portal.status.invalid"))
    try:
        snapshot = call_bridge(service, "get_referral", referral_id)
    except Refused as refused:
        if refused.status == 404:
            raise Refused(404, both("portal.status.invalid")) from refused
        raise
    log.info("status_viewed")
    return html_response(pages.status_page(snapshot))
