"""matching's real nameko container on the real broker, called over nameko RPC."""
import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

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
    run_service(MatchingService)
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
    assert best["explanation"].startswith("Past op alle criteria")
    assert set(candidates[1]["unmatched"]) == {"age", "school_level", "languages", "capacity"}

    without_arktos = matching.rank_offers(request(exclude_organisation_ids=["arktos"]))
    assert [c["organisation_id"] for c in without_arktos] == ["profo"]
    assert matching.list_gaps("mechelen") == []


def test_no_candidate_records_a_gap_and_networks_stay_apart(matching):
    matching.import_directory("mechelen", directory())
    assert matching.rank_offers(request(categories=["leisure"])) == []
    assert matching.rank_offers(request(network="gent")) == []
    [gap] = matching.list_gaps("mechelen")
    assert gap["categories"] == ["leisure"] and gap["postcode"] == "2800"
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
