"""Ranking of offers for one referral (DESIGN §5). Pure: plain data in, plain dicts out.

Criteria: concern categories, service area (postcode or neighbourhood), age, school level,
languages at home (offer and staff languages), free capacity this period and current load; an
urgent request weighs free capacity more. A criterion the request says nothing about (no
postcode, age, level, languages) counts neither way: it is left out of the score's maximum.
Offers sharing no concern category are no candidates; neither are offers that fail a criterion
the network made required, nor excluded organisations.

Speed: `build_index` prepares a network's offers once (sets, a category index); `rank` scores
only offers that share a category with a cheap loop, and writes explanations only for the
candidates it returns.
"""
from __future__ import annotations

import heapq
from collections import Counter

from netsterk.catalogue import CATALOGUE
from netsterk.i18n import t
from services.matching.schemas import CRITERIA, DEFAULT_RULES

# why a need became a gap, from the criterion that kept offers out
GAP_REASON_OF = {"service_area": "outside_area", "age": "age", "school_level": "school_level",
                 "languages": "languages", "capacity": "no_capacity", "load": "no_capacity",
                 "categories": "no_offer"}


def label(prefix: str, code: str, lang: str) -> str:
    key = f"{prefix}.{code}"
    return t(key, lang) if key in CATALOGUE else code


def category_label(code: str, lang: str) -> str:
    return label("category", code, lang)


def build_index(offers: list[dict]) -> dict:
    """Prepare offer views (domain.offer_view) for fast ranking; only active offers count."""
    prepared, by_category = [], {}
    for offer in offers:
        if not offer.get("active", True):
            continue
        item = dict(offer)
        item["_cats"] = frozenset(offer["categories"])
        item["_postcodes"] = frozenset(offer["postcodes"])
        item["_hoods"] = frozenset(n.lower() for n in offer.get("neighbourhoods", []))
        item["_langs"] = frozenset(offer["languages"]) | frozenset(offer.get("staff_languages", []))
        item["_levels"] = frozenset(offer["school_levels"])
        position = len(prepared)
        prepared.append(item)
        for category in item["_cats"]:
            by_category.setdefault(category, []).append(position)
    return {"offers": prepared, "by_category": by_category}


def _weights(request: dict, rules: dict) -> dict:
    weights = dict(rules["weights"])
    if request.get("urgency") == "urgent":
        weights["capacity"] = rules["urgent_capacity_weight"]
    return weights


def _outcomes(request: dict, offer: dict) -> dict:
    """criterion -> True/False for every criterion the request lets us judge (not categories)."""
    out = {}
    postcode, hood = request.get("postcode"), request.get("neighbourhood")
    if postcode is not None or hood:
        everywhere = not offer["_postcodes"] and not offer["_hoods"]
        out["service_area"] = (everywhere or (postcode is not None and postcode in offer["_postcodes"])
                               or (bool(hood) and hood.lower() in offer["_hoods"]))
    age = request.get("age")
    if age is not None:
        out["age"] = offer["min_age"] <= age <= offer["max_age"]
    level = request.get("school_level")
    if level is not None:
        out["school_level"] = not offer["_levels"] or level in offer["_levels"]
    if request.get("languages"):
        out["languages"] = not offer["_langs"].isdisjoint(request["languages"])
    out["capacity"] = offer["free_places"] > 0
    out["load"] = offer["load"] < max(offer["capacity"], 1)
    return out


def _load_share(offer: dict) -> float:
    return max(0.0, 1.0 - offer["load"] / max(offer["capacity"], 1))


def _score(request: dict, offer: dict, weights: dict, required, wanted: int):
    """(score 0..100, failed required criterion or None, outcomes)."""
    shared = len(offer["_cats"].intersection(request["categories"]))
    outcomes = _outcomes(request, offer)
    for name in required:
        if outcomes.get(name) is False:
            return 0.0, name, outcomes
    points = weights["categories"] * shared / wanted
    total = weights["categories"]
    for name, ok in outcomes.items():
        weight = weights[name]
        total += weight
        if name == "load":
            points += weight * _load_share(offer)
        elif ok:
            points += weight
    return (100.0 * points / total if total else 0.0), None, outcomes


