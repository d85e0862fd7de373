"""The directory in Open Referral HSDS 3.0 (DESIGN §5): export, import, validation.

Document shape (one network): `{"organizations": [organization], "services": [service]}`, each
object valid against `organization.json` / `service.json` of the HSDS schema folder
(settings.hsds_schema_dir; the project reads it from ../shared/hsds/schema, it is never copied).
HSDS ids are UUIDs: a local id that is not a UUID is exported as uuid5(network, kind, id) and kept
in an identifier (organisations) or a `netsterk_id` attribute (services, staff) so a round trip
restores it. Concern categories, school levels, capacity and the organisation kind travel as
attributes with taxonomy terms of the `netsterk_*` taxonomies; staff are organisation contacts.
"""
from __future__ import annotations

import json
import uuid
from functools import lru_cache
from pathlib import Path

from services.matching.schemas import DAYS, InvalidDirectory

NAMESPACE = uuid.UUID("0f7c2a8e-5f4e-4d1a-9f38-6a1e9d0b7c55")
TAXONOMY_CONCERN = "netsterk_concern"
TAXONOMY_LEVEL = "netsterk_school_level"
TAXONOMY_CAPACITY = "netsterk_capacity"
TAXONOMY_ID = "netsterk_id"
TAXONOMY_KIND = "netsterk_organisation_kind"
TAXONOMY_LANGUAGE = "netsterk_language"
TAXONOMY_OFFER = "netsterk_offer"
TAXONOMY_REACH = "netsterk_how_to_reach"
TAXONOMIES = {
    TAXONOMY_CONCERN: "Concern categories (Netsterk)",
    TAXONOMY_LEVEL: "School levels (Netsterk)",
    TAXONOMY_CAPACITY: "Capacity: new engagements per period, period, waiting list",
    TAXONOMY_ID: "Local identifiers of the Netsterk directory",
    TAXONOMY_KIND: "Kind of organisation: partner, school, clb",
    TAXONOMY_LANGUAGE: "Languages a staff member speaks",
    TAXONOMY_OFFER: "Offers a staff member works on",
    TAXONOMY_REACH: "How to reach an organisation",
}


def hsds_id(network: str, kind: str, local_id: str) -> str:
    try:
        return str(uuid.UUID(local_id))
    except ValueError:
        return str(uuid.uuid5(NAMESPACE, f"{network}:{kind}:{local_id}"))


def _term(taxonomy: str, code: str) -> dict:
    term_id = str(uuid.uuid5(NAMESPACE, f"term:{taxonomy}:{code}"))
    return {"id": term_id, "code": code, "name": code, "description": f"{TAXONOMIES[taxonomy]}: {code}",
            "taxonomy": taxonomy}


def _attribute(link_id: str, entity: str, taxonomy: str, code: str, value: str | None = None) -> dict:
    term = _term(taxonomy, code)
    data = {"id": str(uuid.uuid5(NAMESPACE, f"attr:{link_id}:{taxonomy}:{code}:{value}")),
            "link_id": link_id, "link_type": taxonomy, "link_entity": entity,
            "taxonomy_term_id": term["id"], "taxonomy_term": term}
    if value is not None:
        data["value"] = str(value)
    return data


# --- export ------------------------------------------------------------------------------------

