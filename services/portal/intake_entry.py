"""Staff entry of referrals through intake (its one write path, over RPC): a coordinator types in
a referral taken by phone; partner staff report a direct engagement (a school called them
directly), which enters the overview straight in `in_progress`. The form itself is intake's."""
from __future__ import annotations

from werkzeug.wrappers import Response

from netsterk.i18n import both
from netsterk.nameko_support import html_response
from services.portal import pages
from services.portal import access
from services.portal.security import CSRF_FIELD
from services.portal.web import Refused, html_page, session_user

LIST_FIELDS = ("categories",)


def _form(request) -> dict:
    return {key: (request.form.getlist(key) if key in LIST_FIELDS else request.form.get(key))
            for key in request.form.keys() if key != CSRF_FIELD}     # the token is the portal's, not intake's


def require_partner(user):
    user = access.require(user, "engagement.report_direct")
    if not user.organisation_id:
        raise Refused(403, both("portal.forbidden"))
    return user


def _page(service, user, title_key: str, action: str, values: dict, errors: dict, status: int = 200,
          choice: dict | None = None):
    fragment = service.intake.form_fragment(user.network, values, errors, action, choice)
    return html_response(pages.layout(both(title_key), fragment, user=user), status=status)


def _submitted(user, result: dict) -> Response:
    ref = result["referral"]["ref"]
    return html_response(pages.layout(both("portal.entry.done_title"), pages.message_box(
        both("portal.entry.done", ref=ref), "info") + f'<p id="ref">{pages.e(ref)}</p>', user=user))


@html_page
def phone_form(service, request) -> Response:
    user = access.require(session_user(service, request), "referral.enter_phone")
    return _page(service, user, "portal.phone.title", "/referrals/phone", {}, {})


@html_page
def phone_submit(service, request) -> Response:
    user = access.require(session_user(service, request), "referral.enter_phone")
    data = {**_form(request), "network": user.network}          # a coordinator enters for own network
    result = service.intake.submit_referral(data, "phone", user.username)
    if result["errors"]:
        return _page(service, user, "portal.phone.title", "/referrals/phone", data, result["errors"], 422)
    return _submitted(user, result)


def _own_offers(service, user) -> tuple[dict, dict]:
    """The partner's organisation from the directory, and the offer choice for the form."""
    organisation = service.matching.get_organisation(user.network, user.organisation_id)
    if not organisation:
        raise Refused(404, both("portal.error.not_found"))
    options = [[o["id"], o["name"]] for o in organisation.get("offers") or []]
    return organisation, {"name": "offer_id", "label_key": "portal.direct.offer", "options": options}


@html_page
def direct_form(service, request) -> Response:
    user = require_partner(session_user(service, request))
    _organisation, choice = _own_offers(service, user)
    return _page(service, user, "portal.direct.title", "/engagements/direct", {}, {}, choice=choice)


@html_page
def direct_submit(service, request) -> Response:
    user = require_partner(session_user(service, request))
    organisation, choice = _own_offers(service, user)
    data = {**_form(request), "network": user.network}
    offer_id = data.pop("offer_id", None)
    offers = {o["id"]: o for o in organisation.get("offers") or []}
    if choice["options"] and offer_id not in offers:
        return _page(service, user, "portal.direct.title", "/engagements/direct", data,
                     {"offer_id": both("field.required")}, 422, choice=choice)
    offer = offers.get(offer_id, {})
    direct = {"organisation_id": user.organisation_id, "organisation_name": organisation.get("name"),
              "contact_email": organisation.get("email"), "offer_id": offer.get("id"),
              "offer_name": offer.get("name")}
    result = service.intake.report_direct_engagement(data, direct, user.username)
    if result["errors"]:
        return _page(service, user, "portal.direct.title", "/engagements/direct", {**data, "offer_id": offer_id},
                     result["errors"], 422, choice=choice)
    return _submitted(user, result)
