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
    nl, en = t(key, "nl", **values), t(key, "en", **values)
    return nl if nl == en else f"{nl} / {en}"
