"""Validation of matching's input (RPC, imports, portal forms). Bad input raises with every
problem listed at once; nothing is half-applied."""
from __future__ import annotations

import re
from datetime import date

EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[A-Za-z]{2,}$")
POSTCODE = re.compile(r"^[1-9][0-9]{3}$")
PHONE = re.compile(r"^\+?[0-9][0-9 ./()-]{5,30}$")
CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
KINDS = ("partner", "school", "clb")
SCHOOL_LEVELS = ("primary", "secondary", "special_needs", "higher", "none")
URGENCIES = ("normal", "urgent")
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
PERIODS = ("week", "month", "quarter")
ENGAGEMENT_STATUSES = ("proposed", "accepted", "declined", "ended")
DECLINE_REASONS = ("no_capacity", "outside_area", "not_our_expertise", "family_unreachable", "other")
MIN_AGE, MAX_AGE = 0, 99
MAX_ID, MAX_NAME, MAX_CODE, MAX_TEXT = 64, 200, 64, 2000
MAX_KEY = 64


class InvalidDirectory(ValueError):
    """An import with bad entries; nothing was changed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("directory not imported, nothing changed: " + "; ".join(problems))


class InvalidRankRequest(ValueError):
    """A rank_offers request that cannot be ranked."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid rank request: " + "; ".join(problems))


class InvalidRules(ValueError):
    """Ranking rules that cannot be used; the old rules stay."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("rules not changed: " + "; ".join(problems))


def _text(value, limit: int) -> bool:
    return isinstance(value, str) and value.strip() != "" and len(value) <= limit


def _optional_text(value, limit: int) -> bool:
    return value is None or (isinstance(value, str) and len(value) <= limit)


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


def parse_date(value) -> date | None:
    """An ISO date (YYYY-MM-DD) or None; ValueError otherwise."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        raise ValueError(value)
    return date.fromisoformat(value)


def validate_hours(hours, where: str) -> list[str]:
    """Opening hours: [{days: ["MO", ...], opens: "HH:MM", closes: "HH:MM"}]."""
    if not isinstance(hours, list):
        return [f"{where}: opening_hours must be a list of {{days, opens, closes}}"]
    problems = []
    for k, slot in enumerate(hours):
        at = f"{where}.opening_hours[{k}]"
        if not isinstance(slot, dict):
            problems.append(f"{at}: must be an object with days, opens, closes")
            continue
        if not _codes(slot.get("days"), allowed=DAYS, required=True):
            problems.append(f"{at}: days must be a non-empty list from {', '.join(DAYS)}")
        opens, closes = slot.get("opens"), slot.get("closes")
        if not (isinstance(opens, str) and CLOCK.match(opens) and isinstance(closes, str)
                and CLOCK.match(closes)):
            problems.append(f"{at}: opens and closes must be times HH:MM")
        elif opens >= closes:
            problems.append(f"{at}: opens {opens} is not before closes {closes}")
    return problems


