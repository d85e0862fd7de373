"""E-mail templates: subject and plain-text body per template and language, from the catalogue.

Pure: `render(template, lang, context)` -> (subject, body). Every placeholder a template uses must
be in the context; a missing one (or an empty link) is a clear error, never a half-filled
e-mail. An empty text value shows as "niet opgegeven" / "not given"."""
from __future__ import annotations

from string import Formatter

from netsterk.catalogue import CATALOGUE
from netsterk.i18n import LANGUAGES, t

TEMPLATES = (
    "partner_engagement", "partner_reminder", "reporter_received", "reporter_closed",
    "school_efforts_request", "coordinator_escalation", "information_request", "closure_feedback",
    "reporter_redirected", "partner_withdrawn", "feedback_reminder",
)
# context values shown as their label (codes in the context, words in the e-mail)
LABELLED = {"state": "state.{}", "re_engaged": "notifications.re_engaged.{}"}


class TemplateError(ValueError):
    """A template that cannot be rendered with what the caller gave."""


class UnknownTemplate(TemplateError):
    """A template name the catalogue does not have."""


class MissingContext(TemplateError):
    """A placeholder of the template has no value in the context."""


def _key(template: str, part: str) -> str:
    return f"notifications.{template}.{part}"


def _text(template: str, part: str, lang: str) -> str:
    return t(_key(template, part), lang)


def placeholders(template: str, lang: str = "nl") -> set[str]:
    """The context keys a template needs (subject and body together)."""
    names = set()
    for part in ("subject", "body"):
        for _literal, field, _spec, _conversion in Formatter().parse(_text(template, part, lang)):
            if field:
                names.add(field)
    return names


def _display(key: str, value, lang: str) -> str:
    """A context value as it appears in the e-mail (a state or outcome code shows as its label)."""
    text = str(value)
    label_key = LABELLED[key].format(text) if key in LABELLED else None
    if label_key in CATALOGUE:
        return t(label_key, lang)
    return text


def render(template: str, lang: str, context: dict) -> tuple[str, str]:
    if template not in TEMPLATES:
        raise UnknownTemplate(f"unknown template {template!r}; known: {', '.join(TEMPLATES)}")
    if lang not in LANGUAGES:
        raise TemplateError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
    if not isinstance(context, dict):
        raise TemplateError("context must be an object")
    needed = placeholders(template, lang)
    missing = sorted(k for k in needed if context.get(k) is None
                     or (k.endswith("_url") and str(context[k]).strip() == ""))
    if missing:
        raise MissingContext(f"template {template} needs context {', '.join(missing)}")
    values = {key: _display(key, context[key], lang) for key in needed}
    values = {key: value if value.strip() else t("notifications.not_given", lang)
              for key, value in values.items()}
    subject_values = {key: " ".join(value.split()) for key, value in values.items()}
    subject = _text(template, "subject", lang).format(**subject_values)
    body = _text(template, "body", lang).format(**values)
    return subject, body
