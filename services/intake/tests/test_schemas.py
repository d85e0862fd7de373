from datetime import date

from services.intake.schemas import validate_referral

CATEGORIES = ["truancy", "motivation", "home_situation"]


def valid(**overrides):
    data = {
        "network": "mechelen", "reporter_name": "An Peeters", "reporter_organisation": "GO! Atheneum",
        "reporter_role": "leerlingbegeleider", "reporter_email": "an@school.example",
        "reporter_is_school": True, "first_name": "Sam", "last_name": "Janssens",
        "birth_date": "2011-03-02", "school_level": "secondary", "postcode": "2800",
        "languages": ["nl", "ar"], "categories": ["truancy"], "description": "Komt niet meer naar school.",
        "school_efforts": "3 telefoons, 1 huisbezoek", "school_efforts_when": "4/11, 8/11 en 12/11",
        "school_efforts_result": "Geen contact met moeder", "consent": "parents",
    }
    data.update(overrides)
    return data


def test_valid_referral_is_cleaned_and_age_computed():
    clean, errors = validate_referral(valid(), categories=CATEGORIES, today=date(2026, 11, 24))
    assert errors == {}
    assert clean["age"] == 15
    assert clean["urgency"] == "normal" and clean["channel"] == "web"
    assert clean["languages"] == ["nl", "ar"]


def test_each_missing_required_field_gets_its_own_message():
    data = valid()
    for field in ("reporter_name", "reporter_email", "first_name", "postcode", "description"):
        data[field] = ""
    _clean, errors = validate_referral(data, categories=CATEGORIES)
    for field in ("reporter_name", "reporter_email", "first_name", "postcode", "description"):
        assert errors[field].startswith("Dit veld is verplicht.")
        assert "This field is required." in errors[field]


def test_bad_values_are_named_precisely():
    _clean, errors = validate_referral(
        valid(reporter_email="not-an-address", postcode="28", school_level="college",
              categories=["truancy", "astrology"], birth_date="2030-01-01"),
        categories=CATEGORIES, today=date(2026, 11, 24))
    assert set(errors) == {"reporter_email", "postcode", "school_level", "categories", "birth_date"}
    assert "4" in errors["postcode"]
    assert "truancy" in errors["categories"]


def test_age_or_birth_date_and_range():
    _c, errors = validate_referral(valid(birth_date=""), categories=CATEGORIES)
    assert "age" in errors
    clean, errors = validate_referral(valid(birth_date="", age="17"), categories=CATEGORIES)
    assert errors == {} and clean["age"] == 17
    _c, errors = validate_referral(valid(birth_date="", age="30"), categories=CATEGORIES)
    assert "25" in errors["age"]


def test_school_must_describe_what_when_and_result_but_others_need_not():
    empty = {"school_efforts": "", "school_efforts_when": "", "school_efforts_result": ""}
    _c, errors = validate_referral(valid(**empty), categories=CATEGORIES)
    assert set(errors) == set(empty)
    clean, errors = validate_referral(valid(**empty, reporter_is_school=False), categories=CATEGORIES)
    assert errors == {} and clean["school_efforts"] is None


def test_consent_is_required_and_none_needs_a_reason():
    _c, errors = validate_referral(valid(consent=""), categories=CATEGORIES)
    assert "consent" in errors
    _c, errors = validate_referral(valid(consent="none"), categories=CATEGORIES)
    assert set(errors) == {"consent_reason"}
    clean, errors = validate_referral(valid(consent="none", consent_reason="Ouders onbereikbaar"),
                                      categories=CATEGORIES)
    assert errors == {} and clean["consent_reason"] == "Ouders onbereikbaar"


def test_channel_is_set_by_the_entry_point_not_the_caller():
    _c, errors = validate_referral(valid(channel="phone"), categories=CATEGORIES)
    assert "channel" in errors
    clean, errors = validate_referral(valid(), categories=CATEGORIES, channel="phone")
    assert errors == {} and clean["channel"] == "phone"


def test_unknown_network_unknown_fields_and_limits():
    _c, errors = validate_referral(valid(network="gent", shoe_size="42", description="x" * 5001),
                                   categories=None)
    assert set(errors) == {"network", "shoe_size", "description"}
    assert "5000" in errors["description"]


def test_non_object_body():
    clean, errors = validate_referral(["a"], categories=CATEGORIES)
    assert clean is None and "_" in errors