def rank(request: dict, index: dict, rules: dict | None = None, *,
         excluded: dict[str, str] | None = None) -> tuple[list[dict], dict]:
    """Candidates best first (at most rules.max_candidates), and a diagnosis of what kept
    offers out: {"considered": n, "excluded": Counter(reason), "failed": Counter(criterion)}."""
    rules = rules or DEFAULT_RULES
    excluded = excluded or {}
    weights = _weights(request, rules)
    required = rules["required"]
    wanted = len(request["categories"])
    offers = index["offers"]
    positions = set()
    for category in request["categories"]:
        positions.update(index["by_category"].get(category, ()))
    diagnosis = {"considered": len(positions), "excluded": Counter(), "failed": Counter()}
    scored = []
    for position in positions:
        offer = offers[position]
        reason = excluded.get(offer["organisation_id"])
        if reason is not None:
            diagnosis["excluded"][reason] += 1
            continue
        score, failed, outcomes = _score(request, offer, weights, required, wanted)
        if failed is not None:
            diagnosis["failed"][failed] += 1
            continue
        if score < rules["min_score"]:
            for name, ok in outcomes.items():
                if not ok:
                    diagnosis["failed"][name] += 1
            continue
        scored.append((-round(score, 1), -offer["free_places"], offer["load"],
                       offer["organisation_name"], offer["offer_id"], position))
    best = heapq.nsmallest(rules["max_candidates"], scored)
    candidates = []
    previous = None
    for number, entry in enumerate(best, start=1):
        candidate = describe(request, offers[entry[-1]], weights, number, previous)
        candidates.append(candidate)
        previous = candidate
    return candidates, diagnosis


def gap_reason(diagnosis: dict) -> str:
    """The reason code of a gap (docs/contracts.md `matching.gap_recorded`)."""
    if diagnosis["considered"] == 0:
        return "no_offer"
    if diagnosis["failed"]:
        criterion = diagnosis["failed"].most_common(1)[0][0]
        return GAP_REASON_OF.get(criterion, "no_offer")
    if diagnosis["excluded"]:
        return diagnosis["excluded"].most_common(1)[0][0]
    return "no_offer"


# --- explanations ---------------------------------------------------------------------------

def _period(offer: dict, lang: str) -> str:
    return t(f"matching.period.{offer.get('capacity_period', 'month')}", lang)


def _place(request: dict) -> str:
    return request.get("neighbourhood") or request.get("postcode") or ""


def reason_text(name: str, ok: bool, request: dict, offer: dict, lang: str) -> str:
    if name == "categories":
        shared = [c for c in request["categories"] if c in offer["_cats"]]
        return t("matching.reason.categories", lang,
                 shared=", ".join(category_label(c, lang) for c in shared),
                 count=len(shared), wanted=len(request["categories"]))
    if name == "service_area":
        if not ok:
            return t("matching.reason.service_area.no", lang, place=_place(request))
        if not offer["_postcodes"] and not offer["_hoods"]:
            return t("matching.reason.service_area.everywhere", lang)
        hood = request.get("neighbourhood")
        if hood and hood.lower() in offer["_hoods"]:
            return t("matching.reason.service_area.neighbourhood", lang, neighbourhood=hood)
        return t("matching.reason.service_area.postcode", lang, postcode=request.get("postcode"))
    if name == "age":
        return t(f"matching.reason.age.{'ok' if ok else 'no'}", lang, age=request["age"],
                 min=offer["min_age"], max=offer["max_age"])
    if name == "school_level":
        return t(f"matching.reason.school_level.{'ok' if ok else 'no'}", lang,
                 level=label("level", request["school_level"], lang))
    if name == "languages":
        wanted = [code for code in request["languages"] if code in offer["_langs"]] if ok \
            else request["languages"]
        names = ", ".join(label("language", code, lang) for code in wanted)
        staff_only = ok and not set(wanted) & set(offer["languages"])
        key = "matching.reason.languages.staff" if staff_only else \
            f"matching.reason.languages.{'ok' if ok else 'no'}"
        return t(key, lang, languages=names)
    if name == "capacity":
        if ok:
            return t("matching.reason.capacity.ok", lang, free=offer["free_places"],
                     capacity=offer["capacity"], period=_period(offer, lang))
        if offer.get("waiting_list"):
            return t("matching.reason.capacity.waiting", lang, period=_period(offer, lang),
                     waiting=offer["waiting_list"])
        return t("matching.reason.capacity.no", lang, period=_period(offer, lang))
    return t(f"matching.reason.load.{'ok' if ok else 'no'}", lang, load=offer["load"],
             capacity=offer["capacity"], period=_period(offer, lang))