def export_document(network: str, organisations: list[dict], *, with_staff: bool = True) -> dict:
    """organisations: domain.export_directory entries. `with_staff=False` for public reads."""
    out_orgs, out_services = [], []
    for org in organisations:
        org_uuid = hsds_id(network, "organisation", org["id"])
        offer_uuids = {o["id"]: hsds_id(network, "offer", o["id"]) for o in org["offers"]}
        item = {
            "id": org_uuid, "name": org["name"], "description": org["description"] or org["name"],
            "email": org["email"],
            "organization_identifiers": [{
                "id": str(uuid.uuid5(NAMESPACE, f"ident:{org_uuid}")), "organization_id": org_uuid,
                "identifier_type": "netsterk", "identifier_scheme": "netsterk", "identifier": org["id"]}],
            "attributes": [_attribute(org_uuid, "organization", TAXONOMY_KIND, org["kind"])],
            "phones": [], "contacts": [],
        }
        if org.get("website"):
            item["website"] = org["website"]
        if org.get("phone"):
            item["phones"].append({"id": str(uuid.uuid5(NAMESPACE, f"phone:{org_uuid}")),
                                   "organization_id": org_uuid, "number": org["phone"]})
        if org.get("how_to_reach"):
            item["attributes"].append(_attribute(org_uuid, "organization", TAXONOMY_REACH, "text",
                                                 org["how_to_reach"]))
        if org.get("last_confirmed"):
            item["attributes"].append(_attribute(org_uuid, "organization", TAXONOMY_ID,
                                                 "last_confirmed", org["last_confirmed"]))
        if with_staff:
            for person in org["staff"]:
                contact_id = hsds_id(network, "staff", person["id"])
                contact = {"id": contact_id, "organization_id": org_uuid, "name": person["name"],
                           "attributes": [_attribute(contact_id, "contact", TAXONOMY_ID, "staff_id", person["id"])]
                           + [_attribute(contact_id, "contact", TAXONOMY_LANGUAGE, code) for code in person["languages"]]
                           + [_attribute(contact_id, "contact", TAXONOMY_OFFER, offer_uuids[o], o)
                              for o in person["offer_ids"] if o in offer_uuids],
                           "phones": []}
                if person.get("email"):
                    contact["email"] = person["email"]
                if person.get("phone"):
                    contact["phones"].append({"id": str(uuid.uuid5(NAMESPACE, f"phone:{contact_id}")),
                                              "contact_id": contact_id, "number": person["phone"]})
                item["contacts"].append(contact)
        out_orgs.append(item)
        for offer in org["offers"]:
            out_services.append(_service(network, org_uuid, org, offer, offer_uuids[offer["id"]]))
    return {"organizations": out_orgs, "services": out_services}


def _service(network: str, org_uuid: str, org: dict, offer: dict, service_id: str) -> dict:
    attributes = [_attribute(service_id, "service", TAXONOMY_ID, "offer_id", offer["id"])]
    attributes += [_attribute(service_id, "service", TAXONOMY_CONCERN, c) for c in offer["categories"]]
    attributes += [_attribute(service_id, "service", TAXONOMY_LEVEL, lvl) for lvl in offer["school_levels"]]
    attributes += [
        _attribute(service_id, "service", TAXONOMY_CAPACITY, "new_per_period", offer["capacity"]),
        _attribute(service_id, "service", TAXONOMY_CAPACITY, "period", offer["capacity_period"]),
        _attribute(service_id, "service", TAXONOMY_CAPACITY, "waiting_list", offer["waiting_list"]),
    ]
    areas = [{"id": str(uuid.uuid5(NAMESPACE, f"area:{service_id}:postcode:{p}")), "service_id": service_id,
              "name": p, "extent_type": "postcode", "description": f"postcode {p}"} for p in offer["postcodes"]]
    areas += [{"id": str(uuid.uuid5(NAMESPACE, f"area:{service_id}:neighbourhood:{n}")), "service_id": service_id,
               "name": n, "extent_type": "neighbourhood", "description": f"neighbourhood {n}"}
              for n in offer["neighbourhoods"]]
    service = {
        "id": service_id, "organization_id": org_uuid, "name": offer["name"],
        "email": org["email"],
        "status": "active" if offer["active"] else "inactive",
        "minimum_age": offer["min_age"], "maximum_age": offer["max_age"],
        "application_process": offer["how_to_reach"],
        "wait_time": f"waiting list: {offer['waiting_list']}",
        "service_areas": areas,
        "languages": [{"id": str(uuid.uuid5(NAMESPACE, f"lang:{service_id}:{code}")), "service_id": service_id,
                       "code": code, "name": code} for code in offer["languages"]],
        "schedules": [{"id": str(uuid.uuid5(NAMESPACE, f"schedule:{service_id}:{k}")), "service_id": service_id,
                       "freq": "WEEKLY", "wkst": "MO", "byday": ",".join(slot["days"]),
                       "opens_at": slot["opens"], "closes_at": slot["closes"],
                       "description": f"{','.join(slot['days'])} {slot['opens']}-{slot['closes']}"}
                      for k, slot in enumerate(offer["opening_hours"])],
        "attributes": attributes,
    }
    if offer["description"]:
        service["description"] = offer["description"]
    if offer.get("last_confirmed"):
        service["assured_date"] = offer["last_confirmed"]
    return service


