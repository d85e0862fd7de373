"""The portal's directory pages over HTTP, with the real portal and the real matching service on
the real broker: a partner edits its own entry (it waits), the network admin approves, sets the
ranking rules with a preview, sees gaps; the public HSDS read API."""
from __future__ import annotations

import re
from datetime import date

import pytest
import requests

from netsterk import amqp
from netsterk.settings import SHARED_DIR
from netsterk_ops import demo
from services.matching.service import MatchingService
from services.portal.service import PortalService
from services.portal.testing import PortalClient

PASSWORD = "wachtwoord-123"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
USERS = [("admin.mechelen", "network_admin", "mechelen", None),
         ("arktos.staff", "partner_staff", "mechelen", "arktos"),
         ("coord.mechelen", "coordinator", "mechelen", None)]


@pytest.fixture
def site(run_service, settings_env):
    run_service(MatchingService, HSDS_SCHEMA_DIR=str(SHARED_DIR / "hsds" / "schema"))
    container = run_service(PortalService)
    call = lambda service, method, *a, **kw: amqp.rpc_call(  # noqa: E731
        settings_env.amqp_uri, service, method, *a, timeout=20, **kw)
    call("matching", "import_directory", "mechelen", demo.ORGANISATIONS)
    for username, role, network, org in USERS:
        call("portal", "upsert_user", username, PASSWORD, role, network, organisation_id=org, totp_secret=SECRET)
    return f"http://{container.config['WEB_SERVER_ADDRESS']}", call


def login(url: str, username: str) -> requests.Session:
    session = PortalClient(url)
    response = session.login(username, PASSWORD, SECRET, next_path="/directory")
    assert response.status_code == 303, (response.status_code, response.request.url, response.headers, response.text)
    session.get(url + response.headers["Location"])
    return session


def form_of(html: str) -> dict:
    """The values a browser would send for the entry form (inputs, textareas, selects, checkboxes)."""
    data = {}
    for name, value in re.findall(r'<input type="(?:text|email|number|hidden)" name="([^"]+)"[^>]*value="([^"]*)"', html):
        data[name] = value.replace("&amp;", "&").replace("&#x27;", "'").replace("&quot;", '"')
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html):
        data[name] = value
    for name, value in re.findall(r'<textarea name="([^"]+)"[^>]*>([^<]*)</textarea>', html):
        data[name] = value.replace("&amp;", "&").replace("&#x27;", "'")
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html):
        data[name] = re.search(r'<option value="([^"]+)" selected', body).group(1)
    for name in re.findall(r'<input type="checkbox" name="([^"]+)" value="1" checked>', html):
        data[name] = "1"
    return data


def test_partner_edits_its_own_entry_it_waits_and_the_admin_approves(site):
    url, call = site
    partner = login(url, "arktos.staff")
    page = partner.get(f"{url}/directory", timeout=10)
    assert page.url.endswith("/directory/organisations/arktos") and "Sofie Verbeeck" in page.text
    data = form_of(page.text)
    assert data["offer-0-name"] == "NAFT-traject op maat" and data["offer-0-capacity"] == "4"
    data["offer-0-capacity"] = "7"
    data["offer-0-opening_hours"] = "MO-TH 09:00-16:00"
    data["staff-2-name"], data["staff-2-email"] = "Lotte Maes", "lotte.maes@arktos.example.org"
    data["staff-2-languages"], data["staff-2-offer_ids"] = "nl, pl", "arktos-naft-traject"
    sent = partner.post(f"{url}/directory/organisations/arktos", data=data, timeout=10)
    assert sent.status_code == 200 and "wacht op goedkeuring" in sent.text
    entry = call("matching", "get_organisation", "mechelen", "arktos")
    assert entry["offers"][0]["capacity"] == 4                      # not applied before approval
    assert "Lotte Maes" in partner.get(f"{url}/directory/organisations/arktos", timeout=10).text

    assert partner.get(f"{url}/directory/organisations/profo", timeout=10).status_code == 403
    assert partner.get(f"{url}/directory/changes", timeout=10).status_code == 403

    admin = login(url, "admin.mechelen")
    overview = admin.get(f"{url}/directory", timeout=10)
    assert "1 wijziging(en) wachten op goedkeuring" in overview.text and "Samenlevingsopbouw" in overview.text
    changes = admin.get(f"{url}/directory/changes", timeout=10).text
    assert "offers[arktos-naft-traject].capacity" in changes and "staff[arktos-staff-lotte-maes] (new)" in changes
    change_id = re.search(r'action="/directory/changes/(\d+)"', changes).group(1)
    done = admin.post(f"{url}/directory/changes/{change_id}", data={"approve": "1", "note": "ok"}, timeout=10)
    assert done.status_code == 200 and "Goedgekeurd" in done.text
    entry = call("matching", "get_organisation", "mechelen", "arktos")
    offer = entry["offers"][0]
    assert offer["capacity"] == 7 and offer["opening_hours"][0]["days"] == ["MO", "TU", "WE", "TH"]
    assert entry["last_confirmed"] == date.today().isoformat()
    assert "Lotte Maes" in [s["name"] for s in entry["staff"]]


