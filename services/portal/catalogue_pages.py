"""Making the offer known (issue 13): the network's offer catalogue for reporters (public, no
account) — search by concern, age, area and language, plain descriptions, and a referral that
starts from an offer (intake's form, prefilled) — and the information sessions and trainings
partners announce for the network's professionals, with registration."""
from __future__ import annotations

from urllib.parse import urlencode

import eventlet
from kombu.exceptions import OperationalError
from nameko.exceptions import RemoteError, UnknownService
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from netsterk.i18n import both
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import html_response
from netsterk.settings import get_settings
from services.portal.intake_entry import require_partner
from services.portal.pages import e, label, layout, local_time, message_box
from services.portal.web import Refused, html_page, session_user

log = get_logger(__name__)

CRITERIA = ("concern", "age", "area", "language")
KINDS = ("information", "training")


def _call(service, target: str, method: str, *args):
    timeout = get_settings().rpc_timeout
    try:
        with eventlet.Timeout(timeout):
            answer = getattr(getattr(service, target), method)(*args)
    except (RemoteError, UnknownService, eventlet.Timeout, OSError, OperationalError) as exc:
        log.warning("catalogue_backend_unavailable", method=method, error=type(exc).__name__)
        raise Refused(503, both("portal.error.unavailable")) from None
    if isinstance(answer, dict) and "error" in answer:
        raise Refused(int(answer["error"].get("status") or 422), answer["error"].get("message") or "")
    return answer["result"] if isinstance(answer, dict) and "result" in answer else answer


def _networks(service) -> list[dict]:
    return _call(service, "intake", "list_networks")


def _network(service, request) -> dict:
    networks = _networks(service)
    code = (request.args.get("network") or request.form.get("network") or "").strip()
    if not code and len(networks) == 1:
        code = networks[0]["code"]
    found = next((n for n in networks if n["code"] == code), None)
    if found is None:
        raise Refused(404, both("catalogue.unknown_network"))
    return found


def _select(name: str, options, selected, *, any_label=True) -> str:
    opts = ([("", both("catalogue.any"))] if any_label else []) + list(options)
    return (f'<select name="{name}" id="{name}">' + "".join(
        f'<option value="{e(v)}"{" selected" if str(v) == str(selected or "") else ""}>{e(t)}</option>'
        for v, t in opts) + "</select>")


def referral_link(network: str, offer: dict, concern: str | None) -> str:
    """Intake's form, prefilled from the offer: the network, the concern(s), the offer named."""
    categories = [concern] if concern and concern in offer["categories"] else offer["categories"][:1]
    query = urlencode([("network", network)] + [("categories", c) for c in categories]
                      + [("expectations", both("catalogue.refer_expectation", offer=offer["name"],
                                                organisation=offer["organisation"]))])
    return f"{get_settings().intake_url}/referrals/new?{query}"


def _offer_card(network: str, offer: dict, concern: str | None) -> str:
    age = both("catalogue.age_range", low=offer["min_age"], high=offer["max_age"])
    area = ", ".join(offer["postcodes"] + offer["neighbourhoods"])
    return (f'<article class="card offer" data-offer="{e(offer["offer_id"])}"><h3>{e(offer["name"])}</h3>'
            f'<p class="organisation">{e(offer["organisation"])}</p><p>{e(offer["description"])}</p>'
            f'<dl><dt>{e(both("catalogue.concerns"))}</dt><dd>{e(", ".join(label("category", c) for c in offer["categories"]))}</dd>'
            f'<dt>{e(both("catalogue.age"))}</dt><dd>{e(age)}</dd>'
            f'<dt>{e(both("catalogue.area"))}</dt><dd>{e(area)}</dd>'
            f'<dt>{e(both("catalogue.languages"))}</dt><dd>{e(", ".join(label("language", x) for x in offer["languages"]))}</dd>'
            + (f'<dt>{e(both("catalogue.how_to_reach"))}</dt><dd>{e(offer["how_to_reach"])}</dd>' if offer["how_to_reach"] else "")
            + (f'<dt>{e(both("catalogue.contact"))}</dt><dd>{e(" · ".join(x for x in (offer.get("phone"), offer.get("email"), offer.get("website")) if x))}</dd>')
            + f'</dl><p><a class="refer" href="{e(referral_link(network, offer, concern))}">'
            f'{e(both("catalogue.refer"))}</a></p></article>')


