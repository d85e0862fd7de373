"""Validation of matching's RPC input. Bad input raises with every problem listed at once."""
from __future__ import annotations

import re

EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[A-Za-z]{2,}$")
POSTCODE = re.compile(r"^[1-9][0-9]{3}$")
KINDS = ("partner", "school", "clb")
SCHOOL_LEVELS = ("primary", "secondary", "special_needs", "higher", "none")
URGENCIES = ("normal", "urgent")
MIN_AGE, MAX_AGE = 0, 99
MAX_ID, MAX_NAME, MAX_CODE = 64, 200, 64


class InvalidDirectory(ValueError):
    """An import_directory call with bad entries; nothing was changed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("directory not imported, nothing changed: " + "; ".join(problems))


class InvalidRankRequest(ValueError):
    """A rank_offers request that cannot be ranked."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid rank request: " + "; ".join(problems))


def _text(value, limit: int) -> bool:
    return isinstance(value, str) and value.strip() != "" and len(value) <= limit


def _codes(value, *, allowed=None, pattern=None, required=False) -> bool:
    """A list of short non-empty strings (optionally from `allowed` / matching `pattern`)."""
    if not isinstance(value, list) or (required and not value):
        return False
    for item in value:
        if not _text(item, MAX_CODE):
            return False
        if allowed is not None and item not in allowed:
            return False
        if pattern is not None and not pattern.match(item):
            return False
    return True


