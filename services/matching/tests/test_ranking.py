"""Unit tests of the pure ranking module (no nameko, no database)."""
import pytest

from services.matching.ranking import rank
from services.matching.schemas import InvalidRankRequest, validate_rank_request


def offer(offer_id, org_id="org-a", **overrides):
    data = {
        "offer_id": offer_id, "offer_name": f"Offer {offer_id}", "organisation_id": org_id,
        "organisation_name": f"Org {org_id}", "contact_email": f"{org_id}@example.org",
        "categories": ["truancy"], "postcodes": ["2800"], "languages": ["nl"],
        "min_age": 6, "max_age": 25, "school_levels": ["secondary"], "capacity": 3,
    }
    data.update(overrides)
    return data


def request(**overrides):
    data = {"network": "mechelen", "categories": ["truancy"], "postcode": "2800", "age": 14,
            "school_level": "secondary", "languages": ["nl"], "urgency": "normal",
            "exclude_organisation_ids": []}
    data.update(overrides)
    return validate_rank_request(data)


def test_full_match_scores_100_and_explains_itself_in_dutch():
    [candidate] = rank(request(), [offer("o1")])
    assert candidate["score"] == 100.0
    assert candidate["matched"] == ["categories", "service_area", "age", "school_level",
                                    "languages", "capacity"]
    assert candidate["unmatched"] == []
    assert candidate["explanation"].startswith("Past op alle criteria: zorgthema's Spijbelen (1/1)")
    assert candidate["contact_email"] == "org-a@example.org"


def test_offer_without_category_overlap_is_no_candidate():
    assert rank(request(), [offer("o1", categories=["leisure"])]) == []


def test_each_failed_criterion_is_listed_as_unmatched_and_lowers_the_score():
    worse = offer("o2", "org-b", postcodes=["9000"], max_age=12, school_levels=["primary"],
                  languages=["fr"], capacity=0)
    best, second = rank(request(), [worse, offer("o1")])
    assert best["offer_id"] == "o1"
    assert second["offer_id"] == "o2"
    assert second["matched"] == ["categories"]
    assert second["unmatched"] == ["service_area", "age", "school_level", "languages", "capacity"]
    assert second["score"] == 40.0
    assert "niet op werkingsgebied, leeftijd, onderwijsniveau, taal, vrije plaatsen" in second["explanation"]


def test_partial_category_overlap_scores_proportionally():
    [candidate] = rank(request(categories=["truancy", "motivation"]), [offer("o1")])
    assert candidate["score"] == 80.0
    assert "(1/2)" in candidate["explanation"]


def test_excluded_organisations_are_left_out():
    result = rank(request(exclude_organisation_ids=["org-a"]), [offer("o1"), offer("o2", "org-b")])
    assert [c["organisation_id"] for c in result] == ["org-b"]


def test_unknown_request_fields_count_neither_way_and_empty_area_means_everywhere():
    req = request(postcode=None, age=None, school_level=None, languages=[])
    [candidate] = rank(req, [offer("o1", postcodes=[], school_levels=[])])
    assert candidate["matched"] == ["categories", "capacity"]
    assert candidate["unmatched"] == []
    [candidate] = rank(request(), [offer("o1", postcodes=[], school_levels=[])])
    assert "service_area" in candidate["matched"] and "school_level" in candidate["matched"]


def test_urgent_requests_weigh_free_capacity_more():
    full = offer("o1", capacity=0)
    normal = rank(request(), [full])[0]["score"]
    urgent = rank(request(urgency="urgent"), [full])[0]["score"]
    assert urgent < normal


def test_ties_break_on_free_capacity_then_name():
    result = rank(request(languages=[]), [offer("o1", "org-a", capacity=1),
                                          offer("o2", "org-b", capacity=5),
                                          offer("o3", "org-c", capacity=5)])
    assert [c["offer_id"] for c in result] == ["o2", "o3", "o1"]


def test_invalid_rank_request_lists_every_problem():
    with pytest.raises(InvalidRankRequest) as info:
        validate_rank_request({"network": "", "categories": [], "postcode": "12", "age": "x",
                               "school_level": "college", "urgency": "now"})
    message = str(info.value)
    for fragment in ("network", "categories", "postcode", "age", "school_level", "urgency"):
        assert fragment in message