def _session_card(network: str, item: dict, *, form: bool = True) -> str:
    register = ""
    if form and item["places_left"] > 0:
        register = (f'<form method="post" action="/catalogue/sessions/{e(item["id"])}/register" class="register">'
                    f'<input type="hidden" name="network" value="{e(network)}">'
                    f'<label>{e(both("catalogue.session.name"))}<input name="name" required></label>'
                    f'<label>{e(both("catalogue.session.organisation"))}<input name="organisation" required></label>'
                    f'<label>{e(both("catalogue.session.email"))}<input type="email" name="email" required></label>'
                    f'<button type="submit">{e(both("catalogue.session.register"))}</button></form>')
    elif form:
        register = f'<p>{e(both("catalogue.session.full"))}</p>'
    return (f'<article class="card session" data-session="{e(item["id"])}"><h3>{e(item["title"])}</h3>'
            f'<p>{e(label("catalogue.kind", item["kind"]))} · {e(label("category", item["theme"]))} · {e(item["organisation"])}</p>'
            f'<p>{e(local_time(item["starts_at"]))} – {e(local_time(item["ends_at"]))} · {e(item["location"])}</p>'
            f'<p>{e(item["description"])}</p>'
            f'<p class="places">{e(both("catalogue.session.places", left=item["places_left"], capacity=item["capacity"]))}</p>'
            f'{register}</article>')


@html_page
def catalogue(service, request) -> Response:
    network = _network(service, request)
    criteria = {k: (request.args.get(k) or "").strip() or None for k in CRITERIA}
    found = _call(service, "matching", "catalogue_search", network["code"], criteria)
    facets = found["facets"]
    categories = [(c, label("category", c)) for c in network["categories"]]
    areas = [(a, a) for a in facets["postcodes"] + facets["neighbourhoods"]]
    form = (f'<form method="get" action="/catalogue" class="card filters" id="catalogue-search">'
            f'<input type="hidden" name="network" value="{e(network["code"])}">'
            f'<label>{e(both("catalogue.concern"))}{_select("concern", categories, criteria["concern"])}</label>'
            f'<label>{e(both("catalogue.age"))}<input type="number" name="age" id="age" min="0" max="30" value="{e(criteria["age"] or "")}"></label>'
            f'<label>{e(both("catalogue.area"))}{_select("area", areas, criteria["area"])}</label>'
            f'<label>{e(both("catalogue.language"))}{_select("language", [(x, label("language", x)) for x in facets["languages"]], criteria["language"])}</label>'
            f'<button type="submit">{e(both("catalogue.search"))}</button></form>')
    offers = "".join(_offer_card(network["code"], o, criteria["concern"]) for o in found["offers"])
    sessions = _call(service, "matching", "session_list", network["code"], None, None)
    body = (f'<p>{e(both("catalogue.intro"))}</p>' + form
            + f'<p id="result-count">{e(both("catalogue.found", count=found["total"]))}</p>'
            + f'<section id="offers">{offers or "<p>" + e(both("catalogue.nothing")) + "</p>"}</section>'
            + f'<section id="sessions"><h2>{e(both("catalogue.sessions"))}</h2>'
            + ("".join(_session_card(network["code"], s) for s in sessions) or f'<p>{e(both("portal.none"))}</p>')
            + "</section>")
    return html_response(layout(both("catalogue.title", network=network["name"]), body))


@html_page
def register(service, request, session_id: str) -> Response:
    network = _network(service, request)
    data = {k: request.form.get(k) for k in ("name", "organisation", "email")}
    back = f'/catalogue?{urlencode({"network": network["code"]})}'
    try:
        item = _call(service, "matching", "session_register", network["code"], session_id, data)
    except Refused as refused:
        if refused.status != 422:
            raise
        return html_response(layout(both("catalogue.session.register_title"), message_box(refused.message)
                                    + f'<p><a href="{e(back)}">{e(both("portal.back"))}</a></p>'), status=422)
    with log_context(network=network["code"]):
        log.info("session_registration")
    return html_response(layout(both("catalogue.session.register_title"), message_box(
        both("catalogue.session.registered", title=item["title"], when=local_time(item["starts_at"])), "info")
        + f'<p><a href="{e(back)}">{e(both("portal.back"))}</a></p>'))