# --- validation against the HSDS schemas --------------------------------------------------------

@lru_cache
def _validators(schema_dir: str):
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    folder = Path(schema_dir)

    def retrieve(uri: str):
        return DRAFT202012.create_resource(json.loads((folder / Path(uri).name).read_text()))

    registry = Registry(retrieve=retrieve)
    out = {}
    for name in ("organization", "service"):
        schema = json.loads((folder / f"{name}.json").read_text())
        out[name] = Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())
    return out


def schema_problems(document, schema_dir: Path) -> list[str]:
    """Every place where the document breaks the HSDS schemas, as `services[3] (id) path: why`."""
    if not isinstance(document, dict):
        return ["the document must be an object with organizations and services"]
    problems = []
    unknown = sorted(set(document) - {"organizations", "services"})
    if unknown:
        problems.append(f"unknown top-level key(s): {', '.join(unknown)}")
    validators = _validators(str(schema_dir))
    for key, schema in (("organizations", "organization"), ("services", "service")):
        items = document.get(key, [])
        if not isinstance(items, list):
            problems.append(f"{key} must be a list")
            continue
        for i, item in enumerate(items):
            where = f"{key}[{i}]" + (f" ({item.get('id')})" if isinstance(item, dict) else "")
            for error in sorted(validators[schema].iter_errors(item), key=lambda e: list(e.absolute_path)):
                path = "/".join(str(p) for p in error.absolute_path) or "(object)"
                problems.append(f"{where} {path}: {error.message}")
    return problems


# --- import ------------------------------------------------------------------------------------

def _attrs(item: dict, taxonomy: str) -> list[tuple[str, str | None]]:
    out = []
    for attribute in item.get("attributes") or []:
        term = attribute.get("taxonomy_term") or {}
        if term.get("taxonomy") == taxonomy or attribute.get("link_type") == taxonomy:
            out.append((term.get("code") or term.get("name"), attribute.get("value")))
    return out


def _one(item: dict, taxonomy: str, code: str) -> str | None:
    return next((value for c, value in _attrs(item, taxonomy) if c == code), None)


def _int(value, where: str, problems: list[str], default: int) -> int:
    if value is None:
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        problems.append(f"{where}: {value!r} is not a whole number")
        return default


