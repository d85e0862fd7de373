"""E-mail templates: subject, plain-text body and HTML per template and language, from the
catalogue (netsterk/locale/*.po), or a network's own wording (`override`, set by its admin).

Pure: `render(template, lang, context)` -> (subject, body); `render_html(...)` -> the HTML part, in
which every context value is escaped (links become anchors). Every placeholder a template uses must
be in the context; a missing one (or an empty link) is a clear error, never a half-filled
e-mail. An empty text value shows as "niet opgegeven" / "not given"."""
from __future__ import annotations

import html
import uuid
from string import Formatter

from netsterk.catalogue import CATALOGUE
from netsterk.i18n import LANGUAGES, t

TEMPLATES = (
    "partner_engagement", "partner_reminder", "reporter_received", "reporter_closed",
    "school_efforts_request", "coordinator_escalation", "information_request", "closure_feedback",
    "reporter_redirected", "partner_withdrawn", "feedback_reminder",
    "coordinator_bounce", "coordinator_digest", "partner_weekly", "reporter_draft",
)
# what a preview fills in (the network admin's template page)
SAMPLE_CONTEXT = {
    "ref": "NS-2026-000123", "offer_name": "Outreach", "accept_url": "https://portal.example/engagements/r/t",
    "accept_link": "https://portal.example/l/accept", "decline_link": "https://portal.example/l/decline",
    "outcome": "Terug op school / Back at school", "confirm_url": "https://portal.example/l/confirm",
    "state": "triage", "reason": "deadline passed", "question": "Welke klas? / Which class?",
    "answer_url": "https://portal.example/l/answer", "re_engaged": "partly", "what_was_done": "NAFT",
    "to_service": "CAW", "feedback_url": "https://portal.example/l/feedback",
    "template_name": "partner_engagement", "failed_url": "https://portal.example/notifications/failed",
    "date": "2026-12-02", "due_count": "1", "overdue_count": "1", "due_list": "- NS-2026-000123 (triage)",
    "overdue_list": "- NS-2026-000124 (matching)", "inbox_url": "https://portal.example/",
    "open_count": "1", "engagement_list": "- NS-2026-000123: Outreach",
    "status_url": "https://portal.example/status/r/t",
    "complete_url": "https://portal.example/drafts/r/t",
    "categories": ["truancy", "wellbeing"], "age_band": "12-15", "school_level": "secondary",
    "urgency": "normal", "languages": ["nl", "ar"], "area": "Mechelen-Noord", "answer_by": "2026-12-07",
}
# context values shown as their label (codes in the context, words in the e-mail); a list of
# codes shows as its labels separated by commas
LABELLED = {"state": "state.{}", "re_engaged": "notifications.re_engaged.{}", "categories": "category.{}",
            "languages": "language.{}", "school_level": "level.{}", "urgency": "portal.urgency.{}"}


class TemplateError(ValueError):
    """A template that cannot be rendered with what the caller gave."""


class UnknownTemplate(TemplateError):
    """A template name the catalogue does not have."""


class MissingContext(TemplateError):
    """A placeholder of the template has no value in the context."""


def _key(template: str, part: str) -> str:
    return f"notifications.{template}.{part}"


def _text(template: str, part: str, lang: str, override: dict | None = None) -> str:
    if override and override.get(part):
        return override[part]
    return t(_key(template, part), lang)


def fields(text: str) -> set[str]:
    try:
        return {field for _lit, field, _spec, _conv in Formatter().parse(text) if field}
    except ValueError as exc:
        raise TemplateError(f"text is not a valid template: {exc}") from exc


def placeholders(template: str, lang: str = "nl", override: dict | None = None) -> set[str]:
    """The context keys a template needs (subject and body together)."""
    return fields(_text(template, "subject", lang, override)) | fields(_text(template, "body", lang, override))


def check_override(template: str, subject: str, body: str) -> list[str]:
    """What is wrong with a network's own wording (empty list: it can be saved). It may use only
    the fields of the standard text, must keep every link and the [{ref}] in the subject."""
    if template not in TEMPLATES:
        return [f"unknown template {template!r}"]
    problems = []
    standard = placeholders(template, "nl")
    for part, text, limit in (("subject", subject, 300), ("body", body, 10000)):
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{part} is required")
            continue
        if len(text) > limit:
            problems.append(f"{part} is longer than {limit} characters")
        try:
            unknown = sorted(fields(text) - standard)
        except TemplateError as error:
            problems.append(f"{part}: {error}")
            continue
        if unknown:
            problems.append(f"{part} uses unknown fields: {', '.join(unknown)}")
    if not problems:
        if "[{ref}]" not in subject:
            problems.append("subject must keep [{ref}] (replies thread back by it)")
        if "\n" in subject or "\r" in subject:
            problems.append("subject must be one line")
        links = sorted(f for f in standard if f.endswith(("_url", "_link")))
        lost = [f for f in links if f not in fields(body)]
        if lost:
            problems.append(f"body must keep the links: {', '.join(lost)}")
    return problems


def _display(key: str, value, lang: str) -> str:
    """A context value as it appears in the e-mail (a state or outcome code shows as its label,
    a list of codes as their labels)."""
    if isinstance(value, (list, tuple)):
        return ", ".join(_display(key, item, lang) for item in value)
    text = str(value)
    label_key = LABELLED[key].format(text) if key in LABELLED else None
    if label_key in CATALOGUE:
        return t(label_key, lang)
    return text


def _values(template: str, lang: str, context: dict, override: dict | None) -> dict:
    if template not in TEMPLATES:
        raise UnknownTemplate(f"unknown template {template!r}; known: {', '.join(TEMPLATES)}")
    if lang not in LANGUAGES:
        raise TemplateError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
    if not isinstance(context, dict):
        raise TemplateError("context must be an object")
    needed = placeholders(template, lang, override)
    missing = sorted(k for k in needed if context.get(k) is None
                     or (k.endswith("_url") and str(context[k]).strip() == ""))
    if missing:
        raise MissingContext(f"template {template} needs context {', '.join(missing)}")
    values = {key: _display(key, context[key], lang) for key in needed}
    return {key: value if value.strip() else t("notifications.not_given", lang)
            for key, value in values.items()}


def render(template: str, lang: str, context: dict, override: dict | None = None) -> tuple[str, str]:
    values = _values(template, lang, context, override)
    subject_values = {key: " ".join(value.split()) for key, value in values.items()}
    subject = _text(template, "subject", lang, override).format(**subject_values)
    body = _text(template, "body", lang, override).format(**values)
    return subject, body


def _html_value(key: str, value: str) -> str:
    if key.endswith(("_url", "_link")) and value.startswith(("http://", "https://")):
        href = html.escape(value, quote=True)
        return f'<a href="{href}">{href}</a>'
    return html.escape(value).replace("\n", "<br>")


def render_html(template: str, lang: str, context: dict, override: dict | None = None) -> str:
    """The HTML part: the same text, every value escaped, links as anchors, paragraphs kept."""
    values = _values(template, lang, context, override)
    marks = {key: f"\x00{uuid.uuid4().hex}\x00" for key in values}
    text = html.escape(_text(template, "body", lang, override).format(**marks))
    for key, mark in marks.items():
        text = text.replace(html.escape(mark), _html_value(key, values[key]))
    paragraphs = "".join(f"<p>{part.replace(chr(10), '<br>')}</p>" for part in text.split("\n\n"))
    footer = html.escape(t("notifications.html_footer", lang))
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"></head>'
            f'<body style="font-family:sans-serif;line-height:1.4">{paragraphs}'
            f'<hr><p style="color:#666;font-size:small">{footer}</p></body></html>')
