"""Ranking of offers for one referral (DESIGN §5). Pure: plain dicts in, plain dicts out.

Each criterion gives points when it matches; a criterion the request says nothing about (no
postcode, age, level or languages given) counts neither way. Offers that share no concern
category with the request are not candidates. An urgent request weighs free capacity more.
"""
from __future__ import annotations

from netsterk.catalogue import CATALOGUE
from netsterk.i18n import t

CRITERIA = ("categories", "service_area", "age", "school_level", "languages", "capacity")
WEIGHTS = {"categories": 40, "service_area": 20, "age": 15, "school_level": 10,
           "languages": 10, "capacity": 5}
URGENT_CAPACITY_WEIGHT = 15


def category_label(code: str, lang: str) -> str:
    key = f"category.{code}"
    return t(key, lang) if key in CATALOGUE else code


def evaluate(request: dict, offer: dict) -> dict | None:
    """Score one offer: None when it is no candidate, else the candidate dict (contracts.md)."""
    shared = [c for c in request["categories"] if c in offer["categories"]]
    if not shared:
        return None
    weights = dict(WEIGHTS)
    if request.get("urgency") == "urgent":
        weights["capacity"] = URGENT_CAPACITY_WEIGHT
    outcome: dict[str, bool] = {}
    points = weights["categories"] * len(shared) / len(request["categories"])
    outcome["categories"] = True
    if request.get("postcode") is not None:
        outcome["service_area"] = not offer["postcodes"] or request["postcode"] in offer["postcodes"]
    if request.get("age") is not None:
        outcome["age"] = offer["min_age"] <= request["age"] <= offer["max_age"]
    if request.get("school_level") is not None:
        outcome["school_level"] = (not offer["school_levels"]
                                   or request["school_level"] in offer["school_levels"])
    if request.get("languages"):
        outcome["languages"] = bool(set(request["languages"]) & set(offer["languages"]))
    outcome["capacity"] = offer["capacity"] > 0
    points += sum(weights[name] for name, ok in outcome.items() if ok and name != "categories")
    total = sum(weights.values())
    matched = [name for name in CRITERIA if outcome.get(name) is True]
    unmatched = [name for name in CRITERIA if outcome.get(name) is False]
    return {
        "offer_id": offer["offer_id"],
        "offer_name": offer["offer_name"],
        "organisation_id": offer["organisation_id"],
        "organisation_name": offer["organisation_name"],
        "contact_email": offer["contact_email"],
        "score": round(100 * points / total, 1),
        "matched": matched,
        "unmatched": unmatched,
        "explanation": explain(matched, unmatched, shared, len(request["categories"])),
        "_capacity": offer["capacity"],
    }


def explain(matched: list[str], unmatched: list[str], shared: list[str], wanted: int,
            lang: str = "nl") -> str:
    def label(name: str) -> str:
        if name == "categories":
            return t("matching.criterion.categories", lang,
                     shared=", ".join(category_label(c, lang) for c in shared),
                     count=len(shared), wanted=wanted)
        return t(f"matching.criterion.{name}", lang)

    matched_text = ", ".join(label(name) for name in matched)
    if not unmatched:
        return t("matching.explanation.all", lang, matched=matched_text)
    return t("matching.explanation", lang, matched=matched_text,
             unmatched=", ".join(label(name) for name in unmatched))


def rank(request: dict, offers: list[dict]) -> list[dict]:
    """Candidates best first: score, then most free places, then name (stable and explainable)."""
    excluded = set(request.get("exclude_organisation_ids") or [])
    candidates = []
    for offer in offers:
        if offer["organisation_id"] in excluded:
            continue
        candidate = evaluate(request, offer)
        if candidate is not None:
            candidates.append(candidate)
    candidates.sort(key=lambda c: (-c["score"], -c["_capacity"], c["organisation_name"], c["offer_id"]))
    for candidate in candidates:
        del candidate["_capacity"]
    return candidates