def _int(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def validate_offer(offer, where: str) -> list[str]:
    if not isinstance(offer, dict):
        return [f"{where}: must be an object"]
    problems = []
    if not _text(offer.get("id"), MAX_ID):
        problems.append(f"{where}: id must be a non-empty string of at most {MAX_ID} characters")
    if not _text(offer.get("name"), MAX_NAME):
        problems.append(f"{where}: name must be a non-empty string of at most {MAX_NAME} characters")
    if not _codes(offer.get("categories"), required=True):
        problems.append(f"{where}: categories must be a non-empty list of codes")
    if not _codes(offer.get("postcodes", []), pattern=POSTCODE):
        problems.append(f"{where}: postcodes must be a list of 4-digit Belgian postcodes")
    if not _codes(offer.get("languages", [])):
        problems.append(f"{where}: languages must be a list of language codes")
    if not _codes(offer.get("school_levels", []), allowed=SCHOOL_LEVELS):
        problems.append(f"{where}: school_levels must be a list from {', '.join(SCHOOL_LEVELS)}")
    min_age, max_age = offer.get("min_age", MIN_AGE), offer.get("max_age", MAX_AGE)
    if not _int(min_age, MIN_AGE, MAX_AGE) or not _int(max_age, MIN_AGE, MAX_AGE):
        problems.append(f"{where}: min_age and max_age must be whole numbers from {MIN_AGE} to {MAX_AGE}")
    elif min_age > max_age:
        problems.append(f"{where}: min_age {min_age} is above max_age {max_age}")
    if not _int(offer.get("capacity", 0), 0, 100000):
        problems.append(f"{where}: capacity must be a whole number of free places, 0 or more")
    if not isinstance(offer.get("active", True), bool):
        problems.append(f"{where}: active must be true or false")
    return problems


def validate_directory(network, organisations) -> list[dict]:
    """Return the organisations with defaults filled in, or raise InvalidDirectory."""
    problems = []
    if not _text(network, MAX_CODE):
        problems.append("network must be a non-empty code")
    if not isinstance(organisations, list):
        raise InvalidDirectory(problems + ["organisations must be a list"])
    org_ids, offer_ids = set(), set()
    for i, org in enumerate(organisations):
        where = f"organisations[{i}]"
        if not isinstance(org, dict):
            problems.append(f"{where}: must be an object")
            continue
        if isinstance(org.get("id"), str):
            where = f"organisations[{i}] ({org['id'][:MAX_ID]})"
        if not _text(org.get("id"), MAX_ID):
            problems.append(f"{where}: id must be a non-empty string of at most {MAX_ID} characters")
        elif org["id"] in org_ids:
            problems.append(f"{where}: id appears twice")
        else:
            org_ids.add(org["id"])
        if not _text(org.get("name"), MAX_NAME):
            problems.append(f"{where}: name must be a non-empty string of at most {MAX_NAME} characters")
        if org.get("kind") not in KINDS:
            problems.append(f"{where}: kind must be one of {', '.join(KINDS)}")
        if not (isinstance(org.get("email"), str) and len(org["email"]) <= 254
                and EMAIL.match(org["email"])):
            problems.append(f"{where}: email is not a valid e-mail address")
        if not isinstance(org.get("active", True), bool):
            problems.append(f"{where}: active must be true or false")
        offers = org.get("offers", [])
        if not isinstance(offers, list):
            problems.append(f"{where}: offers must be a list")
            continue
        for j, offer in enumerate(offers):
            offer_where = f"{where}.offers[{j}]"
            offer_problems = validate_offer(offer, offer_where)
            problems.extend(offer_problems)
            if not offer_problems:
                if offer["id"] in offer_ids:
                    problems.append(f"{offer_where}: offer id {offer['id']} appears twice")
                offer_ids.add(offer["id"])
    if problems:
        raise InvalidDirectory(problems)
    return [
        {
            "id": org["id"].strip(), "name": org["name"].strip(), "kind": org["kind"],
            "email": org["email"].strip(), "active": org.get("active", True),
            "offers": [
                {
                    "id": offer["id"].strip(), "name": offer["name"].strip(),
                    "categories": list(offer["categories"]),
                    "postcodes": list(offer.get("postcodes", [])),
                    "languages": [lang.lower() for lang in offer.get("languages", [])],
                    "min_age": offer.get("min_age", MIN_AGE), "max_age": offer.get("max_age", MAX_AGE),
                    "school_levels": list(offer.get("school_levels", [])),
                    "capacity": offer.get("capacity", 0), "active": offer.get("active", True),
                }
                for offer in org.get("offers", [])
            ],
        }
        for org in organisations
    ]


def validate_rank_request(request) -> dict:
    """Return the request with defaults filled in, or raise InvalidRankRequest."""
    if not isinstance(request, dict):
        raise InvalidRankRequest(["request must be an object"])
    problems = []
    if not _text(request.get("network"), MAX_CODE):
        problems.append("network must be a non-empty code")
    if not _codes(request.get("categories"), required=True):
        problems.append("categories must be a non-empty list of codes")
    postcode = request.get("postcode")
    if postcode is not None and not (isinstance(postcode, str) and POSTCODE.match(postcode)):
        problems.append("postcode must be a 4-digit Belgian postcode or null")
    age = request.get("age")
    if age is not None and not _int(age, MIN_AGE, MAX_AGE):
        problems.append(f"age must be a whole number from {MIN_AGE} to {MAX_AGE} or null")
    level = request.get("school_level")
    if level is not None and level not in SCHOOL_LEVELS:
        problems.append(f"school_level must be one of {', '.join(SCHOOL_LEVELS)} or null")
    if not _codes(request.get("languages", [])):
        problems.append("languages must be a list of language codes")
    if request.get("urgency", "normal") not in URGENCIES:
        problems.append(f"urgency must be one of {', '.join(URGENCIES)}")
    exclude = request.get("exclude_organisation_ids", [])
    if not isinstance(exclude, list) or not all(isinstance(x, str) for x in exclude):
        problems.append("exclude_organisation_ids must be a list of organisation ids")
    if problems:
        raise InvalidRankRequest(problems)
    return {
        "network": request["network"], "categories": list(request["categories"]),
        "postcode": postcode, "age": age, "school_level": level,
        "languages": [lang.lower() for lang in request.get("languages", [])],
        "urgency": request.get("urgency", "normal"),
        "exclude_organisation_ids": list(exclude),
    }
