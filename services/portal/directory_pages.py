"""HTML of the directory pages (issue 5): the network's organisations, a partner's own entry
with its offers and staff, the admin's pending changes, ranking rules with a preview, gaps."""
from __future__ import annotations

from netsterk.i18n import both
from services.portal.pages import _table, e, label, layout, local_time, message_box

PERIODS = ("week", "month", "quarter")
CRITERIA = ("categories", "service_area", "age", "school_level", "languages", "capacity", "load")
HARD_RULES = ("service_area", "age", "school_level", "languages", "capacity")


def _nav(user) -> str:
    links = [("/directory", "directory.title")]
    if user.role == "network_admin":
        links += [("/directory/changes", "directory.changes.title"), ("/directory/rules", "directory.rules.title")]
    if user.role in ("network_admin", "coordinator", "analyst"):
        links.append(("/directory/gaps", "directory.gaps.title"))
    return '<nav class="tabs">' + " · ".join(f'<a href="{href}">{e(both(key))}</a>' for href, key in links) + "</nav>"


def _problems(problems: list[str] | None) -> str:
    if not problems:
        return ""
    items = "".join(f"<li>{e(p)}</li>" for p in problems)
    return (f'<div class="error" role="alert" id="problems"><p>{e(both("directory.not_saved"))}</p>'
            f"<ul>{items}</ul></div>")


def directory_page(user, organisations: list[dict], pending: int, *, info: str | None = None) -> str:
    rows = [[f'<a href="/directory/organisations/{e(o["id"])}">{e(o["name"])}</a>', e(o["kind"]),
             e(len([x for x in o["offers"] if x["active"]])), e(o.get("last_confirmed") or "—")]
            for o in organisations]
    body = (_nav(user) + message_box(info, "info")
            + (f'<p class="info">{e(both("directory.pending_count", count=pending))} '
               f'<a href="/directory/changes">{e(both("portal.open"))}</a></p>' if pending else "")
            + _table(["portal.column.organisation", "directory.field.kind", "directory.field.offers",
                      "directory.field.last_confirmed"], rows)
            + f'<p><a href="/api/v1/hsds/services?network={e(user.network)}">HSDS JSON</a></p>')
    return layout(both("directory.title"), body, user=user)


def _input(name: str, key: str, value, *, kind: str = "text", extra: str = "") -> str:
    return (f'<label>{e(both(key))}<input type="{kind}" name="{name}" id="{name}" '
            f'value="{e("" if value is None else value)}"{extra}></label>')


def _area(name: str, key: str, value) -> str:
    return (f'<label>{e(both(key))}<textarea name="{name}" id="{name}" rows="2">'
            f'{e(value or "")}</textarea></label>')


def hours_text(slots: list[dict]) -> str:
    return " / ".join(f"{','.join(s['days'])} {s['opens']}-{s['closes']}" for s in slots or [])


def _offer_fields(i: int, offer: dict) -> str:
    p = f"offer-{i}-"
    period = "".join(f'<option value="{v}"{" selected" if offer.get("capacity_period", "month") == v else ""}>'
                     f'{e(both("matching.period." + v))}</option>' for v in PERIODS)
    title = offer.get("name") or both("directory.new_offer")
    return (
        f'<fieldset class="card offer" id="{p}box"><legend>{e(title)}</legend>'
        f'<input type="hidden" name="{p}id" value="{e(offer.get("id", ""))}">'
        + _input(p + "name", "directory.field.name", offer.get("name"))
        + _area(p + "description", "directory.field.description", offer.get("description"))
        + _input(p + "categories", "directory.field.categories", ", ".join(offer.get("categories", [])))
        + _input(p + "postcodes", "directory.field.postcodes", ", ".join(offer.get("postcodes", [])))
        + _input(p + "neighbourhoods", "directory.field.neighbourhoods", ", ".join(offer.get("neighbourhoods", [])))
        + _input(p + "languages", "directory.field.languages", ", ".join(offer.get("languages", [])))
        + _input(p + "min_age", "directory.field.min_age", offer.get("min_age", ""), kind="number")
        + _input(p + "max_age", "directory.field.max_age", offer.get("max_age", ""), kind="number")
        + _input(p + "school_levels", "directory.field.school_levels", ", ".join(offer.get("school_levels", [])))
        + _input(p + "capacity", "directory.field.capacity", offer.get("capacity", ""), kind="number")
        + f'<label>{e(both("directory.field.capacity_period"))}<select name="{p}capacity_period" '
          f'id="{p}capacity_period">{period}</select></label>'
        + _input(p + "waiting_list", "directory.field.waiting_list", offer.get("waiting_list", 0), kind="number")
        + _input(p + "opening_hours", "directory.field.opening_hours", hours_text(offer.get("opening_hours")))
        + _area(p + "how_to_reach", "directory.field.how_to_reach", offer.get("how_to_reach"))
        + f'<label class="choice"><input type="checkbox" name="{p}active" value="1"'
          f'{" checked" if offer.get("active", True) else ""}> {e(both("directory.field.active"))}</label>'
        + "</fieldset>")