def validate_staff(person, where: str, offer_ids: set[str]) -> list[str]:
    if not isinstance(person, dict):
        return [f"{where}: must be an object"]
    problems = []
    if not _text(person.get("id"), MAX_ID):
        problems.append(f"{where}: id must be a non-empty string of at most {MAX_ID} characters")
    if not _text(person.get("name"), MAX_NAME):
        problems.append(f"{where}: name must be a non-empty string of at most {MAX_NAME} characters")
    phone, email = person.get("phone"), person.get("email")
    if phone not in (None, "") and not (isinstance(phone, str) and PHONE.match(phone)):
        problems.append(f"{where}: phone is not a phone number")
    if email not in (None, "") and not (isinstance(email, str) and len(email) <= 254 and EMAIL.match(email)):
        problems.append(f"{where}: email is not a valid e-mail address")
    if phone in (None, "") and email in (None, ""):
        problems.append(f"{where}: give a phone number or an e-mail address")
    if not _codes(person.get("languages", [])):
        problems.append(f"{where}: languages must be a list of language codes")
    staff_offers = person.get("offer_ids", [])
    if not _codes(staff_offers):
        problems.append(f"{where}: offer_ids must be a list of offer ids")
    else:
        unknown = [o for o in staff_offers if o not in offer_ids]
        if unknown:
            problems.append(f"{where}: offer_ids names offers this organisation does not list: "
                            + ", ".join(unknown))
    if not isinstance(person.get("active", True), bool):
        problems.append(f"{where}: active must be true or false")
    return problems


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
    if not _codes(offer.get("neighbourhoods", [])):
        problems.append(f"{where}: neighbourhoods must be a list of names")
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
        problems.append(f"{where}: capacity must be a whole number of new engagements per period, 0 or more")
    if offer.get("capacity_period", "month") not in PERIODS:
        problems.append(f"{where}: capacity_period must be one of {', '.join(PERIODS)}")
    if not _int(offer.get("waiting_list", 0), 0, 100000):
        problems.append(f"{where}: waiting_list must be a whole number, 0 or more")
    if not isinstance(offer.get("active", True), bool):
        problems.append(f"{where}: active must be true or false")
    for key in ("description", "how_to_reach"):
        if not _optional_text(offer.get(key), MAX_TEXT):
            problems.append(f"{where}: {key} must be text of at most {MAX_TEXT} characters")
    problems.extend(validate_hours(offer.get("opening_hours", []), where))
    try:
        parse_date(offer.get("last_confirmed"))
    except ValueError:
        problems.append(f"{where}: last_confirmed must be a date YYYY-MM-DD")
    return problems


def validate_organisation(org, where: str) -> list[str]:
    """Problems of one organisation entry (with its offers and staff)."""
    if not isinstance(org, dict):
        return [f"{where}: must be an object"]
    problems = []
    if not _text(org.get("id"), MAX_ID):
        problems.append(f"{where}: id must be a non-empty string of at most {MAX_ID} characters")
    if not _text(org.get("name"), MAX_NAME):
        problems.append(f"{where}: name must be a non-empty string of at most {MAX_NAME} characters")
    if org.get("kind") not in KINDS:
        problems.append(f"{where}: kind must be one of {', '.join(KINDS)}")
    if not (isinstance(org.get("email"), str) and len(org["email"]) <= 254 and EMAIL.match(org["email"])):
        problems.append(f"{where}: email is not a valid e-mail address")
    if not isinstance(org.get("active", True), bool):
        problems.append(f"{where}: active must be true or false")
    phone = org.get("phone")
    if phone not in (None, "") and not (isinstance(phone, str) and PHONE.match(phone)):
        problems.append(f"{where}: phone is not a phone number")
    for key, limit in (("description", MAX_TEXT), ("how_to_reach", MAX_TEXT), ("website", 254)):
        if not _optional_text(org.get(key), limit):
            problems.append(f"{where}: {key} must be text of at most {limit} characters")
    try:
        parse_date(org.get("last_confirmed"))
    except ValueError:
        problems.append(f"{where}: last_confirmed must be a date YYYY-MM-DD")
    offers = org.get("offers", [])
    offer_ids: set[str] = set()
    if not isinstance(offers, list):
        problems.append(f"{where}: offers must be a list")
    else:
        for j, offer in enumerate(offers):
            offer_where = f"{where}.offers[{j}]"
            offer_problems = validate_offer(offer, offer_where)
            problems.extend(offer_problems)
            if not offer_problems:
                if offer["id"] in offer_ids:
                    problems.append(f"{offer_where}: offer id {offer['id']} appears twice")
                offer_ids.add(offer["id"])
    staff = org.get("staff", [])
    if not isinstance(staff, list):
        problems.append(f"{where}: staff must be a list")
    else:
        staff_ids = set()
        for j, person in enumerate(staff):
            staff_where = f"{where}.staff[{j}]"
            problems.extend(validate_staff(person, staff_where, offer_ids))
            if isinstance(person, dict) and isinstance(person.get("id"), str):
                if person["id"] in staff_ids:
                    problems.append(f"{staff_where}: staff id {person['id']} appears twice")
                staff_ids.add(person["id"])
    return problems


