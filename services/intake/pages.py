"""Server-rendered pages of the public referral form (Dutch first, English beside it)."""
from __future__ import annotations

from html import escape

from netsterk.i18n import both
from services.intake.schemas import CONSENTS, SCHOOL_LEVELS

STYLE = """
body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{color:#0b5d4a} fieldset{border:1px solid #ccd;margin:1rem 0;padding:1rem}
label{display:block;margin:.6rem 0 .2rem;font-weight:600} input,select,textarea{width:100%;padding:.4rem}
input[type=checkbox],input[type=radio]{width:auto} .error{color:#b00020;font-weight:400}
.errors{border:2px solid #b00020;padding:.5rem} .hint{color:#555;font-weight:400}
button{background:#0b5d4a;color:#fff;border:0;padding:.7rem 1.4rem;font-size:1rem;margin:1rem .5rem 0 0}
button.secondary{background:#fff;color:#0b5d4a;border:2px solid #0b5d4a}
"""


def page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='nl'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width'><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def _error(errors: dict, field: str) -> str:
    message = errors.get(field)
    return f" <span class='error' id='error-{field}'>{escape(message)}</span>" if message else ""


def _label(name: str, errors: dict) -> str:
    return f"<label for='{name}'>{escape(both('intake.field.' + name))}{_error(errors, name)}</label>"


def _text(name: str, values: dict, errors: dict, *, kind: str = "text", required: bool = False) -> str:
    value = values.get(name)
    if isinstance(value, list):
        value = ", ".join(value)
    req = " required" if required else ""
    return (_label(name, errors) +
            f"<input type='{kind}' id='{name}' name='{name}' value='{escape(str(value or ''))}'{req}>")


def _area(name: str, values: dict, errors: dict, rows: int = 4) -> str:
    return (_label(name, errors) +
            f"<textarea id='{name}' name='{name}' rows='{rows}'>{escape(values.get(name) or '')}</textarea>")


def _select(name: str, options: list[tuple[str, str]], selected) -> str:
    return (f"<select id='{name}' name='{name}'>" + "".join(
        f"<option value='{escape(v)}'{' selected' if v == selected else ''}>{escape(text)}</option>"
        for v, text in options) + "</select>")


def _checked(value) -> str:
    return " checked" if value in (True, "on", "1", "true", "urgent") else ""


