"""Unit tests of the pure ranking module: expected order, explanations, rules, exclusions."""
import pytest

from services.matching.ranking import build_index, gap_reason, rank
from services.matching.schemas import (
    DEFAULT_RULES, InvalidRankRequest, validate_rank_request, validate_rules,
)


def offer(offer_id, org_id="org-a", **overrides):
    data = {
        "offer_id": offer_id, "offer_name": f"Offer {offer_id}", "organisation_id": org_id,
        "organisation_name": f"Org {org_id}", "contact_email": f"{org_id}@example.org",
        "categories": ["truancy"], "postcodes": ["2800"], "neighbourhoods": [], "languages": ["nl"],
        "staff_languages": [], "min_age": 6, "max_age": 25, "school_levels": ["secondary"],
        "capacity": 4, "capacity_period": "month", "waiting_list": 0, "free_places": 3, "load": 0,
        "active": True,
    }
    data.update(overrides)
    return data


def request(**overrides):
    data = {"network": "mechelen", "categories": ["truancy"], "postcode": "2800", "age": 14,
            "school_level": "secondary", "languages": ["nl"], "urgency": "normal",
            "exclude_organisation_ids": []}
    data.update(overrides)
    return validate_rank_request(data)


def ranked(req, offers, rules=None, excluded=None):
    candidates, _ = rank(req, build_index(offers), validate_rules(rules or DEFAULT_RULES), excluded=excluded)
    return candidates


def test_full_match_scores_100_and_explains_every_criterion_in_dutch():
    [candidate] = ranked(request(), [offer("o1")])
    assert candidate["score"] == 100.0 and candidate["rank"] == 1
    assert candidate["matched"] == ["categories", "service_area", "age", "school_level", "languages",
                                    "capacity", "load"]
    assert candidate["unmatched"] == []
    assert candidate["explanation"] == (
        "Keuze 1, score 100.0/100. Past: biedt Spijbelen (1/1 zorgen); werkt in postcode 2800; "
        "leeftijd 14 valt binnen 6-25 jaar; werkt met Secundair onderwijs; spreekt Nederlands; "
        "3 van 4 plaatsen vrij deze maand; 0 lopende trajecten. Staat bovenaan met de hoogste score.")
    assert candidate["contact_email"] == "org-a@example.org"
    assert [r["criterion"] for r in candidate["reasons"]] == candidate["matched"]


def test_explanations_in_english_on_request():
    [candidate] = ranked(request(lang="en", age=30), [offer("o1")])
    assert "Does not fit: age 30 is outside 6-25 years." in candidate["explanation"]
    assert candidate["explanation"].startswith("Choice 1, score")


def test_expected_order_and_why_each_ranks_where_it_ranks():
    offers = [
        offer("far", "org-far", postcodes=["9000"]),                          # wrong area
        offer("best", "org-best"),
        offer("full", "org-full", free_places=0, waiting_list=2),               # no place
        offer("twin", "org-twin", free_places=1),                               # same score, fewer places
    ]
    result = ranked(request(), offers)
    assert [c["offer_id"] for c in result] == ["best", "twin", "full", "far"]
    assert "Evenveel punten als Org org-best, maar minder vrije plaatsen." in result[1]["explanation"]
    assert "geen vrije plaats deze maand, wachtlijst van 2" in result[2]["explanation"]
    assert "Staat onder Org org-twin" in result[2]["explanation"] and "vrije plaatsen" in result[2]["explanation"]
    assert "werkt niet in 2800" in result[3]["explanation"]
    assert result[3]["unmatched"] == ["service_area"]


def test_offer_without_category_overlap_is_no_candidate_and_gap_reason_is_no_offer():
    candidates, diagnosis = rank(request(), build_index([offer("o1", categories=["leisure"])]),
                                 validate_rules(DEFAULT_RULES))
    assert candidates == [] and gap_reason(diagnosis) == "no_offer"


def test_partial_category_overlap_scores_proportionally():
    [candidate] = ranked(request(categories=["truancy", "motivation"]), [offer("o1")])
    assert candidate["score"] == 81.0          # (105 - 20) / 105 points
    assert "(1/2 zorgen)" in candidate["explanation"]