def clean_offer(offer: dict) -> dict:
    return {
        "id": offer["id"].strip(), "name": offer["name"].strip(),
        "categories": list(offer["categories"]),
        "postcodes": list(offer.get("postcodes", [])),
        "neighbourhoods": [n.strip() for n in offer.get("neighbourhoods", [])],
        "languages": [lang.lower() for lang in offer.get("languages", [])],
        "min_age": offer.get("min_age", MIN_AGE), "max_age": offer.get("max_age", MAX_AGE),
        "school_levels": list(offer.get("school_levels", [])),
        "capacity": offer.get("capacity", 0),
        "capacity_period": offer.get("capacity_period", "month"),
        "waiting_list": offer.get("waiting_list", 0),
        "active": offer.get("active", True),
        "description": (offer.get("description") or "").strip(),
        "how_to_reach": (offer.get("how_to_reach") or "").strip(),
        "opening_hours": [{"days": list(s["days"]), "opens": s["opens"], "closes": s["closes"]}
                          for s in offer.get("opening_hours", [])],
        "last_confirmed": parse_date(offer.get("last_confirmed")),
    }


def clean_organisation(org: dict) -> dict:
    return {
        "id": org["id"].strip(), "name": org["name"].strip(), "kind": org["kind"],
        "email": org["email"].strip(), "active": org.get("active", True),
        "description": (org.get("description") or "").strip(),
        "phone": (org.get("phone") or "").strip() or None,
        "website": (org.get("website") or "").strip() or None,
        "how_to_reach": (org.get("how_to_reach") or "").strip(),
        "last_confirmed": parse_date(org.get("last_confirmed")),
        "offers": [clean_offer(offer) for offer in org.get("offers", [])],
        "staff": [
            {"id": p["id"].strip(), "name": p["name"].strip(),
             "phone": (p.get("phone") or "").strip() or None,
             "email": (p.get("email") or "").strip() or None,
             "languages": [lang.lower() for lang in p.get("languages", [])],
             "offer_ids": list(p.get("offer_ids", [])), "active": p.get("active", True)}
            for p in org.get("staff", [])
        ],
    }


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
        if isinstance(org, dict) and isinstance(org.get("id"), str):
            where = f"organisations[{i}] ({org['id'][:MAX_ID]})"
        org_problems = validate_organisation(org, where)
        problems.extend(org_problems)
        if not isinstance(org, dict):
            continue
        if _text(org.get("id"), MAX_ID):
            if org["id"] in org_ids:
                problems.append(f"{where}: id appears twice")
            org_ids.add(org["id"])
        for j, offer in enumerate(org.get("offers", []) if isinstance(org.get("offers"), list) else []):
            if isinstance(offer, dict) and _text(offer.get("id"), MAX_ID):
                if offer["id"] in offer_ids and not any("appears twice" in p and f"offers[{j}]" in p
                                                        for p in org_problems):
                    problems.append(f"{where}.offers[{j}]: offer id {offer['id']} appears twice")
                offer_ids.add(offer["id"])
    if problems:
        raise InvalidDirectory(problems)
    return [clean_organisation(org) for org in organisations]


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
    for key in ("referral_id", "person_key", "household_key"):
        if request.get(key) is not None and not _text(request.get(key), MAX_KEY):
            problems.append(f"{key} must be a non-empty string of at most {MAX_KEY} characters or null")
    neighbourhood = request.get("neighbourhood")
    if neighbourhood is not None and not _text(neighbourhood, 100):
        problems.append("neighbourhood must be a name or null")
    if request.get("lang", "nl") not in ("nl", "en"):
        problems.append("lang must be nl or en")
    if problems:
        raise InvalidRankRequest(problems)
    return {
        "network": request["network"], "categories": list(request["categories"]),
        "postcode": postcode, "age": age, "school_level": level,
        "languages": [lang.lower() for lang in request.get("languages", [])],
        "urgency": request.get("urgency", "normal"),
        "exclude_organisation_ids": list(exclude),
        "referral_id": request.get("referral_id"),
        "person_key": request.get("person_key"),
        "household_key": request.get("household_key"),
        "neighbourhood": neighbourhood.strip() if neighbourhood else None,
        "lang": request.get("lang", "nl"),
    }