def referral_form_fields(networks: list[dict], values: dict, errors: dict, *,
                         action: str = "/referrals/new", allow_draft: bool = True,
                         draft_token: str | None = None, choice: dict | None = None) -> str:
    """The <form> itself: used by the public page and, over RPC, by the portal's staff pages."""
    selected = values.get("network") or (networks[0]["code"] if networks else "")
    categories = next((n["categories"] for n in networks if n["code"] == selected), [])
    chosen = values.get("categories") or []
    category_boxes = "".join(
        f"<label><input type='checkbox' name='categories' value='{escape(c)}'"
        f"{' checked' if c in chosen else ''}> {escape(both('category.' + c))}</label>"
        for c in categories)
    consent_options = "".join(
        f"<label><input type='radio' name='consent' value='{c}'"
        f"{' checked' if values.get('consent') == c else ''}> {escape(both('consent.' + c))}</label>"
        for c in CONSENTS)
    banner = (f"<div class='errors' role='alert'>{escape(both('intake.errors_title'))}</div>"
              if errors else "")
    draft_button = (f"<button type='submit' name='action' value='save_draft' class='secondary'>"
                    f"{escape(both('intake.save_draft'))}</button>" if allow_draft else "")
    token = (f"<input type='hidden' name='draft_token' value='{escape(draft_token)}'>"
             if draft_token else "")
    extra = ""
    if choice:
        extra = (f"<label for='{escape(choice['name'])}'>{escape(both(choice['label_key']))}"
                 f"{_error(errors, choice['name'])}</label>"
                 + _select(choice["name"], [tuple(o) for o in choice["options"]], values.get(choice["name"])))
    return f"""{banner}
<form method='post' action='{escape(action)}' novalidate>{token}{extra}
{_label('network', errors)}
{_select('network', [(n['code'], n['name']) for n in networks], selected)}
<fieldset><legend>{escape(both('intake.section_reporter'))}</legend>
{_text('reporter_name', values, errors, required=True)}
{_text('reporter_organisation', values, errors, required=True)}
{_text('reporter_role', values, errors, required=True)}
{_text('reporter_email', values, errors, kind='email', required=True)}
{_text('reporter_phone', values, errors, kind='tel')}
<label><input type='checkbox' id='reporter_is_school' name='reporter_is_school' value='on'{_checked(values.get('reporter_is_school'))}>
 {escape(both('intake.field.reporter_is_school'))}</label>
{_text('school_email', values, errors, kind='email')}
</fieldset>
<fieldset><legend>{escape(both('intake.section_young_person'))}</legend>
{_text('first_name', values, errors, required=True)}
{_text('last_name', values, errors, required=True)}
{_text('birth_date', values, errors, kind='date')}
{_text('age', values, errors, kind='number')}
{_text('school', values, errors)}
{_text('grade', values, errors)}
{_label('school_level', errors)}
{_select('school_level', [(lvl, both('level.' + lvl)) for lvl in SCHOOL_LEVELS], values.get('school_level'))}
{_text('postcode', values, errors, required=True)}
{_text('neighbourhood', values, errors)}
{_text('languages', values, errors)}
</fieldset>
<fieldset><legend>{escape(both('intake.section_concern'))}</legend>
<div id='categories'><strong>{escape(both('intake.field.categories'))}</strong>{_error(errors, 'categories')}
{category_boxes}</div>
{_area('description', values, errors, rows=5)}
<label><input type='checkbox' id='urgency' name='urgency' value='urgent'{_checked(values.get('urgency'))}>
 {escape(both('intake.field.urgency'))}</label>
{_area('expectations', values, errors, rows=3)}
</fieldset>
<fieldset><legend>{escape(both('intake.section_school_efforts'))}</legend>
<p class='hint'>{escape(both('intake.school_efforts_hint'))}</p>
{_area('school_efforts', values, errors)}
{_text('school_efforts_when', values, errors)}
{_area('school_efforts_result', values, errors, rows=3)}
</fieldset>
<fieldset><legend>{escape(both('intake.section_consent'))}</legend>
<div id='consent'>{_error(errors, 'consent')}{consent_options}</div>
{_area('consent_reason', values, errors, rows=2)}
</fieldset>
<button type='submit' name='action' value='submit'>{escape(both('intake.submit'))}</button>{draft_button}
</form>"""


def referral_form(networks: list[dict], values: dict, errors: dict, *, draft_token: str | None = None) -> str:
    from netsterk.settings import get_settings   # the offer catalogue lives on the portal

    catalogue = f"{get_settings().portal_url}/catalogue"
    body = (f"<h1>{escape(both('intake.form_title'))}</h1><p>{escape(both('intake.form_intro'))}</p>"
            f"<p><a id='catalogue-link' href='{escape(catalogue)}'>{escape(both('catalogue.browse'))}</a></p>"
            + referral_form_fields(networks, values, errors, draft_token=draft_token))
    return page(both("intake.form_title"), body)


def draft_saved_page(token: str, expires) -> str:
    link = f"/referrals/draft/{token}"
    body = (f"<h1>{escape(both('intake.draft_saved_title'))}</h1>"
            f"<p>{escape(both('intake.draft_saved_body', date=expires.date().isoformat()))}</p>"
            f"<p><a id='resume' href='{escape(link)}'>{escape(link)}</a></p>")
    return page(both("intake.draft_saved_title"), body)


def submitted_page(ref: str) -> str:
    steps = "".join(f"<li>{escape(both(f'intake.next_step_{i}'))}</li>" for i in (1, 2, 3))
    body = (f"<h1>{escape(both('intake.submitted_title'))}</h1>"
            f"<p id='ref'>{escape(ref)}</p>"
            f"<p>{escape(both('intake.submitted_body', ref=ref))}</p>"
            f"<h2>{escape(both('intake.next_title'))}</h2><ol>{steps}</ol>")
    return page(both("intake.submitted_title"), body)