# --- partners announce sessions (partner_staff, own organisation) -----------------------------

def _announce_page(service, user, *, values=None, error=None, status=200) -> Response:
    values = values or {}
    networks = {n["code"]: n for n in _networks(service)}
    categories = (networks.get(user.network) or {}).get("categories") or []
    mine = _call(service, "matching", "session_list", user.network, None, user.organisation_id)
    rows = "".join(
        _session_card(user.network, s, form=False)
        .replace("</article>", f'<p><a href="/catalogue/sessions/{e(s["id"])}/registrations">'
                               f'{e(both("catalogue.session.registrations"))}</a></p></article>')
        for s in mine)
    v = values.get
    form = (f'<form method="post" action="/catalogue/sessions" class="card" id="session-new">'
            f'<h3>{e(both("catalogue.session.announce"))}</h3>{message_box(error)}'
            f'<label>{e(both("catalogue.session.kind"))}{_select("kind", [(k, both("catalogue.kind." + k)) for k in KINDS], v("kind") or "information", any_label=False)}</label>'
            f'<label>{e(both("catalogue.session.title"))}<input name="title" value="{e(v("title") or "")}" required></label>'
            f'<label>{e(both("catalogue.session.theme"))}{_select("theme", [(c, label("category", c)) for c in categories], v("theme"), any_label=False)}</label>'
            f'<label>{e(both("catalogue.session.description"))}<textarea name="description" rows="3">{e(v("description") or "")}</textarea></label>'
            f'<label>{e(both("catalogue.session.starts_at"))}<input type="datetime-local" name="starts_at" value="{e(v("starts_at") or "")}" required></label>'
            f'<label>{e(both("catalogue.session.ends_at"))}<input type="datetime-local" name="ends_at" value="{e(v("ends_at") or "")}" required></label>'
            f'<label>{e(both("catalogue.session.location"))}<input name="location" value="{e(v("location") or "")}" required></label>'
            f'<label>{e(both("catalogue.session.capacity"))}<input type="number" name="capacity" min="1" max="1000" value="{e(v("capacity") or "20")}" required></label>'
            f'<button type="submit">{e(both("catalogue.session.announce_submit"))}</button></form>')
    body = form + f'<section id="my-sessions"><h2>{e(both("catalogue.session.mine"))}</h2>' + (
        rows or f'<p>{e(both("portal.none"))}</p>') + "</section>"
    return html_response(layout(both("catalogue.session.page_title"), body, user=user), status=status)


@html_page
def sessions(service, request) -> Response:
    user = require_partner(session_user(service, request))
    return _announce_page(service, user)


@html_page
def announce(service, request) -> Response:
    user = require_partner(session_user(service, request))
    values = {k: request.form.get(k) for k in request.form.keys()}
    networks = {n["code"]: n for n in _networks(service)}
    try:
        _call(service, "matching", "session_announce", user.network, user.organisation_id, values,
              user.username, (networks.get(user.network) or {}).get("categories"))
    except Refused as refused:
        if refused.status != 422:
            raise
        return _announce_page(service, user, values=values, error=refused.message, status=422)
    with log_context(network=user.network):
        log.info("session_announced")
    return redirect("/catalogue/sessions", code=303)


@html_page
def registrations(service, request, session_id: str) -> Response:
    user = require_partner(session_user(service, request))
    item = _call(service, "matching", "session_registrations", user.network, user.organisation_id, session_id)
    rows = "".join(f'<tr><td>{e(r["name"])}</td><td>{e(r["organisation"])}</td><td>{e(r["email"])}</td>'
                   f'<td>{e(local_time(r["at"]))}</td></tr>' for r in item["registrations"])
    body = (_session_card(user.network, item, form=False)
            + f'<table id="registrations"><thead><tr><th>{e(both("catalogue.session.name"))}</th>'
              f'<th>{e(both("catalogue.session.organisation"))}</th><th>{e(both("catalogue.session.email"))}</th>'
              f'<th>{e(both("portal.column.when"))}</th></tr></thead><tbody>{rows}</tbody></table>'
            + f'<p><a href="/catalogue/sessions">{e(both("portal.back"))}</a></p>')
    return html_response(layout(item["title"], body, user=user))
