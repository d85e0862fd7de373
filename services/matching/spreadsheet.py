"""The directory as a CSV a coordinator edits in a spreadsheet: one row per offer (an
organisation without offers has one row with empty offer columns). Staff are not in the CSV
(personal data stays out of spreadsheets); a CSV import leaves them as they are.

Delimiter `;` (what a Belgian spreadsheet writes; `,` is read too), UTF-8 with or without BOM.
Lists inside a cell are separated by `,`; opening hours read `MO-FR 09:00-12:00 / WE 13:00-17:00`.
"""
from __future__ import annotations

import csv
import io
import re

from services.matching.schemas import DAYS, InvalidDirectory

COLUMNS = (
    "organisation_id", "organisation_name", "organisation_kind", "organisation_email",
    "organisation_phone", "organisation_website", "organisation_description",
    "organisation_how_to_reach", "organisation_last_confirmed", "offer_id", "offer_name", "offer_description", "categories",
    "postcodes", "neighbourhoods", "languages", "min_age", "max_age", "school_levels", "capacity",
    "capacity_period", "waiting_list", "opening_hours", "how_to_reach", "last_confirmed", "active",
)
ORG_COLUMNS = {"organisation_name": "name", "organisation_kind": "kind", "organisation_email": "email",
               "organisation_phone": "phone", "organisation_website": "website",
               "organisation_description": "description", "organisation_how_to_reach": "how_to_reach",
               "organisation_last_confirmed": "last_confirmed"}
REQUIRED = ("organisation_id", "organisation_name", "organisation_kind", "organisation_email")
SLOT = re.compile(r"^\s*([A-Z,\- ]+?)\s+(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})\s*$")
PROBLEM_PATH = re.compile(r"^organisations\[(\d+)\](?: \([^)]*\))?(?:\.offers\[(\d+)\])?"
                          r"(?:\.opening_hours\[\d+\])?:\s*(.*)$")


def format_hours(slots: list[dict]) -> str:
    return " / ".join(f"{','.join(s['days'])} {s['opens']}-{s['closes']}" for s in slots)


def parse_hours(text: str) -> list[dict]:
    """`MO-FR 09:00-12:00 / SA 10:00-12:00` -> slots; ValueError says what is wrong."""
    slots = []
    for part in (p for p in text.split("/") if p.strip()):
        match = SLOT.match(part.upper())
        if not match:
            raise ValueError(f"opening hours {part.strip()!r} must read like 'MO-FR 09:00-17:00'")
        days = []
        for chunk in match.group(1).replace(" ", "").split(","):
            if "-" in chunk:
                first, _, last = chunk.partition("-")
                if first not in DAYS or last not in DAYS or DAYS.index(first) > DAYS.index(last):
                    raise ValueError(f"day range {chunk!r} must run from MO to SU, e.g. MO-FR")
                days.extend(DAYS[DAYS.index(first):DAYS.index(last) + 1])
            elif chunk in DAYS:
                days.append(chunk)
            else:
                raise ValueError(f"day {chunk!r} must be one of {', '.join(DAYS)}")
        slots.append({"days": days, "opens": match.group(2), "closes": match.group(3)})
    return slots


