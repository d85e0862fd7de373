"""Ranking of offers for one referral (DESIGN §5). Pure: plain data in, plain dicts out.

Criteria: concern categories, service area (postcode or neighbourhood), age, school level,
languages at home (offer and staff languages), free capacity this period and current load; an
urgent request weighs free capacity more. A criterion the request says nothing about (no
postcode, age, level, languages) counts neither way: it is left out of the score's maximum.
Offers sharing no concern category are no candidates; neither are offers that fail a criterion
the network made required, nor excluded organisations.

Speed: `build_index` prepares a network's offers once (numpy columns per criterion); `rank`
scores every offer with vector operations and writes explanations only for the candidates it
returns.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

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
    """Prepare offer views (domain.offer_view) for fast ranking; only active offers count.
    Besides the prepared dicts (for explanations) every criterion becomes a numpy column, so
    scoring 10,000 offers is a handful of vector operations."""
    prepared = []
    for offer in offers:
        if not offer.get("active", True):
            continue
        item = dict(offer)
        item["_cats"] = frozenset(offer["categories"])
        item["_postcodes"] = frozenset(offer["postcodes"])
        item["_hoods"] = frozenset(n.lower() for n in offer.get("neighbourhoods", []))
        item["_langs"] = frozenset(offer["languages"]) | frozenset(offer.get("staff_languages", []))
        item["_levels"] = frozenset(offer["school_levels"])
        prepared.append(item)
    n = len(prepared)

    def column(values, dtype):
        return np.fromiter(values, dtype=dtype, count=n)

    def membership(key: str) -> dict:
        out: dict[str, np.ndarray] = {}
        for position, item in enumerate(prepared):
            for value in item[key]:
                out.setdefault(value, np.zeros(n, dtype=bool))[position] = True
        return out

    capacity = column((o["capacity"] for o in prepared), np.int64)
    load = column((o["load"] for o in prepared), np.float64)
    per = np.maximum(capacity, 1)
    org_codes: dict[str, int] = {}
    order = sorted(range(n), key=lambda p: (prepared[p]["organisation_name"], prepared[p]["offer_id"]))
    name_rank = np.empty(n, dtype=np.int64)
    name_rank[order] = np.arange(n)
    return {
        "offers": prepared,
        "size": n,
        "categories": membership("_cats"),
        "postcodes": membership("_postcodes"),
        "hoods": membership("_hoods"),
        "languages": membership("_langs"),
        "levels": membership("_levels"),
        "everywhere": column((not o["_postcodes"] and not o["_hoods"] for o in prepared), bool),
        "no_levels": column((not o["_levels"] for o in prepared), bool),
        "min_age": column((o["min_age"] for o in prepared), np.int64),
        "max_age": column((o["max_age"] for o in prepared), np.int64),
        "free": column((o["free_places"] for o in prepared), np.int64),
        "load": load,
        "load_ok": load < per,
        "load_share": np.maximum(0.0, 1.0 - load / per),
        "org": column((org_codes.setdefault(o["organisation_id"], len(org_codes)) for o in prepared), np.int64),
        "org_codes": org_codes,
        "name_rank": name_rank,
    }


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


def _columns(request: dict, index: dict) -> dict:
    """criterion -> bool column for every criterion the request lets us judge (not categories)."""
    n = index["size"]
    none = np.zeros(n, dtype=bool)
    out = {}
    postcode, hood = request.get("postcode"), request.get("neighbourhood")
    if postcode is not None or hood:
        area = index["everywhere"].copy()
        if postcode is not None:
            area |= index["postcodes"].get(postcode, none)
        if hood:
            area |= index["hoods"].get(hood.lower(), none)
        out["service_area"] = area
    if request.get("age") is not None:
        out["age"] = (index["min_age"] <= request["age"]) & (request["age"] <= index["max_age"])
    if request.get("school_level") is not None:
        out["school_level"] = index["no_levels"] | index["levels"].get(request["school_level"], none)
    if request.get("languages"):
        spoken = none.copy()
        for code in request["languages"]:
            spoken |= index["languages"].get(code, none)
        out["languages"] = spoken
    out["capacity"] = index["free"] > 0
    out["load"] = index["load_ok"]
    return out


def rank(request: dict, index: dict, rules: dict | None = None, *,
         excluded: dict[str, str] | None = None) -> tuple[list[dict], dict]:
    """Candidates best first (at most rules.max_candidates), and a diagnosis of what kept
    offers out: {"considered": n, "excluded": Counter(reason), "failed": Counter(criterion)}."""
    rules = rules or DEFAULT_RULES
    excluded = excluded or {}
    weights = _weights(request, rules)
    wanted = len(request["categories"])
    n = index["size"]
    shared = np.zeros(n, dtype=np.int64)
    for category in set(request["categories"]):
        if category in index["categories"]:
            shared += index["categories"][category]
    considered = shared > 0
    diagnosis = {"considered": int(considered.sum()), "excluded": Counter(), "failed": Counter()}
    eligible = considered.copy()
    if excluded:
        by_reason: dict[str, list[int]] = {}
        for org_id, reason in excluded.items():
            if org_id in index["org_codes"]:
                by_reason.setdefault(reason, []).append(index["org_codes"][org_id])
        for reason, codes in by_reason.items():
            hit = considered & np.isin(index["org"], codes)
            if hit.any():
                diagnosis["excluded"][reason] += int((hit & eligible).sum())
                eligible &= ~hit
    columns = _columns(request, index)
    for name in rules["required"]:
        if name in columns:
            failing = eligible & ~columns[name]
            if failing.any():
                diagnosis["failed"][name] += int(failing.sum())
                eligible &= ~failing
    points = weights["categories"] * shared / wanted
    total = weights["categories"]
    for name, ok in columns.items():
        total += weights[name]
        points = points + (weights[name] * index["load_share"] if name == "load" else weights[name] * ok)
    score = np.round(100.0 * points / total, 1) if total else np.zeros(n)
    if rules["min_score"]:
        low = eligible & (score < rules["min_score"])
        for name, ok in columns.items():
            count = int((low & ~ok).sum())
            if count:
                diagnosis["failed"][name] += count
        eligible &= ~low
    positions = np.flatnonzero(eligible)
    if positions.size == 0:
        return [], diagnosis
    order = np.lexsort((index["name_rank"][positions], index["load"][positions],
                        -index["free"][positions], -score[positions]))
    best = positions[order[:rules["max_candidates"]]]
    candidates, previous = [], None
    for number, position in enumerate(best, start=1):
        candidate = describe(request, index["offers"][int(position)], weights, number, previous)
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
