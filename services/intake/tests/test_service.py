"""Intake's real nameko container on the real broker, driven over HTTP as a reporter would."""
import re

import kombu
import pytest
import requests
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from netsterk import amqp
from netsterk.envelope import make_envelope
from netsterk.testing import wait_until
from services.intake.service import IntakeService
from services.intake.tests.test_schemas import valid


@pytest.fixture
def intake(run_service, amqp_uri):
    container = run_service(IntakeService)
    base = f"http://{container.config['WEB_SERVER_ADDRESS']}"
    with ServiceRpcProxy("intake", {"AMQP_URI": amqp_uri}) as proxy:
        proxy.upsert_network("mechelen", "Mechelen", ["truancy", "motivation", "home_situation"])
        yield base, proxy


@pytest.fixture
def submitted_events(amqp_uri):
    """A queue bound to intake's events before anything is published; returns a reader."""
    connection = amqp.connect(amqp_uri)
    queue = kombu.Queue("test-referral-submitted", exchange=amqp.event_exchange("intake"),
                        routing_key="referral_submitted", auto_delete=True)
    queue(connection.channel()).declare()
    received = []

    def read(expected: int):
        with kombu.Consumer(connection, queues=[queue], accept=["json"],
                            callbacks=[lambda body, message: (received.append(body), message.ack())]):
            wait_until(lambda: len(received) >= expected or connection.drain_events(timeout=0.5),
                       timeout=15, what=f"{expected} referral_submitted events")
        return received
    yield read
    connection.close()


def test_api_submission_is_stored_and_announced(intake, submitted_events):
    base, _proxy = intake
    response = requests.post(f"{base}/api/v1/referrals", json=valid(), timeout=10)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["ref"].startswith("NS-") and body["state"] == "submitted"
    events = submitted_events(1)
    assert events[0]["type"] == "referral_submitted"
    assert events[0]["payload"]["referral_id"] == body["id"]
    assert events[0]["referral_ref"] == body["ref"] and events[0]["network"] == "mechelen"


def test_api_validation_errors_per_field_and_nothing_stored(intake, submitted_events):
    base, _proxy = intake
    response = requests.post(f"{base}/api/v1/referrals", json=valid(postcode="abc", reporter_email=""),
                             timeout=10)
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"postcode", "reporter_email"}
    assert requests.post(f"{base}/api/v1/referrals", data="{not json", timeout=10).status_code == 400
    assert requests.post(f"{base}/api/v1/referrals", data=b"x" * 70000, timeout=10).status_code == 413
    # the next valid referral gets number 1: nothing was half-written before it
    response = requests.post(f"{base}/api/v1/referrals", json=valid(), timeout=10)
    assert response.json()["ref"].endswith("-000001")
    assert len(submitted_events(1)) == 1


def test_web_form_shows_errors_per_field_then_confirms(intake):
    base, _proxy = intake
    page = requests.get(f"{base}/referrals/new", timeout=10)
    assert page.status_code == 200 and "Een zorg melden" in page.text and "Spijbelen" in page.text
    form = {k: v for k, v in valid().items() if k not in ("languages", "categories", "reporter_is_school")}
    bad = requests.post(f"{base}/referrals/new", data={**form, "postcode": "12"}, timeout=10)
    assert bad.status_code == 422
    assert "id='error-postcode'" in bad.text and "id='error-categories'" in bad.text
    good = requests.post(f"{base}/referrals/new", data={**form, "categories": ["truancy", "motivation"],
                                                       "reporter_is_school": "on", "languages": "nl, ar"},
                         timeout=10)
    assert good.status_code == 200 and "Melding ontvangen" in good.text
    assert good.url.split("/")[-1].startswith("NS-")


