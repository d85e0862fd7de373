"""The one catalogue for user-facing text: Dutch first, English beside it, French where enabled.

Reading
-------
`t(key, lang, **values)` gives one language (French falls back to English, anything else to
Dutch); `both(key, **values)` gives "Nederlands / English" for pages and e-mails that show both.
The strings live in a Babel/gettext catalogue, one .po file per language:

    netsterk/locale/nl/LC_MESSAGES/netsterk.po   (complete; the reference)
    netsterk/locale/en/LC_MESSAGES/netsterk.po   (complete)
    netsterk/locale/fr/LC_MESSAGES/netsterk.po   (may be partial; used where a network enables fr)

msgid is the key (e.g. "intake.form_title"), msgstr the text with str.format `{placeholders}`.
The files are read with `babel` at import (netsterk/catalogue.py). A test
(services/notifications/tests/test_catalogue.py) fails on a message untranslated in nl or en,
on differing placeholders between languages and on a literal key used in code but missing.

Adding strings (the tool)
-------------------------
One string::

    .venv/bin/python -m netsterk.i18n add portal.inbox.title --nl "Taken" --en "Tasks" [--fr "Tâches"]

Many strings at once, from a Python file holding a dict in the old catalogue.py shape
(key -> {"nl": ..., "en": ...}), e.g. the block you had appended to netsterk/catalogue.py::

    .venv/bin/python -m netsterk.i18n import my_strings.py [--var MY_DICT] [--replace]

or from Python: `netsterk.i18n.add_messages({"key": {"nl": "..", "en": ".."}})`.
An existing key is refused unless --replace (then its texts are overwritten). The placeholders of
every language must equal the Dutch ones. `python -m netsterk.i18n check` lists what is missing
(exit 1 if nl or en is incomplete); `python -m netsterk.i18n missing fr` lists keys French lacks,
with the English text to translate. Files are written sorted by key; commit the .po files."""
from __future__ import annotations

import argparse
import runpy
import sys
from contextvars import ContextVar

from netsterk import catalogue as _catalogue
from netsterk.catalogue import CATALOGUE, placeholders

LANGUAGES = ("nl", "en", "fr")
REQUIRED_LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
FALLBACKS = {"fr": ("en", "nl"), "en": ("nl",), "nl": ("en",)}


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values) -> str:
    entry = CATALOGUE[key]
    text = entry.get(lang)
    if not text:
        for fallback in FALLBACKS.get(lang, (DEFAULT_LANGUAGE,)):
            if entry.get(fallback):
                text = entry[fallback]
                break
        else:
            raise KeyError(key)
    return text.format(**values) if values else text


def both(key: str, **values) -> str:
    only = _DISPLAY.get()
    if only is not None:
        return t(key, only, **values)
    nl, en = t(key, "nl", **values), t(key, "en", **values)
    return nl if nl == en else f"{nl} / {en}"


# --- issue 9: a page shown in one language (the portal's language switch) ---
# None (the default): `both` gives Dutch and English; "nl"/"en"/"fr": only that one, for this
# thread / greenlet (the portal sets it per request from the visitor's choice).
_DISPLAY: ContextVar[str | None] = ContextVar("netsterk_display_language", default=None)


def set_display_language(lang: str | None):
    return _DISPLAY.set(lang if lang in LANGUAGES else None)


def reset_display_language(token) -> None:
    _DISPLAY.reset(token)


def display_language() -> str | None:
    return _DISPLAY.get()
# --- end issue 9 ---


def has_translation(key: str, lang: str) -> bool:
    return bool(CATALOGUE.get(key, {}).get(lang))


class CatalogueError(ValueError):
    """A string that cannot be added as given."""