def _staff_fields(j: int, person: dict) -> str:
    p = f"staff-{j}-"
    return (
        f'<fieldset class="card staff" id="{p}box"><legend>{e(person.get("name") or both("directory.new_staff"))}</legend>'
        f'<input type="hidden" name="{p}id" value="{e(person.get("id", ""))}">'
        + _input(p + "name", "directory.field.name", person.get("name"))
        + _input(p + "phone", "directory.field.phone", person.get("phone"))
        + _input(p + "email", "directory.field.email", person.get("email"), kind="email")
        + _input(p + "languages", "directory.field.languages", ", ".join(person.get("languages", [])))
        + _input(p + "offer_ids", "directory.field.offer_ids", ", ".join(person.get("offer_ids", [])))
        + (f'<label class="choice"><input type="checkbox" name="{p}remove" value="1"> '
           f'{e(both("directory.field.remove"))}</label>' if person.get("id") else "")
        + "</fieldset>")


def organisation_page(user, entry: dict, *, pending: dict | None = None, problems=None,
                      info: str | None = None, status: str | None = None) -> str:
    offers = [o for o in entry["offers"] if o.get("active", True) or o.get("id")]
    staff = list(entry.get("staff", []))
    note = ""
    if pending:
        note = message_box(both("directory.pending_note", who=pending["submitted_by"],
                                at=local_time(pending["submitted_at"])), "info")
    body = (
        _nav(user) + message_box(info, "info") + note + _problems(problems)
        + f'<p>{e(both("directory.field.last_confirmed"))}: <strong>{e(entry.get("last_confirmed") or "—")}</strong></p>'
        + f'<form method="post" action="/directory/organisations/{e(entry["id"])}" id="entry-form">'
        + f'<input type="hidden" name="offer_count" value="{len(offers) + 1}">'
        + f'<input type="hidden" name="staff_count" value="{len(staff) + 1}">'
        + '<fieldset class="card"><legend>' + e(both("portal.column.organisation")) + "</legend>"
        + _input("name", "directory.field.name", entry.get("name"))
        + _input("email", "directory.field.email", entry.get("email"), kind="email")
        + _input("phone", "directory.field.phone", entry.get("phone"))
        + _input("website", "directory.field.website", entry.get("website"))
        + _area("description", "directory.field.description", entry.get("description"))
        + _area("how_to_reach", "directory.field.how_to_reach", entry.get("how_to_reach"))
        + "</fieldset>"
        + f'<h2>{e(both("directory.field.offers"))}</h2>'
        + "".join(_offer_fields(i, o) for i, o in enumerate(offers)) + _offer_fields(len(offers), {})
        + f'<h2>{e(both("directory.field.staff"))}</h2>'
        + "".join(_staff_fields(j, s) for j, s in enumerate(staff)) + _staff_fields(len(staff), {})
        + f'<p class="hint">{e(both("directory.hint"))}</p>'
        + f'<button type="submit">{e(both("directory.submit" if user.role == "partner_staff" else "directory.submit_admin"))}</button>'
        + "</form>")
    return layout(entry["name"], body, user=user)


def changes_page(user, changes: list[dict], *, info: str | None = None, problems=None) -> str:
    blocks = []
    for change in changes:
        diff = "".join(f"<li><code>{e(path)}</code></li>" for path in change["changes"]) or \
            f'<li>{e(both("directory.changes.confirm_only"))}</li>'
        blocks.append(
            f'<section class="card change" id="change-{change["id"]}"><h2>{e(change["organisation_name"])}</h2>'
            f'<p>{e(both("directory.pending_note", who=change["submitted_by"], at=local_time(change["submitted_at"])))}</p>'
            f"<ul>{diff}</ul>"
            f'<form method="post" action="/directory/changes/{change["id"]}">'
            f'<label>{e(both("portal.field.reason"))}<input name="note" maxlength="500"></label>'
            f'<button type="submit" name="approve" value="1">{e(both("directory.approve"))}</button> '
            f'<button type="submit" name="approve" value="0" class="secondary">{e(both("directory.reject"))}</button>'
            "</form></section>")
    body = _nav(user) + message_box(info, "info") + _problems(problems) + (
        "".join(blocks) or f'<p>{e(both("directory.changes.none"))}</p>')
    return layout(both("directory.changes.title"), body, user=user)