def test_openapi_document_and_health(intake):
    base, proxy = intake
    document = requests.get(f"{base}/api/openapi.json", timeout=10).json()
    schema = document["paths"]["/api/v1/referrals"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "postcode" in schema["properties"] and "categories" in schema["required"]
    assert proxy.health() == {"service": "intake", "status": "ok"}


def test_state_change_events_update_the_status_once(intake, amqp_uri):
    base, _proxy = intake
    referral = requests.post(f"{base}/api/v1/referrals", json=valid(), timeout=10).json()
    envelope = make_envelope("referral_state_changed", {
        "referral_id": referral["id"], "ref": referral["ref"], "network": "mechelen",
        "from_state": "submitted", "to_state": "triage", "by": "system", "reason": "",
        "at": "2026-11-24T10:00:00+00:00"}, network="mechelen", referral_ref=referral["ref"])
    with amqp.connect(amqp_uri) as connection:
        amqp.publish_event(connection, "referral_workflow", "referral_state_changed", envelope)
        amqp.publish_event(connection, "referral_workflow", "referral_state_changed", envelope)
    from sqlalchemy import text

    from netsterk.db import make_engine
    from netsterk.settings import get_settings
    engine = make_engine(get_settings().database_url("intake"))
    wait_until(lambda: engine.connect().execute(text("SELECT state FROM referral")).scalar() == "triage",
               timeout=15, what="intake to mirror the state")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM processed_message")).scalar() == 1
    engine.dispose()


def test_save_as_draft_then_resume_and_submit(intake):
    base, _proxy = intake
    form = {"network": "mechelen", "reporter_name": "An", "first_name": "Sam", "action": "save_draft"}
    saved = requests.post(f"{base}/referrals/new", data=form, timeout=10)
    assert saved.status_code == 200 and "Concept bewaard" in saved.text
    link = re.search(r"/referrals/draft/[\w-]+", saved.text).group(0)
    resumed = requests.get(f"{base}{link}", timeout=10)
    assert resumed.status_code == 200 and "value='Sam'" in resumed.text
    token = link.rsplit("/", 1)[1]
    assert f"name='draft_token' value='{token}'" in resumed.text
    full = {k: v for k, v in valid().items() if k not in ("languages", "categories", "reporter_is_school")}
    done = requests.post(f"{base}/referrals/new", data={**full, "categories": "truancy", "reporter_is_school": "on",
                                                       "draft_token": token, "action": "submit"}, timeout=10)
    assert done.status_code == 200 and "Melding ontvangen" in done.text
    assert requests.get(f"{base}{link}", timeout=10).status_code == 404   # used up
    api = requests.post(f"{base}/api/v1/drafts", json={"first_name": "Noor"}, timeout=10)
    assert api.status_code == 201
    assert requests.get(f"{base}/api/v1/drafts/{api.json()['token']}", timeout=10).json() == {"first_name": "Noor"}


def test_phone_entry_and_direct_engagement_over_rpc(intake, submitted_events):
    _base, proxy = intake
    bad = proxy.submit_referral(valid(postcode="x"), channel="phone", entered_by="coordinator")
    assert bad["referral"] is None and set(bad["errors"]) == {"postcode"}
    phone = proxy.submit_referral(valid(), channel="phone", entered_by="coordinator")
    assert phone["errors"] == {} and phone["referral"]["channel"] == "phone"
    partner = {"organisation_id": "arktos", "organisation_name": "Arktos", "offer_id": "arktos-naft",
               "offer_name": "NAFT-traject", "contact_email": "naft@arktos.example.org"}
    direct = proxy.report_direct_engagement(valid(first_name="Lina"), partner, "arktos")
    assert direct["referral"]["channel"] == "direct"
    with pytest.raises(RemoteError, match="organisation_id"):
        proxy.report_direct_engagement(valid(), {"organisation_name": "?"}, "x")
    events = {e["payload"]["referral_id"]: e["payload"] for e in submitted_events(2)}
    assert events[direct["referral"]["id"]]["direct_engagement"] == partner
    assert events[phone["referral"]["id"]]["direct_engagement"] is None
    fragment = proxy.form_fragment("mechelen", {"first_name": "Sam"}, {"postcode": "fout"}, "/referrals/phone",
                                   {"name": "offer_id", "label_key": "intake.field.network",
                                    "options": [["a", "Offer A"], ["b", "Offer B"]]})
    assert "action='/referrals/phone'" in fragment and "error-postcode" in fragment and "save_draft" not in fragment
    assert "<option value='b'>Offer B</option>" in fragment


def test_api_never_answers_5xx_nor_half_writes_on_random_input(intake):
    import random
    base, _proxy = intake
    rnd = random.Random(20261124)
    junk = [None, True, 0, -1, 10**30, 3.5, "", " ", "x" * 6000, "😀" * 50, [], [1, {"a": None}], {}, {"$": "y"},
            "2011-02-30", "9999", "0800", "<script>", "a@b", "NS-2026-000001"]
    fields = list(valid()) + ["age", "channel", "extra"]
    for _ in range(120):
        body = valid() if rnd.random() < 0.5 else {}
        for field in rnd.sample(fields, rnd.randint(1, 6)):
            body[field] = rnd.choice(junk)
        response = requests.post(f"{base}/api/v1/referrals", json=body, timeout=10)
        assert response.status_code in (201, 400, 413, 422), (body, response.text)
        if response.status_code != 201:
            assert response.json()["errors"]
    for raw in (b"\xff\xfe", b"[]", b"null", b"12", b'{"a":', "{}".encode("utf-16")):
        assert requests.post(f"{base}/api/v1/referrals", data=raw, timeout=10).status_code in (400, 422)


def test_openapi_document_matches_what_the_endpoint_accepts_and_returns(intake):
    import jsonschema
    base, _proxy = intake
    document = requests.get(f"{base}/api/openapi.json", timeout=10).json()
    operation = document["paths"]["/api/v1/referrals"]["post"]
    request_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    body = {**valid(), "age": 15, "reporter_is_school": True}
    jsonschema.validate(body, request_schema)                       # what we send is documented ...
    response = requests.post(f"{base}/api/v1/referrals", json=body, timeout=10)
    assert response.status_code == 201                              # ... and accepted
    jsonschema.validate(response.json(), operation["responses"]["201"]["content"]["application/json"]["schema"])
    for field, schema in request_schema["properties"].items():      # every documented field is accepted
        assert field in valid() or field in ("age", "reporter_is_school", "reporter_phone", "school_email",
                                             "school", "grade", "neighbourhood", "consent_reason",
                                             "expectations", "urgency", "lang"), field
    undocumented = requests.post(f"{base}/api/v1/referrals", json={**body, "shoe_size": 42}, timeout=10)
    assert undocumented.status_code == 422 and "shoe_size" in undocumented.json()["errors"]
    jsonschema.validate(undocumented.json(), operation["responses"]["422"]["content"]["application/json"]["schema"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**body, "shoe_size": 42}, request_schema)


def test_concurrent_submissions_on_sqlite_all_succeed_and_are_all_announced(intake, submitted_events):
    """Eight reporters at once on the embedded SQLite: no "database is locked", no 5xx, unique
    references, and every referral's event published (the relay never holds the write lock
    while it talks to the broker)."""
    from concurrent.futures import ThreadPoolExecutor

    base, _proxy = intake

    def submit(i):
        return requests.post(f"{base}/api/v1/referrals", json=valid(first_name=f"Kind{i}"), timeout=60)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(submit, range(40)))
    assert [r.status_code for r in responses] == [201] * 40, [r.text for r in responses if r.status_code != 201]
    refs = {r.json()["ref"] for r in responses}
    assert len(refs) == 40
    events = submitted_events(40)
    assert {e["referral_ref"] for e in events} == refs