def describe(request: dict, offer: dict, weights: dict, number: int, previous: dict | None) -> dict:
    """The candidate dict of docs/contracts.md, with reasons in words and why it ranks here."""
    lang = request.get("lang", "nl")
    wanted = len(request["categories"])
    score, _failed, outcomes = _score(request, offer, weights, (), wanted)
    shared = len(offer["_cats"].intersection(request["categories"]))
    reasons = [{"criterion": "categories", "ok": True,
                "points": round(weights["categories"] * shared / wanted, 1),
                "max_points": weights["categories"],
                "text": reason_text("categories", True, request, offer, lang)}]
    for name in CRITERIA[1:]:
        if name not in outcomes:
            continue
        ok = outcomes[name]
        points = weights[name] * _load_share(offer) if name == "load" else (weights[name] if ok else 0)
        reasons.append({"criterion": name, "ok": ok, "points": round(points, 1),
                        "max_points": weights[name],
                        "text": reason_text(name, ok, request, offer, lang)})
    score = round(score, 1)
    parts = [t("matching.explain.head", lang, rank=number, score=score)]
    good = [r["text"] for r in reasons if r["ok"]]
    bad = [r["text"] for r in reasons if not r["ok"]]
    parts.append(t("matching.explain.matched", lang, items="; ".join(good)))
    if bad:
        parts.append(t("matching.explain.unmatched", lang, items="; ".join(bad)))
    if request.get("urgency") == "urgent":
        parts.append(t("matching.explain.urgent", lang))
    parts.append(_why_here(previous, score, offer, reasons, lang))
    return {
        "offer_id": offer["offer_id"], "offer_name": offer["offer_name"],
        "organisation_id": offer["organisation_id"],
        "organisation_name": offer["organisation_name"],
        "contact_email": offer["contact_email"],
        "score": score, "rank": number,
        "matched": [r["criterion"] for r in reasons if r["ok"]],
        "unmatched": [r["criterion"] for r in reasons if not r["ok"]],
        "free_places": offer["free_places"], "load": offer["load"],
        "reasons": reasons,
        "explanation": " ".join(parts),
    }


def _why_here(previous: dict | None, score: float, offer: dict, reasons: list[dict], lang: str) -> str:
    if previous is None:
        return t("matching.explain.top", lang)
    other = previous["organisation_name"]
    if previous["score"] > score:
        theirs = {r["criterion"]: r["points"] for r in previous["reasons"]}
        lacking = [r["criterion"] for r in reasons if theirs.get(r["criterion"], 0) > r["points"]]
        return t("matching.explain.below", lang, points=round(previous["score"] - score, 1),
                 other=other, criteria=", ".join(t(f"matching.criterion.{c}", lang)
                                                  if c != "categories" else
                                                  t("matching.criterion.concerns", lang)
                                                  for c in lacking) or "-")
    if previous["free_places"] > offer["free_places"]:
        why = t("matching.explain.tie.free", lang)
    elif previous["load"] < offer["load"]:
        why = t("matching.explain.tie.load", lang)
    else:
        why = t("matching.explain.tie.name", lang)
    return t("matching.explain.tie", lang, other=other, why=why)
