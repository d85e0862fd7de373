"""Server-rendered pages of the public referral form (Dutch first, English beside it)."""
from __future__ import annotations

from html import escape

from netsterk.i18n import both
from services.intake.schemas import SCHOOL_LEVELS

STYLE = """
body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{color:#0b5d4a} fieldset{border:1px solid #ccd;margin:1rem 0;padding:1rem}
label{display:block;margin:.6rem 0 .2rem;font-weight:600} input,select,textarea{width:100%;padding:.4rem}
input[type=checkbox]{width:auto} .error{color:#b00020;font-weight:400} .errors{border:2px solid #b00020;padding:.5rem}
button{background:#0b5d4a;color:#fff;border:0;padding:.7rem 1.4rem;font-size:1rem;margin-top:1rem}
"""


def page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='nl'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width'><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def _error(errors: dict, field: str) -> str:
    message = errors.get(field)
    return f" <span class='error' id='error-{field}'>{escape(message)}</span>" if message else ""


def _text(name: str, values: dict, errors: dict, *, kind: str = "text", required: bool = False) -> str:
    value = values.get(name) or ""
    req = " required" if required else ""
    return (f"<label for='{name}'>{escape(both('intake.field.' + name))}{_error(errors, name)}</label>"
            f"<input type='{kind}' id='{name}' name='{name}' value='{escape(str(value))}'{req}>")


def _area(name: str, values: dict, errors: dict) -> str:
    return (f"<label for='{name}'>{escape(both('intake.field.' + name))}{_error(errors, name)}</label>"
            f"<textarea id='{name}' name='{name}' rows='5'>{escape(values.get(name) or '')}</textarea>")


def referral_form(networks: list[dict], values: dict, errors: dict) -> str:
    selected = values.get("network") or (networks[0]["code"] if networks else "")
    network_options = "".join(
        f"<option value='{escape(n['code'])}'{' selected' if n['code'] == selected else ''}>"
        f"{escape(n['name'])}</option>" for n in networks)
    categories = next((n["categories"] for n in networks if n["code"] == selected), [])
    chosen = values.get("categories") or []
    category_boxes = "".join(
        f"<label><input type='checkbox' name='categories' value='{escape(c)}'"
        f"{' checked' if c in chosen else ''}> {escape(both('category.' + c))}</label>"
        for c in categories)
    level_options = "".join(
        f"<option value='{lvl}'{' selected' if values.get('school_level') == lvl else ''}>"
        f"{escape(both('level.' + lvl))}</option>" for lvl in SCHOOL_LEVELS)
    banner = (f"<div class='errors' role='alert'>{escape(both('intake.errors_title'))}</div>"
              if errors else "")
    checked = " checked" if values.get("reporter_is_school") in (True, "on", "1", "true") else ""
    urgent = " checked" if values.get("urgency") == "urgent" else ""
    body = f"""
<h1>{escape(both('intake.form_title'))}</h1><p>{escape(both('intake.form_intro'))}</p>{banner}
<form method='post' action='/referrals/new' novalidate>
<label for='network'>{escape(both('intake.field.network'))}{_error(errors, 'network')}</label>
<select id='network' name='network'>{network_options}</select>
<fieldset><legend>{escape(both('intake.section_reporter'))}</legend>
{_text('reporter_name', values, errors, required=True)}
{_text('reporter_organisation', values, errors, required=True)}
{_text('reporter_role', values, errors, required=True)}
{_text('reporter_email', values, errors, kind='email', required=True)}
{_text('reporter_phone', values, errors, kind='tel')}
<label><input type='checkbox' id='reporter_is_school' name='reporter_is_school' value='on'{checked}>
 {escape(both('intake.field.reporter_is_school'))}</label>
{_text('school_email', values, errors, kind='email')}
</fieldset>
<fieldset><legend>{escape(both('intake.section_young_person'))}</legend>
{_text('first_name', values, errors, required=True)}
{_text('last_name', values, errors, required=True)}
{_text('birth_date', values, errors, kind='date')}
{_text('age', values, errors, kind='number')}
{_text('school', values, errors)}
<label for='school_level'>{escape(both('intake.field.school_level'))}{_error(errors, 'school_level')}</label>
<select id='school_level' name='school_level'>{level_options}</select>
{_text('postcode', values, errors, required=True)}
{_text('languages', {**values, 'languages': ', '.join(values.get('languages') or [])}
       if isinstance(values.get('languages'), list) else values, errors)}
</fieldset>
<fieldset><legend>{escape(both('intake.section_concern'))}</legend>
<div id='categories'><strong>{escape(both('intake.field.categories'))}</strong>{_error(errors, 'categories')}
{category_boxes}</div>
{_area('description', values, errors)}
{_area('school_efforts', values, errors)}
<label><input type='checkbox' id='urgency' name='urgency' value='urgent'{urgent}>
 {escape(both('intake.field.urgency'))}</label>
</fieldset>
<button type='submit'>{escape(both('intake.submit'))}</button>
</form>"""
    return page(both("intake.form_title"), body)


def submitted_page(ref: str) -> str:
    body = (f"<h1>{escape(both('intake.submitted_title'))}</h1>"
            f"<p id='ref'>{escape(ref)}</p>"
            f"<p>{escape(both('intake.submitted_body', ref=ref))}</p>")
    return page(both("intake.submitted_title"), body)