def test_a_bad_entry_is_refused_with_every_reason_and_changes_nothing(site):
    url, call = site
    partner = login(url, "arktos.staff")
    data = form_of(partner.get(f"{url}/directory/organisations/arktos", timeout=10).text)
    data["offer-0-min_age"] = "oud"
    data["offer-1-categories"] = ""
    data["email"] = "geen-adres"
    refused = partner.post(f"{url}/directory/organisations/arktos", data=data, timeout=10)
    assert refused.status_code == 422
    assert "Niet bewaard" in refused.text
    assert "min_age and max_age must be whole numbers" in refused.text
    assert "categories must be a non-empty list" in refused.text and "email is not a valid" in refused.text
    assert call("matching", "list_changes", "mechelen", "pending") == []
    hours = dict(data, **{"offer-0-min_age": "12", "offer-1-categories": "motivation", "email": "naft@arktos.example.org",
                          "offer-0-opening_hours": "ma-vr 9u"})
    refused = partner.post(f"{url}/directory/organisations/arktos", data=hours, timeout=10)
    assert refused.status_code == 422 and "must read like" in refused.text


def test_admin_previews_and_saves_ranking_rules(site):
    url, call = site
    for number, postcode in enumerate(["2800", "2801", "2812"]):
        call("matching", "rank_offers", {"network": "mechelen", "categories": ["truancy"], "postcode": postcode,
                                         "age": 14, "school_level": "secondary", "languages": ["ar"],
                                         "urgency": "normal", "referral_id": f"r-{number}"})
    admin = login(url, "admin.mechelen")
    page = admin.get(f"{url}/directory/rules", timeout=10)
    assert 'name="weight-categories"' in page.text and 'value="40"' in page.text
    form = {f"weight-{c}": "10" for c in ("categories", "service_area", "age", "school_level", "capacity", "load")}
    form.update({"weight-languages": "0", "urgent_capacity_weight": "15", "min_score": "0",
                 "max_candidates": "2", "required": ["school_level"], "do": "preview"})
    preview = admin.post(f"{url}/directory/rules", data=form, timeout=10)
    assert preview.status_code == 200 and 'id="preview"' in preview.text
    assert "3 recente meldingen: 3 zouden anders gerangschikt zijn" in preview.text
    assert call("matching", "get_rules", "mechelen")["max_candidates"] == 10      # preview saves nothing
    saved = admin.post(f"{url}/directory/rules", data=dict(form, do="save"), timeout=10)
    assert saved.status_code == 200 and "bewaard" in saved.text
    assert call("matching", "get_rules", "mechelen")["required"] == ["school_level"]
    bad = admin.post(f"{url}/directory/rules", data=dict(form, **{"weight-categories": "0"}, do="save"), timeout=10)
    assert bad.status_code == 422 and "weights.categories must be above 0" in bad.text
    coordinator = login(url, "coord.mechelen")
    assert coordinator.get(f"{url}/directory/rules", timeout=10).status_code == 403


def test_gaps_and_capacity_page(site):
    url, call = site
    assert call("matching", "rank_offers", {"network": "mechelen", "categories": ["housing"], "postcode": "2800",
                                            "age": 17, "referral_id": "r-gap"}) == []
    page = login(url, "coord.mechelen").get(f"{url}/directory/gaps", timeout=10)
    assert page.status_code == 200 and "Geen aanbod voor deze zorg" in page.text and "16-18" in page.text
    assert "NAFT-traject op maat" in page.text                       # the capacity table


def test_anonymous_users_log_in_first(site):
    url, _ = site
    response = requests.get(f"{url}/directory/changes", timeout=10, allow_redirects=False)
    assert response.status_code == 303 and "/login?next=/directory/changes" in response.headers["Location"]


def test_public_hsds_read_api(site):
    url, _ = site
    page = requests.get(f"{url}/api/v1/hsds/services", params={"network": "mechelen", "per_page": 5}, timeout=10)
    assert page.status_code == 200
    body = page.json()
    assert body["total_items"] == 13 and len(body["contents"]) == 5 and body["first_page"] is True
    assert "Sofie" not in page.text
    one = requests.get(f"{url}/api/v1/hsds/services/{body['contents'][0]['id']}",
                       params={"network": "mechelen"}, timeout=10).json()
    assert one["name"] == body["contents"][0]["name"] and one["organization"]["name"]
    orgs = requests.get(f"{url}/api/v1/hsds/organizations", params={"network": "mechelen"}, timeout=10).json()
    assert orgs["total_items"] == 10
    terms = requests.get(f"{url}/api/v1/hsds/taxonomy_terms", params={"network": "mechelen"}, timeout=10).json()
    assert "truancy" in {t["code"] for t in terms["contents"]}
    assert requests.get(f"{url}/api/v1/hsds/services", timeout=10).status_code == 400
    assert requests.get(f"{url}/api/v1/hsds/locations", params={"network": "mechelen"}, timeout=10).status_code == 404
    assert requests.get(f"{url}/api/v1/hsds/services/nope", params={"network": "mechelen"}, timeout=10).status_code == 404