def test_neighbourhood_and_staff_languages_count():
    req = request(postcode=None, neighbourhood="Nekkerspoel", languages=["ar"])
    [candidate] = ranked(req, [offer("o1", postcodes=["2800"], neighbourhoods=["Nekkerspoel"],
                                     staff_languages=["ar"])])
    assert "werkt in de wijk Nekkerspoel" in candidate["explanation"]
    assert "een medewerker spreekt Arabisch" in candidate["explanation"]


def test_unknown_request_fields_count_neither_way_and_empty_area_means_everywhere():
    req = request(postcode=None, age=None, school_level=None, languages=[])
    [candidate] = ranked(req, [offer("o1", postcodes=[], school_levels=[])])
    assert candidate["matched"] == ["categories", "capacity", "load"] and candidate["score"] == 100.0
    [candidate] = ranked(request(), [offer("o1", postcodes=[], school_levels=[])])
    assert "werkt in het hele netwerk" in candidate["explanation"]


def test_urgent_requests_weigh_free_capacity_more():
    full = offer("o1", free_places=0)
    normal = ranked(request(), [full])[0]["score"]
    urgent = ranked(request(urgency="urgent"), [full])[0]
    assert urgent["score"] < normal
    assert "Dringend: vrije plaatsen wegen zwaarder." in urgent["explanation"]


def test_load_lowers_the_score_and_breaks_ties():
    busy, calm = offer("busy", "org-a", load=3), offer("calm", "org-b", load=0)
    result = ranked(request(), [busy, calm])
    assert [c["offer_id"] for c in result] == ["calm", "busy"]
    assert "3 lopende trajecten" in result[1]["explanation"]


def test_excluded_organisations_are_left_out_with_their_reason():
    candidates, diagnosis = rank(request(), build_index([offer("o1"), offer("o2", "org-b")]),
                                 validate_rules(DEFAULT_RULES), excluded={"org-a": "already_engaged"})
    assert [c["organisation_id"] for c in candidates] == ["org-b"]
    _, diagnosis = rank(request(), build_index([offer("o1")]), validate_rules(DEFAULT_RULES),
                        excluded={"org-a": "all_declined"})
    assert gap_reason(diagnosis) == "all_declined"


def test_required_rules_turn_a_miss_into_no_candidate_and_name_the_gap():
    rules = dict(DEFAULT_RULES, required=["service_area"])
    candidates, diagnosis = rank(request(), build_index([offer("o1", postcodes=["9000"])]), validate_rules(rules))
    assert candidates == [] and gap_reason(diagnosis) == "outside_area"
    rules = dict(DEFAULT_RULES, required=["capacity"])
    _, diagnosis = rank(request(), build_index([offer("o1", free_places=0)]), validate_rules(rules))
    assert gap_reason(diagnosis) == "no_capacity"


def test_weights_change_the_order():
    near_full = offer("near", "org-a", free_places=0)
    far_free = offer("far", "org-b", postcodes=["9000"])
    assert [c["offer_id"] for c in ranked(request(), [near_full, far_free])] == ["near", "far"]
    rules = {"weights": {"service_area": 0, "capacity": 30}}
    assert [c["offer_id"] for c in ranked(request(), [near_full, far_free], rules)] == ["far", "near"]


def test_max_candidates_and_min_score():
    offers = [offer(f"o{i}", f"org-{i}", free_places=i) for i in range(1, 6)] + [offer("x", "org-x", age=0, max_age=7)]
    assert len(ranked(request(), offers, {"max_candidates": 2})) == 2
    result = ranked(request(), offers, {"min_score": 95})
    assert "x" not in [c["offer_id"] for c in result] and len(result) == 5


def test_invalid_rank_request_lists_every_problem():
    with pytest.raises(InvalidRankRequest) as info:
        validate_rank_request({"network": "", "categories": [], "postcode": "12", "age": "x",
                               "school_level": "college", "urgency": "now", "person_key": 5, "lang": "fr"})
    message = str(info.value)
    for fragment in ("network", "categories", "postcode", "age", "school_level", "urgency", "person_key", "lang"):
        assert fragment in message
