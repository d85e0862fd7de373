"""Validation of a submitted referral (form and API share it). Returns clean data or a dict of
field -> message (Dutch / English from the catalogue); never raises on bad input."""
from __future__ import annotations

import re
from datetime import date

from netsterk.i18n import both

EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[A-Za-z]{2,}$")
POSTCODE = re.compile(r"^[1-9][0-9]{3}$")
SCHOOL_LEVELS = ("primary", "secondary", "special_needs", "higher", "none")
URGENCIES = ("normal", "urgent")
CHANNELS = ("web", "api", "phone", "email", "direct")
CONSENTS = ("parents", "young_person", "both", "none")
LANGS = ("nl", "en")
MIN_AGE, MAX_AGE = 6, 25
MAX_BODY_BYTES = 64 * 1024

# field -> (required, max length)
TEXT_FIELDS = {
    "network": (True, 64),
    "reporter_name": (True, 200),
    "reporter_organisation": (True, 200),
    "reporter_role": (True, 100),
    "reporter_email": (True, 254),
    "reporter_phone": (False, 32),
    "school_email": (False, 254),
    "first_name": (True, 100),
    "last_name": (True, 100),
    "birth_date": (False, 10),
    "school": (False, 200),
    "grade": (False, 50),
    "school_level": (True, 16),
    "postcode": (True, 4),
    "neighbourhood": (False, 100),
    "description": (True, 5000),
    "school_efforts": (False, 5000),
    "school_efforts_when": (False, 500),
    "school_efforts_result": (False, 2000),
    "consent": (True, 16),
    "consent_reason": (False, 1000),
    "expectations": (False, 2000),
    "urgency": (False, 8),
    "lang": (False, 2),
}
SCHOOL_EFFORT_FIELDS = ("school_efforts", "school_efforts_when", "school_efforts_result")
LIST_FIELDS = {"categories": 12, "languages": 10}


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return str(value).strip()


def _as_list(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)):
        return [str(value)]
    # a form's text field ("nl, ar") arrives as a list of one: split every item
    return [part.strip() for v in value for part in str(v).split(",") if part.strip()]


def _as_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return _as_text(value).lower() in ("1", "true", "yes", "on", "ja")


def _age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def validate_referral(data: dict, *, categories: list[str] | None, today: date | None = None,
                      channel: str = "web"):
    """`categories` are the network's allowed concern categories (None: network unknown);
    `channel` is set by the entry point (web, api, phone, email, direct), never by the caller."""
    today = today or date.today()
    errors: dict[str, str] = {}
    clean: dict = {}
    if not isinstance(data, dict):
        return None, {"_": both("intake.body_not_object")}
    unknown = sorted(set(data) - set(TEXT_FIELDS) - set(LIST_FIELDS) - {"age", "reporter_is_school"})
    for key in unknown[:20]:
        errors[str(key)[:64]] = both("intake.unknown_field")

    for field, (required, max_len) in TEXT_FIELDS.items():
        value = _as_text(data.get(field))
        if required and not value:
            errors[field] = both("field.required")
        elif len(value) > max_len:
            errors[field] = both("field.too_long", max=max_len)
        clean[field] = value or None

    for field, max_items in LIST_FIELDS.items():
        items = _as_list(data.get(field))
        if len(items) > max_items or any(len(i) > 64 for i in items):
            errors[field] = both("intake.too_many_items", max=max_items)
        clean[field] = list(dict.fromkeys(items))

    for field in ("reporter_email", "school_email"):
        if clean.get(field) and field not in errors and not EMAIL.match(clean[field]):
            errors[field] = both("field.invalid_email")
    if clean["postcode"] and "postcode" not in errors and not POSTCODE.match(clean["postcode"]):
        errors["postcode"] = both("field.invalid_postcode")
    for field, choices in (("school_level", SCHOOL_LEVELS), ("urgency", URGENCIES), ("lang", LANGS),
                           ("consent", CONSENTS)):
        if clean[field] and field not in errors and clean[field] not in choices:
            errors[field] = both("field.invalid_choice", choices=", ".join(choices))
    clean["urgency"] = clean["urgency"] or "normal"
    clean["lang"] = clean["lang"] or "nl"

    # age: from the birth date when given, else the age field; 6 to 25
    age = None
    if clean["birth_date"] and "birth_date" not in errors:
        try:
            birth = date.fromisoformat(clean["birth_date"])
            age = _age_on(birth, today)
        except ValueError:
            errors["birth_date"] = both("intake.invalid_date")
    raw_age = _as_text(data.get("age"))
    if age is None and "birth_date" not in errors:
        if not raw_age:
            errors["age"] = both("intake.age_or_birth_date")
        else:
            try:
                age = int(raw_age)
            except ValueError:
                errors["age"] = both("field.invalid_number", min=MIN_AGE, max=MAX_AGE)
    if age is not None and not MIN_AGE <= age <= MAX_AGE:
        errors["birth_date" if clean["birth_date"] else "age"] = both(
            "field.invalid_number", min=MIN_AGE, max=MAX_AGE)
    clean["age"] = age

    if categories is None:
        if "network" not in errors:
            errors["network"] = both("intake.unknown_network")
    elif not clean["categories"]:
        errors.setdefault("categories", both("intake.categories_required"))
    elif "categories" not in errors:
        wrong = [c for c in clean["categories"] if c not in categories]
        if wrong:
            errors["categories"] = both("field.invalid_choice", choices=", ".join(categories))

    clean["reporter_is_school"] = _as_bool(data.get("reporter_is_school"))
    if clean["reporter_is_school"]:   # what was tried, when, with what result
        for field in SCHOOL_EFFORT_FIELDS:
            if not clean[field] and field not in errors:
                errors[field] = both("intake.school_efforts_required")
    if clean["consent"] == "none" and not clean["consent_reason"] and "consent_reason" not in errors:
        errors["consent_reason"] = both("intake.consent_reason_required")

    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    clean["channel"] = channel
    return (None, errors) if errors else (clean, {})
