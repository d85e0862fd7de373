"""Unit tests of the directory and rules validation."""
import pytest

from services.matching.schemas import (
    InvalidDirectory, InvalidRules, validate_directory, validate_engagement, validate_rules,
)


def org(**overrides):
    data = {"id": "arktos", "name": "Arktos", "kind": "partner", "email": "info@arktos.example",
            "offers": [{"id": "arktos-1", "name": "Outreach", "categories": ["truancy"],
                        "postcodes": ["2800"], "languages": ["NL"], "min_age": 12, "max_age": 25,
                        "school_levels": ["secondary"], "capacity": 2}]}
    data.update(overrides)
    return data


def test_valid_directory_is_cleaned_with_defaults():
    [clean] = validate_directory("mechelen", [org(offers=[{"id": "x", "name": "X",
                                                           "categories": ["learning"]}])])
    assert clean["active"] is True and clean["staff"] == []
    assert clean["offers"][0] == {
        "id": "x", "name": "X", "categories": ["learning"], "postcodes": [], "neighbourhoods": [],
        "languages": [], "min_age": 0, "max_age": 99, "school_levels": [], "capacity": 0,
        "capacity_period": "month", "waiting_list": 0, "active": True, "description": "",
        "how_to_reach": "", "opening_hours": [], "last_confirmed": None}
    [clean] = validate_directory("mechelen", [org()])
    assert clean["offers"][0]["languages"] == ["nl"]


def test_every_bad_entry_is_listed():
    bad = [
        org(kind="shop", email="nope"),
        org(id="profo", offers=[{"id": "p1", "name": "", "categories": [], "postcodes": ["28"],
                                 "min_age": 20, "max_age": 10, "capacity": -1,
                                 "school_levels": ["college"]}]),
        org(),
    ]
    with pytest.raises(InvalidDirectory) as info:
        validate_directory("mechelen", bad)
    problems = info.value.problems
    assert "organisations[0] (arktos): kind must be one of partner, school, clb" in problems
    assert "organisations[0] (arktos): email is not a valid e-mail address" in problems
    assert any("organisations[1] (profo).offers[0]: name" in p for p in problems)
    assert any("offers[0]: categories" in p for p in problems)
    assert any("offers[0]: postcodes" in p for p in problems)
    assert any("min_age 20 is above max_age 10" in p for p in problems)
    assert any("capacity" in p for p in problems)
    assert any("school_levels" in p for p in problems)
    assert "organisations[2] (arktos): id appears twice" in problems
    assert isinstance(info.value, ValueError)


def test_staff_hours_and_capacity_fields_are_checked():
    entry = org(staff=[{"id": "s1", "name": "An", "languages": ["nl"], "offer_ids": ["nope"]},
                       {"id": "s2", "name": "Bo", "phone": "call me", "email": "bo@x.example"}])
    entry["offers"][0].update(opening_hours=[{"days": ["XX"], "opens": "9", "closes": "17:00"},
                                             {"days": ["MO"], "opens": "17:00", "closes": "09:00"}],
                              capacity_period="year", waiting_list=-1, last_confirmed="1/10/2026")
    with pytest.raises(InvalidDirectory) as info:
        validate_directory("mechelen", [entry])
    text = "\n".join(info.value.problems)
    for fragment in ("staff[0]: give a phone number or an e-mail address",
                     "staff[0]: offer_ids names offers this organisation does not list: nope",
                     "staff[1]: phone is not a phone number",
                     "opening_hours[0]: days must be", "opening_hours[0]: opens and closes must be times",
                     "opening_hours[1]: opens 17:00 is not before closes 09:00",
                     "capacity_period must be one of week, month, quarter", "waiting_list",
                     "last_confirmed must be a date YYYY-MM-DD"):
        assert fragment in text


def test_non_list_input_is_refused():
    with pytest.raises(InvalidDirectory, match="organisations must be a list"):
        validate_directory("mechelen", {"id": "x"})


def test_rules_are_completed_and_bad_rules_listed():
    rules = validate_rules({"weights": {"languages": 30}, "required": ["service_area"]})
    assert rules["weights"]["languages"] == 30 and rules["weights"]["categories"] == 40
    assert rules["required"] == ["service_area"] and rules["max_candidates"] == 10
    with pytest.raises(InvalidRules) as info:
        validate_rules({"weights": {"colour": 3, "age": 500, "categories": 0}, "required": ["categories"],
                        "min_score": -1, "max_candidates": 0, "surprise": 1})
    text = "; ".join(info.value.problems)
    for fragment in ("unknown rule(s): surprise", "unknown criterion colour", "weights.age",
                     "required must be", "min_score", "max_candidates"):
        assert fragment in text


def test_engagement_payload_is_checked():
    good = {"referral_id": "r1", "network": "m", "organisation_id": "o", "offer_id": "f",
            "status": "declined", "reason_code": "no_capacity", "at": "2026-11-24T10:00:00+00:00"}
    assert validate_engagement(good) is good
    with pytest.raises(ValueError, match="status must be one of.*reason_code must be one of"):
        validate_engagement(dict(good, status="maybe", reason_code="bored"))