def to_organisations(document: dict) -> list[dict]:
    """Turn a schema-valid HSDS document into import_directory entries, or raise InvalidDirectory
    naming every object that lacks what the directory needs."""
    problems: list[str] = []
    orgs, by_uuid, offer_ids = [], {}, {}
    for i, item in enumerate(document.get("organizations", [])):
        where = f"organizations[{i}] ({item.get('id')})"
        local = next((ident.get("identifier") for ident in item.get("organization_identifiers") or []
                      if ident.get("identifier_type") == "netsterk"), None) or item["id"]
        kinds = [code for code, _ in _attrs(item, TAXONOMY_KIND)]
        phones = [p.get("number") for p in item.get("phones") or [] if p.get("number")]
        org = {"id": local, "name": item.get("name"), "kind": kinds[0] if kinds else "partner",
               "email": item.get("email"),
               "description": "" if item.get("description") == item.get("name") else item.get("description") or "",
               "website": item.get("website"), "phone": phones[0] if phones else None,
               "how_to_reach": _one(item, TAXONOMY_REACH, "text") or "",
               "last_confirmed": _one(item, TAXONOMY_ID, "last_confirmed"),
               "offers": [], "staff": []}
        if not item.get("email"):
            problems.append(f"{where} email: the directory needs an e-mail address per organisation")
        for j, contact in enumerate(item.get("contacts") or []):
            staff_id = _one(contact, TAXONOMY_ID, "staff_id") or contact.get("id")
            phones = [p.get("number") for p in contact.get("phones") or [] if p.get("number")]
            org["staff"].append({
                "id": staff_id, "name": contact.get("name"), "email": contact.get("email"),
                "phone": phones[0] if phones else None,
                "languages": [code for code, _ in _attrs(contact, TAXONOMY_LANGUAGE)],
                "offer_ids": [value or code for code, value in _attrs(contact, TAXONOMY_OFFER)],
                "_where": f"{where} contacts[{j}]"})
        by_uuid[item["id"]] = org
        orgs.append(org)
    for i, item in enumerate(document.get("services", [])):
        where = f"services[{i}] ({item.get('id')})"
        org = by_uuid.get(item.get("organization_id"))
        if org is None:
            problems.append(f"{where} organization_id: no organization with id {item.get('organization_id')!r}")
            continue
        local = _one(item, TAXONOMY_ID, "offer_id") or item["id"]
        offer_ids[item["id"]] = local
        categories = [code for code, _ in _attrs(item, TAXONOMY_CONCERN)]
        if not categories:
            problems.append(f"{where} attributes: no {TAXONOMY_CONCERN} attribute (concern category)")
        hours = []
        for k, schedule in enumerate(item.get("schedules") or []):
            days = [d.strip() for d in (schedule.get("byday") or "").split(",") if d.strip()]
            if not days or any(d not in DAYS for d in days) or not schedule.get("opens_at") \
                    or not schedule.get("closes_at"):
                problems.append(f"{where} schedules/{k}: needs byday (MO..SU), opens_at and closes_at")
                continue
            hours.append({"days": days, "opens": schedule["opens_at"][:5], "closes": schedule["closes_at"][:5]})
        areas = item.get("service_areas") or []
        org["offers"].append({
            "id": local, "name": item.get("name"), "description": item.get("description") or "",
            "categories": categories,
            "postcodes": [a.get("name") for a in areas if a.get("extent_type") == "postcode"],
            "neighbourhoods": [a.get("name") for a in areas if a.get("extent_type") == "neighbourhood"],
            "languages": [lang.get("code") or lang.get("name") for lang in item.get("languages") or []],
            "min_age": _int(item.get("minimum_age"), f"{where} minimum_age", problems, 0),
            "max_age": _int(item.get("maximum_age"), f"{where} maximum_age", problems, 99),
            "school_levels": [code for code, _ in _attrs(item, TAXONOMY_LEVEL)],
            "capacity": _int(_one(item, TAXONOMY_CAPACITY, "new_per_period"),
                             f"{where} capacity new_per_period", problems, 0),
            "capacity_period": _one(item, TAXONOMY_CAPACITY, "period") or "month",
            "waiting_list": _int(_one(item, TAXONOMY_CAPACITY, "waiting_list"),
                                 f"{where} capacity waiting_list", problems, 0),
            "opening_hours": hours, "how_to_reach": item.get("application_process") or "",
            "last_confirmed": item.get("assured_date"), "active": item.get("status") == "active",
        })
    for org in orgs:
        for person in org["staff"]:
            person.pop("_where")
            person["offer_ids"] = [offer_ids.get(o, o) for o in person["offer_ids"]]
    if problems:
        raise InvalidDirectory(problems)
    return orgs


def read_document(document, schema_dir: Path) -> list[dict]:
    """Validate (HSDS schemas, then the directory's own needs) and convert; InvalidDirectory
    lists every problem and nothing is changed."""
    if isinstance(document, (str, bytes)):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise InvalidDirectory([f"not valid JSON: {exc}"]) from None
    problems = schema_problems(document, schema_dir)
    if problems:
        raise InvalidDirectory(problems)
    return to_organisations(document)


# --- the read API (openapi.json shapes) ---------------------------------------------------------

def page(items: list, page_number, per_page) -> dict:
    """The HSDS paginated envelope."""
    try:
        number = max(1, int(page_number or 1))
        size = min(500, max(1, int(per_page or 50)))
    except (TypeError, ValueError):
        number, size = 1, 50
    total = len(items)
    pages = max(1, -(-total // size))
    contents = items[(number - 1) * size: number * size]
    return {"total_items": total, "total_pages": pages, "page_number": number, "size": len(contents),
            "first_page": number == 1, "last_page": number >= pages, "empty": not contents,
            "contents": contents}


def taxonomies() -> list[dict]:
    return [{"id": str(uuid.uuid5(NAMESPACE, f"taxonomy:{name}")), "name": name, "description": text}
            for name, text in TAXONOMIES.items()]


def taxonomy_terms(document: dict) -> list[dict]:
    terms = {}
    for collection in ("organizations", "services"):
        for item in document[collection]:
            for attribute in item.get("attributes") or []:
                term = attribute["taxonomy_term"]
                terms[term["id"]] = term
    return sorted(terms.values(), key=lambda term: (term["taxonomy"], term["code"]))
