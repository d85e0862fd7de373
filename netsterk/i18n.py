"""The one catalogue for user-facing text: Dutch first, English beside it.

`t(key, lang)` gives one language; `both(key)` gives "Nederlands / English" for pages and
e-mails that show both. Keys live in netsterk/catalogue.py."""
from __future__ import annotations

from netsterk.catalogue import CATALOGUE

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values) -> str:
    entry = CATALOGUE[key]
    text = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text


def both(key: str, **values) -> str:
    only = _DISPLAY.get()
    if only is not None:
        return t(key, only, **values)
    nl, en = t(key, "nl", **values), t(key, "en", **values)
    return nl if nl == en else f"{nl} / {en}"


# --- issue 9: a page shown in one language (the portal's language switch) ---
# None (the default): `both` gives both languages; "nl"/"en": only that one, for this
# thread / greenlet (the portal sets it per request from the visitor's choice).
from contextvars import ContextVar  # noqa: E402

_DISPLAY: ContextVar[str | None] = ContextVar("netsterk_display_language", default=None)


def set_display_language(lang: str | None):
    return _DISPLAY.set(lang if lang in LANGUAGES else None)


def reset_display_language(token) -> None:
    _DISPLAY.reset(token)


def display_language() -> str | None:
    return _DISPLAY.get()
