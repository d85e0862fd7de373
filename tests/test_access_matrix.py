"""Access matrix (issue 10): every HTTP route of the portal and of intake — found automatically
from the nameko entrypoints, so a route added later is covered without touching this file — is
tried by every role (coordinator, partner, analyst, network admin, ops, anonymous) with the ids of
another network, and by every role but the coordinator with the ids of its own network's referral.
The answer may be a refusal (403 / 404 / a redirect to the login / 401 / 405 / 422), never a
server error and never the data: the other network's reference, names, addresses, free text and
staff contact data must not appear in any answer."""
import base64
import json
import os
import re
import subprocess
import sys
import uuid

import pytest
import requests

from netsterk import amqp
from netsterk.settings import REPO_ROOT
from netsterk.testing import wait_until, source_address_adapter
from services.portal.testing import PortalClient, signed_in

pytestmark = pytest.mark.slow

PASSWORD = "netsterk-demo"
ROLES = ("anonymous", "coordinator", "partner_staff", "analyst", "network_admin", "ops")
# users of their own for the sweep (it also posts /logout, which ends every session of a user)
USERS = {"coordinator": ("matrix-coordinator", None), "partner_staff": ("matrix-partner", "arktos"),
         "analyst": ("matrix-analyst", None), "network_admin": ("matrix-admin", None), "ops": ("matrix-ops", None)}
DENIED = {302, 303, 401, 403, 404, 405, 422}
# public by design (the reporter's form, the public HSDS directory, health, static files): a
# 200 is fine there, the data check still holds
PUBLIC = {
    ("intake", "/"), ("intake", "/referrals/new"), ("intake", "/referrals/submitted/<string:ref>"),
    ("intake", "/api/v1/networks"), ("intake", "/api/openapi.json"), ("intake", "/health"),
    ("portal", "/health"), ("portal", "/login"), ("portal", "/static/<string:name>"),
    ("portal", "/api/v1/hsds/<string:collection>"), ("portal", "/api/v1/hsds/<string:collection>/<string:item_id>"),
}
ROUTES_SCRIPT = """
import json
from nameko.web.handlers import HttpRequestHandler
from services.intake.service import IntakeService
from services.portal.service import PortalService
routes = []
for service, cls in (("intake", IntakeService), ("portal", PortalService)):
    for attribute in dir(cls):
        for entrypoint in getattr(getattr(cls, attribute), "nameko_entrypoints", ()):
            if isinstance(entrypoint, HttpRequestHandler):
                for method in entrypoint.method.split(","):
                    routes.append([service, method.strip(), entrypoint.url])
print(json.dumps(sorted(routes)))
"""


def http_routes() -> list[tuple[str, str, str]]:
    """(service, method, url rule) of every HTTP entrypoint; in a subprocess, because this test
    process must not import nameko/eventlet (the Temporal SDK may be loaded here)."""
    done = subprocess.run([sys.executable, "-c", ROUTES_SCRIPT], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [tuple(r) for r in json.loads(done.stdout)]


def referral_form(network: str, first: str, last: str, email: str, mark: str) -> dict:
    return {"network": network, "reporter_name": "Matrix Reporter", "reporter_organisation": "School",
            "reporter_role": "zorg", "reporter_email": email, "reporter_is_school": True, "first_name": first,
            "last_name": last, "birth_date": "2012-01-02", "school_level": "secondary", "postcode": "2000",
            "languages": ["nl"], "categories": ["truancy"], "description": f"{mark} thuis moeilijk.",
            "school_efforts": "Gebeld.", "school_efforts_when": "1/12", "school_efforts_result": "Geen",
            "consent": "parents"}


@pytest.fixture(scope="module")
def world(live_stack):
    """Mechelen (the demo network, its users) and a second network, Antwerpen, with a referral
    and a partner whose staff has contact data."""
    settings, _stack = live_stack

    def call(service, method, *args, **kwargs):
        return amqp.rpc_call(settings.amqp_uri, service, method, *args, timeout=30, **kwargs)

    # named to sort after Mechelen: the public form preselects the first network by name, and the
    # other tests of this session fill it in for Mechelen
    call("intake", "upsert_network", "antwerpen", "Zuid-Antwerpen", ["truancy", "motivation"])
    call("matching", "import_directory", "antwerpen", [{
        "id": "antw-partner", "name": "Antwerpse Partner", "kind": "partner", "email": "info@antw.example.org",
        "staff": [{"id": "antw-staff", "name": "Staffelina Geheimhoudster", "phone": "+32 3 000 00 00",
                   "email": "staffelina@antw.example.org", "languages": ["nl"], "offer_ids": ["antw-offer"]}],
        "offers": [{"id": "antw-offer", "name": "Antwerps Aanbod", "categories": ["truancy"],
                    "postcodes": ["2000"], "languages": ["nl"], "min_age": 6, "max_age": 25,
                    "school_levels": ["secondary"], "capacity": 5}]}])
    secrets = {}
    for role, (username, organisation) in USERS.items():
        secrets[role] = base64.b32encode(os.urandom(20)).decode()
        call("portal", "upsert_user", username, PASSWORD, role, "mechelen", organisation, "nl", secrets[role])
    http = requests.Session()
    http.mount("http://", source_address_adapter("127.0.0.9"))
    referrals = {}
    for network, first, last, email, mark in (
            ("antwerpen", "Antwerpia", "Verborgenheid", "verborgen.melder@antw.example.org", "Geheimzorgwoord"),
            ("mechelen", "Mechelina", "Eigennetwerk", "eigen.melder@mech.example.org", "Eigenzorgwoord")):
        response = http.post(f"{settings.intake_url}/api/v1/referrals",
                             json=referral_form(network, first, last, email, mark), timeout=10)
        assert response.status_code == 201, response.text
        body = response.json()
        referrals[network] = {"id": body["id"], "ref": body["ref"],
                              "secrets": [first, last, email, mark]}
    for network in referrals:     # both workflows are running (a 404 must not be a race)
        wait_until(lambda: call("workflow_bridge", "get_referral", referrals[network]["id"]), timeout=90,
                   what=f"the {network} workflow")
    referrals["antwerpen"]["secrets"] += [referrals["antwerpen"]["ref"], "Staffelina", "staffelina@antw.example.org",
                                          "+32 3 000 00 00"]
    clients = {}
    for role in ROLES:
        clients[role] = PortalClient(settings.portal_url)
        clients[role].mount("http://", source_address_adapter(f"127.0.1.{10 + ROLES.index(role)}"))
        if role != "anonymous":
            signed = clients[role].login(USERS[role][0], PASSWORD, secrets[role])
            assert signed.status_code == 303, (role, signed.text[:300])
    return settings, referrals, clients


def fill(url: str, referral: dict) -> str:
    values = {"referral_id": referral["id"], "ref": referral["ref"], "token": "not-the-token-" + "0" * 16,
              "action": "withdraw", "mail_id": "00000000000000000000-000000000000",
              "organisation_id": "antw-partner", "change_id": "1", "collection": "services",
              "item_id": "antw-offer", "name": "by_state", "queue": "matrix-none.dlq"}
    # a parameter added later gets a harmless value that names nothing
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "matrix-unknown-0000"), url)