def _list(text: str) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def export_csv(organisations: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for org in organisations:
        head = [org["id"], org["name"], org["kind"], org["email"], org.get("phone") or "",
                org.get("website") or "", org.get("description") or "", org.get("how_to_reach") or "",
                org.get("last_confirmed") or ""]
        if not org["offers"]:
            writer.writerow(head + [""] * (len(COLUMNS) - len(head) - 1)
                            + ["yes" if org["active"] else "no"])
        for offer in org["offers"]:
            writer.writerow(head + [
                offer["id"], offer["name"], offer["description"], ",".join(offer["categories"]),
                ",".join(offer["postcodes"]), ",".join(offer["neighbourhoods"]),
                ",".join(offer["languages"]), offer["min_age"], offer["max_age"],
                ",".join(offer["school_levels"]), offer["capacity"], offer["capacity_period"],
                offer["waiting_list"], format_hours(offer["opening_hours"]), offer["how_to_reach"],
                offer.get("last_confirmed") or "", "yes" if offer["active"] else "no"])
    return out.getvalue()


def _flag(text: str) -> bool | None:
    value = (text or "").strip().lower()
    if value in ("", "yes", "ja", "1", "true", "waar"):
        return True
    if value in ("no", "nee", "0", "false", "onwaar"):
        return False
    return None


def _number(text: str, default: int):
    value = (text or "").strip()
    if not value:
        return default
    return int(value) if re.fullmatch(r"-?\d+", value) else value   # a non-number fails validation


def read_csv(text: str) -> list[dict]:
    """Parse and check every row; InvalidDirectory lists each bad row as `line N: ...`."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidDirectory(["line 1: the file is not UTF-8 text"]) from None
    text = text.lstrip("\ufeff")
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED + ("offer_id",) if c not in header]
    if missing:
        raise InvalidDirectory([f"line 1: missing column(s) {', '.join(missing)}"])
    unknown = [c for c in header if c not in COLUMNS]
    problems = [f"line 1: unknown column(s) {', '.join(unknown)}"] if unknown else []
    orgs: dict[str, dict] = {}
    org_lines: dict[str, int] = {}
    lines: dict[tuple[int, int | None], int] = {}
    order: list[str] = []
    for row in reader:
        line = reader.line_num
        if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
            continue
        if None in row:
            problems.append(f"line {line}: more cells than columns")
            continue
        org_id = (row.get("organisation_id") or "").strip()
        if not org_id:
            problems.append(f"line {line}: organisation_id is empty")
            continue
        values = {field: (row.get(column) or "").strip() for column, field in ORG_COLUMNS.items()}
        if org_id not in orgs:
            orgs[org_id] = dict(values, id=org_id, phone=values["phone"] or None,
                                website=values["website"] or None, offers=[],
                                last_confirmed=values["last_confirmed"] or None, active=True)
            org_lines[org_id] = line
            order.append(org_id)
            lines[(len(order) - 1, None)] = line
        else:
            for field, value in values.items():
                if value != (orgs[org_id][field] or ""):  # one organisation, one set of facts
                    problems.append(f"line {line}: {field} of {org_id} differs from line {org_lines[org_id]}")
        offer_id = (row.get("offer_id") or "").strip()
        if not offer_id:
            active = _flag(row.get("active"))
            if active is None:
                problems.append(f"line {line}: active must be yes or no")
            orgs[org_id]["active"] = bool(active)
            continue
        try:
            hours = parse_hours(row.get("opening_hours") or "")
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
            hours = []
        active = _flag(row.get("active"))
        if active is None:
            problems.append(f"line {line}: active must be yes or no")
        offer = {
            "id": offer_id, "name": (row.get("offer_name") or "").strip(),
            "description": (row.get("offer_description") or "").strip(),
            "categories": _list(row.get("categories")), "postcodes": _list(row.get("postcodes")),
            "neighbourhoods": _list(row.get("neighbourhoods")), "languages": _list(row.get("languages")),
            "min_age": _number(row.get("min_age"), 0), "max_age": _number(row.get("max_age"), 99),
            "school_levels": _list(row.get("school_levels")),
            "capacity": _number(row.get("capacity"), 0),
            "capacity_period": (row.get("capacity_period") or "").strip() or "month",
            "waiting_list": _number(row.get("waiting_list"), 0), "opening_hours": hours,
            "how_to_reach": (row.get("how_to_reach") or "").strip(),
            "last_confirmed": (row.get("last_confirmed") or "").strip() or None,
            "active": bool(active),
        }
        lines[(order.index(org_id), len(orgs[org_id]["offers"]))] = line
        orgs[org_id]["offers"].append(offer)
    return _checked([orgs[o] for o in order], lines, problems)


def _checked(organisations: list[dict], lines: dict, problems: list[str]) -> list[dict]:
    """Run the directory's own validation and put each problem on its CSV line."""
    from services.matching.schemas import validate_directory

    try:
        validate_directory("csv", organisations)
    except InvalidDirectory as exc:
        for problem in exc.problems:
            match = PROBLEM_PATH.match(problem)
            if match:
                org_index, offer_index = int(match.group(1)), match.group(2)
                key = (org_index, int(offer_index) if offer_index is not None else None)
                line = lines.get(key) or lines.get((org_index, None))
                problems.append(f"line {line}: {match.group(3)}")
            else:
                problems.append(problem)
    if problems:
        raise InvalidDirectory(sorted(set(problems), key=_line_order))
    return organisations


def _line_order(problem: str):
    match = re.match(r"line (\d+)", problem)
    return (int(match.group(1)) if match else 0, problem)