def _validate(key: str, texts: dict[str, str]) -> None:
    if not key or any(ch.isspace() for ch in key):
        raise CatalogueError(f"key {key!r}: a key is one word like 'area.thing'")
    unknown = sorted(set(texts) - set(LANGUAGES))
    if unknown:
        raise CatalogueError(f"key {key}: unknown language(s) {', '.join(unknown)}")
    for lang in REQUIRED_LANGUAGES:
        if not (texts.get(lang) or "").strip():
            raise CatalogueError(f"key {key}: text for {lang} is required")
    reference = placeholders(texts["nl"])
    for lang, text in texts.items():
        if text and placeholders(text) != reference:
            raise CatalogueError(
                f"key {key}: placeholders of {lang} {sorted(placeholders(text))} differ from nl "
                f"{sorted(reference)}")


def add_messages(entries: dict[str, dict[str, str]], replace: bool = False) -> list[str]:
    """Add (or with replace=True overwrite) strings in the .po files; returns the keys written.

    All-or-nothing: every entry is checked before any file is written."""
    catalogs = {lang: _catalogue.read_catalog(lang) for lang in LANGUAGES}
    for key, texts in entries.items():
        if not isinstance(texts, dict):
            raise CatalogueError(f"key {key}: expected {{'nl': ..., 'en': ...}}")
        _validate(key, texts)
        if not replace and key in catalogs["nl"]:
            raise CatalogueError(f"key {key} exists already (use --replace to overwrite)")
    for key, texts in entries.items():
        for lang in LANGUAGES:
            text = texts.get(lang, "")
            existing = catalogs[lang].get(key)
            if existing is not None and not text and lang not in REQUIRED_LANGUAGES:
                continue  # keep an existing French text when only nl/en are replaced
            if existing is not None:
                existing.string = text
                existing.flags.discard("fuzzy")
            else:
                catalogs[lang].add(key, string=text)
    for lang in LANGUAGES:
        _catalogue.write_catalog(catalogs[lang], lang)
    # the running process sees the new strings too
    for key, texts in entries.items():
        kept = {} if key not in CATALOGUE else {"fr": CATALOGUE[key]["fr"]} if "fr" in CATALOGUE[key] else {}
        CATALOGUE[key] = kept | {lang: text for lang, text in texts.items() if text}
    return list(entries)


def missing(lang: str) -> list[str]:
    return sorted(key for key, entry in CATALOGUE.items() if not entry.get(lang))


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netsterk.i18n", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add one string")
    add.add_argument("key")
    for lang in LANGUAGES:
        add.add_argument(f"--{lang}", default="", required=lang in REQUIRED_LANGUAGES)
    add.add_argument("--replace", action="store_true")
    bulk = commands.add_parser("import", help="add every string of a dict in a Python file")
    bulk.add_argument("file")
    bulk.add_argument("--var", default=None, help="name of the dict (default: the only/first dict)")
    bulk.add_argument("--replace", action="store_true")
    commands.add_parser("check", help="list untranslated messages; exit 1 if nl or en lacks one")
    miss = commands.add_parser("missing", help="keys a language lacks, with the English text")
    miss.add_argument("lang", choices=LANGUAGES)
    args = parser.parse_args(argv)
    try:
        if args.command == "add":
            texts = {lang: getattr(args, lang) for lang in LANGUAGES if getattr(args, lang)}
            add_messages({args.key: texts}, replace=args.replace)
            print(f"added {args.key}")
        elif args.command == "import":
            namespace = runpy.run_path(args.file)
            if args.var:
                entries = namespace[args.var]
            else:
                dicts = [v for k, v in namespace.items() if not k.startswith("_") and isinstance(v, dict)
                         and v and all(isinstance(x, dict) for x in v.values())]
                if not dicts:
                    raise CatalogueError(f"no dict of key -> {{lang: text}} in {args.file}")
                entries = dicts[0]
            keys = add_messages(entries, replace=args.replace)
            print(f"added {len(keys)} strings")
        elif args.command == "check":
            bad = 0
            for lang in LANGUAGES:
                keys = missing(lang)
                print(f"{lang}: {len(keys)} untranslated")
                if lang in REQUIRED_LANGUAGES:
                    bad += len(keys)
                    for key in keys:
                        print(f"  {key}")
            return 1 if bad else 0
        elif args.command == "missing":
            for key in missing(args.lang):
                print(f"{key}\t{CATALOGUE[key].get('en', '')!r}")
    except CatalogueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main())