def shown(text: str, secrets: list[str], sent: str = "") -> list[str]:
    """The secrets an answer shows (that the request did not itself carry)."""
    return [s for s in secrets if s.lower() in text.lower() and s not in sent]


FORM = {"purpose": "matrix", "confirm": "yes", "accept": "1", "reason": "other", "note": "matrix",
        "text": "matrix", "decision": "accept", "command_id": "matrix-command"}


def sweep(settings, routes, referral, roles, clients, *, only_with_ids: bool):
    problems, tried = [], 0
    # /logout last: it ends the user's sessions
    ordered = sorted(routes, key=lambda r: r[2] == "/logout")
    for role in roles:
        http = clients[role]
        for service, method, rule in ordered:
            has_ids = bool(re.search(r"<(?:\w+:)?(referral_id|ref|organisation_id|item_id)>", rule))
            if only_with_ids and not re.search(r"<(?:\w+:)?(referral_id|ref)>", rule):
                continue
            base = settings.portal_url if service == "portal" else settings.intake_url
            url = base + fill(rule, referral)
            data = dict(FORM, ref=referral["ref"]) if method == "POST" else None
            response = http.request(method, url, data=data, allow_redirects=False, timeout=60)
            tried += 1
            sent = url + json.dumps(data or {})
            leaked = shown(response.text, referral["secrets"], sent)
            where = f"{role} {method} {service}{rule} -> {response.status_code}"
            if leaked:
                problems.append(f"{where}: shows {leaked}")
            if response.status_code >= 500:
                problems.append(f"{where}: server error")
            elif has_ids and (service, rule) not in PUBLIC and response.status_code not in DENIED:
                problems.append(f"{where}: not refused")
            if has_ids and response.status_code in (302, 303) and "/login" not in response.headers.get("Location", "/login"):
                problems.append(f"{where}: redirects to {response.headers['Location']}")
    return problems, tried


def test_every_route_refuses_other_networks_and_other_roles(world):
    settings, referrals, clients = world
    routes = http_routes()
    portal_routes = {rule for service, _m, rule in routes if service == "portal"}
    # the enumeration is real: it finds the routes we know, the new privacy pages included
    assert {"/referrals/<string:referral_id>", "/api/v1/referrals/<string:referral_id>", "/privacy/audit",
            "/engagements/<string:referral_id>/<string:token>"} <= portal_routes
    assert ("intake", "POST", "/referrals/new") in routes and len(routes) >= 50

    # every role of Mechelen (and anonymous) against Antwerpen's ids: refused, nothing shown
    own = [r for r in ROLES if r != "coordinator"]
    more, tried_own = sweep(settings, routes, referrals["mechelen"], own, clients, only_with_ids=True)
    problems, tried = sweep(settings, routes, referrals["antwerpen"], ROLES, clients, only_with_ids=False)
    assert problems + more == [], "\n".join(problems + more)
    assert tried >= len(ROLES) * 50 and tried_own >= len(own) * 10

    coordinator = signed_in(settings.portal_url, "coordinator")   # the matrix users are signed out now
    # the coordinator of Mechelen does see its own referral (the refusals above are not blanket)
    own_page = coordinator.get(f"{settings.portal_url}/referrals/{referrals['mechelen']['id']}", timeout=30)
    assert own_page.status_code == 200 and referrals["mechelen"]["ref"] in own_page.text
    other_page = coordinator.get(f"{settings.portal_url}/referrals/{referrals['antwerpen']['id']}", timeout=30)
    assert other_page.status_code == 404
    # the check above does see data when it is there: the coordinator's own export shows it
    export = coordinator.post(f"{settings.portal_url}/privacy/export", timeout=30,
                           data={"ref": referrals["mechelen"]["ref"], "purpose": "matrix self-check"})
    assert export.status_code == 200 and set(shown(export.text, referrals["mechelen"]["secrets"])) == set(
        referrals["mechelen"]["secrets"])
    # and the other network's referral id is unknown to every RPC-backed export, too
    refused = coordinator.post(f"{settings.portal_url}/privacy/export", timeout=30,
                            data={"ref": referrals["antwerpen"]["ref"], "purpose": "probe " + uuid.uuid4().hex})
    assert refused.status_code == 404 and "Antwerpia" not in refused.text
