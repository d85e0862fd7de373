"""Every user-facing string, read from the Babel/gettext catalogue at import.

The catalogue lives in netsterk/locale/<lang>/LC_MESSAGES/netsterk.po, one file per language
(nl, en, fr). The msgid is the key ("intake.form_title"); the msgstr is the text with its
`{placeholders}` (str.format style). Dutch and English are complete (a test fails on any
untranslated message); French may be partial and falls back to English.

`CATALOGUE` keeps the shape the code used before the conversion: key -> {lang: text}, holding
only languages that have a translation. Read it with `netsterk.i18n.t` / `both`; add strings with
`python -m netsterk.i18n add KEY --nl ... --en ...` (see netsterk/i18n.py)."""
from __future__ import annotations

import datetime as _dt
import io
from pathlib import Path
from string import Formatter

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "netsterk"
PO_LANGUAGES = ("nl", "en", "fr")
# fixed header dates so that adding a string changes only its own lines (no merge conflicts)
_HEADER_DATE = _dt.datetime(2026, 12, 2, 12, 0, tzinfo=_dt.timezone.utc)


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return new_catalog(lang)
    with path.open("rb") as handle:
        return read_po(handle, locale=lang, domain=DOMAIN)


def new_catalog(lang: str) -> Catalog:
    return Catalog(locale=lang, domain=DOMAIN, project="Netsterk", version="1",
                   copyright_holder="Netsterk", msgid_bugs_address="",
                   creation_date=_HEADER_DATE, revision_date=_HEADER_DATE,
                   language_team=f"Netsterk {lang}", last_translator="Netsterk", fuzzy=False)


def write_catalog(catalog: Catalog, lang: str) -> None:
    """Write one language's .po, sorted by key (so additions by different people rarely clash)."""
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=76, sort_output=True, ignore_obsolete=True,
             include_previous=False, omit_header=False)
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def placeholders(text: str) -> set[str]:
    """The `{name}` fields a text uses."""
    return {field for _lit, field, _spec, _conv in Formatter().parse(text) if field}


def load() -> dict[str, dict[str, str]]:
    """key -> {lang: text} for every key of the Dutch catalogue (the reference language)."""
    entries: dict[str, dict[str, str]] = {}
    for lang in PO_LANGUAGES:
        for message in read_catalog(lang):
            if not message.id or not isinstance(message.id, str):
                continue
            entry = entries.setdefault(message.id, {})
            if message.string and not message.fuzzy:
                entry[lang] = message.string
    return entries


CATALOGUE: dict[str, dict[str, str]] = load()
