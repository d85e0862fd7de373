"""matching's real nameko container on the real broker, called over nameko RPC, fed with real
events and publishing its own."""
import json

import kombu
import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from netsterk import amqp
from netsterk.envelope import make_envelope
from netsterk.settings import SHARED_DIR
from netsterk.testing import wait_until
from netsterk_ops import demo
from services.matching.service import MatchingService


def directory():
    return [
        {"id": "arktos", "name": "Arktos", "kind": "partner", "email": "info@arktos.example",
         "offers": [{"id": "arktos-outreach", "name": "Outreach", "categories": ["truancy", "motivation"],
                     "postcodes": ["2800", "2801"], "languages": ["nl", "fr"], "min_age": 12,
                     "max_age": 25, "school_levels": ["secondary"], "capacity": 2}]},
        {"id": "profo", "name": "Profo", "kind": "partner", "email": "info@profo.example",
         "offers": [{"id": "profo-homework", "name": "Huiswerkbegeleiding", "categories": ["learning",
                                                                                         "truancy"],
                     "postcodes": ["2800"], "languages": ["nl"], "min_age": 6, "max_age": 14,
                     "school_levels": ["primary"], "capacity": 0}]},
        {"id": "clb-mechelen", "name": "CLB Mechelen", "kind": "clb", "email": "clb@mechelen.example",
         "offers": []},
    ]


def request(**overrides):
    data = {"network": "mechelen", "categories": ["truancy"], "postcode": "2800", "age": 15,
            "school_level": "secondary", "languages": ["fr"], "urgency": "normal",
            "exclude_organisation_ids": []}
    data.update(overrides)
    return data


@pytest.fixture
def matching(run_service, amqp_uri):
    run_service(MatchingService, HSDS_SCHEMA_DIR=str(SHARED_DIR / "hsds" / "schema"))
    with ServiceRpcProxy("matching", {"AMQP_URI": amqp_uri}) as proxy:
        yield proxy


def test_health(matching):
    assert matching.health() == {"service": "matching", "status": "ok"}


def test_import_is_idempotent_and_ranking_explains_itself(matching):
    assert matching.import_directory("mechelen", directory()) == {"organisations": 3, "offers": 2}
    assert matching.import_directory("mechelen", directory()) == {"organisations": 3, "offers": 2}
    assert len(matching.list_offers("mechelen")) == 2

    candidates = matching.rank_offers(request())
    assert [c["offer_id"] for c in candidates] == ["arktos-outreach", "profo-homework"]
    best = candidates[0]
    assert best["organisation_name"] == "Arktos" and best["contact_email"] == "info@arktos.example"
    assert best["score"] == 100.0 and best["unmatched"] == []
    assert best["explanation"].startswith("Keuze 1, score 100.0/100. Past: biedt Spijbelen (1/1 zorgen)")
    assert set(candidates[1]["unmatched"]) == {"age", "school_level", "languages", "capacity"}
    assert "Staat onder Arktos" in candidates[1]["explanation"]

    without_arktos = matching.rank_offers(request(exclude_organisation_ids=["arktos"]))
    assert [c["organisation_id"] for c in without_arktos] == ["profo"]
    assert matching.list_gaps("mechelen") == []


def test_no_candidate_records_a_gap_and_networks_stay_apart(matching):
    matching.import_directory("mechelen", directory())
    assert matching.rank_offers(request(categories=["leisure"])) == []
    assert matching.rank_offers(request(network="gent")) == []
    [gap] = matching.list_gaps("mechelen")
    assert gap["categories"] == ["leisure"] and gap["postcode"] == "2800" and gap["reason"] == "no_offer"
    assert len(matching.list_gaps("gent")) == 1


def test_reimport_updates_and_deactivates_unlisted_offers(matching):
    matching.import_directory("mechelen", directory())
    changed = directory()
    changed[0]["offers"][0]["capacity"] = 0
    changed[1]["offers"] = []
    matching.import_directory("mechelen", changed)
    offers = {o["offer_id"]: o for o in matching.list_offers("mechelen")}
    assert offers["arktos-outreach"]["capacity"] == 0
    assert offers["profo-homework"]["active"] is False
    assert [c["offer_id"] for c in matching.rank_offers(request())] == ["arktos-outreach"]


def test_bad_import_is_refused_with_every_problem_and_changes_nothing(matching):
    matching.import_directory("mechelen", directory())
    bad = directory()
    bad[0]["offers"][0]["capacity"] = 99          # a valid change that must not be applied
    bad[1]["email"] = "not-an-address"
    bad[2]["kind"] = "bakery"
    with pytest.raises(RemoteError) as info:
        matching.import_directory("mechelen", bad)
    assert info.value.exc_type == "InvalidDirectory"
    assert "organisations[1] (profo): email is not a valid e-mail address" in str(info.value)
    assert "organisations[2] (clb-mechelen): kind must be one of" in str(info.value)
    offers = {o["offer_id"]: o for o in matching.list_offers("mechelen")}
    assert offers["arktos-outreach"]["capacity"] == 2

    with pytest.raises(RemoteError) as info:
        matching.import_directory("gent", directory())
    assert "organisation arktos belongs to another network" in str(info.value)


