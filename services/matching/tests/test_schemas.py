"""Unit tests of the directory validation."""
import pytest

from services.matching.schemas import InvalidDirectory, validate_directory


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
    assert clean["active"] is True
    assert clean["offers"][0] == {"id": "x", "name": "X", "categories": ["learning"], "postcodes": [],
                                  "languages": [], "min_age": 0, "max_age": 99, "school_levels": [],
                                  "capacity": 0, "active": True}
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


def test_non_list_input_is_refused():
    with pytest.raises(InvalidDirectory, match="organisations must be a list"):
        validate_directory("mechelen", {"id": "x"})