# --- ranking rules (data per network) -------------------------------------------------------

CRITERIA = ("categories", "service_area", "age", "school_level", "languages", "capacity", "load")
HARD_RULES = ("service_area", "age", "school_level", "languages", "capacity")
DEFAULT_RULES = {
    "weights": {"categories": 40, "service_area": 20, "age": 15, "school_level": 10,
                "languages": 10, "capacity": 5, "load": 5},
    "urgent_capacity_weight": 15,
    "required": [],            # criteria an offer must meet to be a candidate at all
    "min_score": 0,
    "max_candidates": 10,
}


def validate_rules(rules) -> dict:
    """Complete rules (defaults for what is missing), or raise InvalidRules."""
    if not isinstance(rules, dict):
        raise InvalidRules(["rules must be an object"])
    problems = []
    unknown = sorted(set(rules) - set(DEFAULT_RULES))
    if unknown:
        problems.append(f"unknown rule(s): {', '.join(unknown)}")
    weights = rules.get("weights", DEFAULT_RULES["weights"])
    if not isinstance(weights, dict):
        problems.append("weights must be an object of criterion: points")
        weights = {}
    else:
        for name in sorted(set(weights) - set(CRITERIA)):
            problems.append(f"weights: unknown criterion {name}")
        for name, value in weights.items():
            if name in CRITERIA and not _int(value, 0, 100):
                problems.append(f"weights.{name} must be a whole number from 0 to 100")
    merged = dict(DEFAULT_RULES["weights"], **{k: v for k, v in weights.items() if k in CRITERIA})
    if not problems and merged.get("categories", 0) <= 0:
        problems.append("weights.categories must be above 0: concerns are what an offer is for")
    if not _int(rules.get("urgent_capacity_weight", DEFAULT_RULES["urgent_capacity_weight"]), 0, 100):
        problems.append("urgent_capacity_weight must be a whole number from 0 to 100")
    required = rules.get("required", [])
    if not isinstance(required, list) or not all(r in HARD_RULES for r in required):
        problems.append(f"required must be a list from {', '.join(HARD_RULES)}")
    if not _int(rules.get("min_score", 0), 0, 100):
        problems.append("min_score must be a whole number from 0 to 100")
    if not _int(rules.get("max_candidates", 10), 1, 100):
        problems.append("max_candidates must be a whole number from 1 to 100")
    if problems:
        raise InvalidRules(problems)
    return {"weights": merged,
            "urgent_capacity_weight": rules.get("urgent_capacity_weight",
                                                DEFAULT_RULES["urgent_capacity_weight"]),
            "required": list(dict.fromkeys(required)),
            "min_score": rules.get("min_score", 0),
            "max_candidates": rules.get("max_candidates", 10)}


def validate_engagement(payload) -> dict:
    """An engagement_changed payload (docs/contracts.md); ValueError names what is wrong."""
    if not isinstance(payload, dict):
        raise ValueError("payload must be an object")
    problems = [f"{key} must be a non-empty string" for key in
                ("referral_id", "network", "offer_id", "at") if not _text(payload.get(key), MAX_KEY)]
    if not (payload.get("organisation_id") is None or isinstance(payload["organisation_id"], str)):
        problems.append("organisation_id must be a string or null")
    if payload.get("status") not in ENGAGEMENT_STATUSES:
        problems.append(f"status must be one of {', '.join(ENGAGEMENT_STATUSES)}")
    reason = payload.get("reason_code")
    if reason is not None and reason not in DECLINE_REASONS:
        problems.append(f"reason_code must be one of {', '.join(DECLINE_REASONS)} or null")
    if problems:
        raise ValueError("invalid engagement_changed payload: " + "; ".join(problems))
    return payload