def test_bad_rank_request_is_refused(matching):
    with pytest.raises(RemoteError) as info:
        matching.rank_offers({"network": "mechelen", "categories": [], "postcode": "abc"})
    assert info.value.exc_type == "InvalidRankRequest"
    assert "categories" in str(info.value) and "postcode" in str(info.value)


@pytest.fixture
def gap_events(amqp_uri):
    """A queue bound to matching's gap_recorded events, declared before anything is published."""
    with amqp.connect(amqp_uri) as connection:
        queue = kombu.Queue(f"test-gaps-{id(connection)}", exchange=amqp.event_exchange("matching"),
                            routing_key="gap_recorded", durable=False, auto_delete=True)
        queue(connection.channel()).declare()
        received = []

        def drain():
            message = queue(connection.channel()).get(no_ack=True)
            while message is not None:
                received.append(json.loads(message.body))
                message = queue(connection.channel()).get(no_ack=True)
            return received
        yield drain


def test_a_gap_is_published_as_matching_gap_recorded(matching, gap_events):
    matching.import_directory("mechelen", directory())
    assert matching.rank_offers(request(categories=["housing"], referral_id="r-gap")) == []
    [event] = wait_until(gap_events, timeout=15, what="the gap_recorded event")
    assert event["type"] == "gap_recorded" and event["network"] == "mechelen"
    assert event["payload"]["reason"] == "no_offer" and event["payload"]["referral_id"] == "r-gap"
    assert event["payload"]["age_band"] == "12-15"


def test_engagement_events_feed_exclusion_and_capacity_idempotently(matching, amqp_uri):
    matching.import_directory("mechelen", demo.ORGANISATIONS)
    matching.rank_offers(request(referral_id="r-1", person_key="pk-1"))
    envelope = make_envelope("engagement_changed", {
        "referral_id": "r-1", "ref": "NS-2026-000001", "network": "mechelen", "organisation_id": "pros",
        "offer_id": "pros-naft-begeleiding", "status": "accepted", "reason_code": None,
        "at": "2026-11-24T09:00:00+00:00"}, network="mechelen", message_id="referral-r-1:engagement:x:accepted")
    with amqp.connect(amqp_uri) as connection:
        for _ in range(2):   # the same message twice: applied once
            amqp.publish_event(connection, "referral_workflow", "engagement_changed", envelope)

    def pros_load():
        return next((o for o in matching.list_offers("mechelen")
                     if o["offer_id"] == "pros-naft-begeleiding" and o["load"] == 1), None)
    offer = wait_until(pros_load, timeout=15, what="the accepted engagement")
    assert offer["free_places"] == 3
    again = matching.rank_offers(request(referral_id="r-2", person_key="pk-1"))
    assert "pros" not in [c["organisation_id"] for c in again]


def test_reserve_place_over_rpc(matching):
    matching.import_directory("mechelen", directory())
    assert matching.reserve_place("mechelen", "arktos-outreach", "r-1") == {
        "reserved": True, "offer_id": "arktos-outreach", "free_places": 1}
    matching.reserve_place("mechelen", "arktos-outreach", "r-2")
    with pytest.raises(RemoteError) as info:
        matching.reserve_place("mechelen", "arktos-outreach", "r-3")
    assert info.value.exc_type == "NoFreePlace"


def test_hsds_and_csv_over_rpc_all_or_nothing(matching):
    matching.import_directory("mechelen", demo.ORGANISATIONS)
    document = matching.export_hsds("mechelen")
    assert matching.import_hsds("mechelen", document) == {"organisations": 10, "offers": 13}
    document["services"][0]["status"] = "sometimes"
    document["services"][1]["name"] = "Changed by a bad import"
    with pytest.raises(RemoteError) as info:
        matching.import_hsds("mechelen", document)
    assert info.value.exc_type == "InvalidDirectory" and "services[0]" in str(info.value)
    assert "Changed by a bad import" not in {o["offer_name"] for o in matching.list_offers("mechelen")}
    text = matching.export_csv("mechelen")
    changed = text.replace("NAFT-traject op maat", "NAFT-traject op maat (nieuw)")
    assert matching.import_csv("mechelen", changed) == {"organisations": 10, "offers": 13}
    names = {o["offer_name"] for o in matching.list_offers("mechelen")}
    assert "NAFT-traject op maat (nieuw)" in names
    broken = changed.replace("NAFT-traject op maat (nieuw)", "Nog nieuwer").replace(";12;25;", ";12;x;", 1)
    with pytest.raises(RemoteError) as info:
        matching.import_csv("mechelen", broken)
    assert info.value.exc_type == "InvalidDirectory" and "line 2:" in str(info.value)
    assert "Nog nieuwer" not in {o["offer_name"] for o in matching.list_offers("mechelen")}
    entry = matching.get_organisation("mechelen", "arktos")
    assert entry["staff"][0]["name"] == "Sofie Verbeeck"      # CSV import left the staff alone