def rules_page(user, rules: dict, *, preview: dict | None = None, problems=None, info: str | None = None) -> str:
    weights = "".join(_input(f"weight-{c}", f"matching.criterion.{c}", rules["weights"].get(c, 0), kind="number",
                             extra=' min="0" max="100"') for c in CRITERIA)
    required = "".join(
        f'<label class="choice"><input type="checkbox" name="required" value="{c}"'
        f'{" checked" if c in rules["required"] else ""}> {e(both("matching.criterion." + c))}</label>'
        for c in HARD_RULES)
    form = (
        '<form method="post" action="/directory/rules" class="card" id="rules-form">'
        f'<fieldset><legend>{e(both("directory.rules.weights"))}</legend>{weights}'
        + _input("urgent_capacity_weight", "directory.rules.urgent", rules["urgent_capacity_weight"], kind="number")
        + f'</fieldset><fieldset><legend>{e(both("directory.rules.required"))}</legend>{required}</fieldset>'
        + _input("min_score", "directory.rules.min_score", rules["min_score"], kind="number")
        + _input("max_candidates", "directory.rules.max_candidates", rules["max_candidates"], kind="number")
        + f'<button type="submit" name="do" value="preview">{e(both("directory.rules.preview"))}</button> '
        + f'<button type="submit" name="do" value="save">{e(both("directory.rules.save"))}</button></form>')
    shown = ""
    if preview is not None:
        def names(items):
            return "<br>".join(f"{e(c['organisation_name'])} — {e(c['offer_name'])} ({e(c['score'])})"
                               for c in items) or e(both("directory.gap"))
        rows = [[e(r["referral_id"][:8]), e(", ".join(label("category", c) for c in r["categories"])),
                 e(r["postcode"] or ""), e(r["age"] if r["age"] is not None else ""),
                 names(r["before"]), names(r["after"]),
                 e(both("directory.rules.changed") if r["changed"] else "")] for r in preview["rows"]]
        shown = (f'<section id="preview"><h2>{e(both("directory.rules.preview"))}</h2>'
                 f'<p>{e(both("directory.rules.summary", referrals=preview["referrals"], changed=preview["changed"], gaps_before=preview["gaps_before"], gaps_after=preview["gaps_after"]))}</p>'
                 + _table(["directory.rules.referral", "portal.column.categories", "directory.field.postcodes",
                           "directory.field.age", "directory.rules.before", "directory.rules.after",
                           "directory.rules.changed"], rows)
                 + "</section>")
    body = _nav(user) + message_box(info, "info") + _problems(problems) + form + shown
    return layout(both("directory.rules.title"), body, user=user)


def gaps_page(user, gaps: list[dict], capacity: list[dict]) -> str:
    rows = [[e(local_time(g["at"])), e(", ".join(label("category", c) for c in g["categories"])),
             e(g.get("neighbourhood") or g.get("postcode") or ""), e(g.get("age_band") or ""),
             e(label("level", g["school_level"]) if g.get("school_level") else ""),
             e(label("matching.gap", g["reason"]))] for g in reversed(gaps)]
    cap = [[e(c["organisation_name"]), e(c["offer_name"]),
            e(f'{c["free_places"]}/{c["capacity"]} ' + both("matching.period." + c["capacity_period"])),
            e(c["load"]), e(c["waiting_list"]),
            e(", ".join(f"{label('matching.decline', k)}: {v}" for k, v in sorted(c["declines"].items())))]
           for c in capacity]
    body = (_nav(user) + _table(["portal.column.when", "portal.column.categories", "directory.gaps.where",
                                 "directory.field.age", "intake.field.school_level", "directory.gaps.why"], rows)
            + f'<h2>{e(both("directory.capacity.title"))}</h2>'
            + _table(["portal.column.organisation", "portal.column.offer", "directory.capacity.free",
                      "directory.capacity.load", "directory.field.waiting_list", "directory.capacity.declines"], cap))
    return layout(both("directory.gaps.title"), body, user=user)