def test_hsds_read_api_pages_without_staff(matching):
    matching.import_directory("mechelen", demo.ORGANISATIONS)
    page = matching.hsds_read("mechelen", "services", None, 1, 5)
    assert page["total_items"] == 13 and page["size"] == 5 and page["total_pages"] == 3
    assert page["contents"][0]["organization"]["contacts"] == []
    one = matching.hsds_read("mechelen", "services", page["contents"][0]["id"])
    assert one["id"] == page["contents"][0]["id"]
    assert matching.hsds_read("mechelen", "services", "nope") is None


def test_reporting_counts_the_gaps_matching_records(run_service, matching, amqp_uri):
    from services.reporting.service import ReportingService

    run_service(ReportingService)
    matching.import_directory("mechelen", demo.ORGANISATIONS)
    assert matching.rank_offers(request(categories=["housing"], referral_id="r-g1", age=17)) == []
    assert matching.rank_offers(request(categories=["housing", "leisure"], postcode="9000",
                                        referral_id="r-g2", age=8,
                                        exclude_organisation_ids=["jam", "jeugdhuis-borre"])) == []

    def counted():
        counts = amqp.rpc_call(amqp_uri, "reporting", "gap_counts", "mechelen", timeout=10)
        return counts if counts["total"] == 2 else None
    counts = wait_until(counted, timeout=30, what="reporting's gap counts")
    assert counts["by_reason"] == {"already_engaged": 1, "no_offer": 1}
    assert counts["by_category"] == {"housing": 2, "leisure": 1}


def test_anonymise_drops_the_keys_and_erasure_drops_what_is_keyed_to_the_referral(matching, settings_env):
    """Retention (`referral_anonymise`): the ranked referral loses its person and household keys.
    Erasure (`intake.referral_erased`): its ranked facts and engagements go, its gaps stay without
    the referral, and matching confirms."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from netsterk.contracts import INTAKE, REFERRAL_ANONYMISE, REFERRAL_ERASED, WORKFLOW
    from netsterk.db import make_engine
    from netsterk.testing import erasure_event, erasure_receipts
    from services.matching.models import Engagement, Gap, ReferralSubject

    matching.import_directory("mechelen", directory())
    matching.rank_offers(request(referral_id="r-old", person_key="p" * 64, household_key="h" * 64))
    matching.rank_offers(request(referral_id="r-gone", person_key="q" * 64, categories=["bullying"]))
    matching.reserve_place("mechelen", "arktos-outreach", "r-gone")
    engine = make_engine(settings_env.database_url("matching"))
    anonymise = make_envelope(REFERRAL_ANONYMISE, {"referral_id": "r-old", "ref": "NS-1", "network": "mechelen"},
                              network="mechelen")
    with amqp.connect(settings_env.amqp_uri) as connection:
        amqp.publish_event(connection, WORKFLOW, REFERRAL_ANONYMISE, anonymise)

    def subject(referral_id):
        with Session(engine) as session:
            row = session.get(ReferralSubject, referral_id)
            return row and (row.person_key, row.household_key, row.categories)
    wait_until(lambda: subject("r-old") == (None, None, ["truancy"]), timeout=20, what="keys dropped")

    with Session(engine) as session:
        assert session.scalars(select(Gap.referral_id)).all() == ["r-gone"]     # no offer for bullying
    with erasure_receipts(settings_env.amqp_uri, "matching") as take:
        with amqp.connect(settings_env.amqp_uri) as connection:
            amqp.publish_event(connection, INTAKE, REFERRAL_ERASED, erasure_event("r-gone"))
        [receipt] = take(1)
    assert receipt["payload"]["removed"] == {"referral_subject": 1, "engagement": 1, "gap": 1}
    with Session(engine) as session:
        assert session.get(ReferralSubject, "r-gone") is None
        assert session.scalars(select(Engagement).where(Engagement.referral_id == "r-gone")).all() == []
        assert session.scalars(select(Gap.referral_id)).all() == [None]
        assert session.get(ReferralSubject, "r-old") is not None
    engine.dispose()
