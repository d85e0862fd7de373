"""The Babel/gettext catalogue: complete in nl and en, consistent placeholders, the tool works."""
import re
from pathlib import Path

import pytest

from netsterk import catalogue as catalogue_module
from netsterk import i18n
from netsterk.catalogue import CATALOGUE, PO_LANGUAGES, placeholders, read_catalog
from services.notifications.templates import TEMPLATES

ROOT = Path(__file__).resolve().parents[3]
LITERAL_KEY = re.compile(r"\b(?:t|both)\(\s*[\"']([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)[\"']")


def test_every_message_is_translated_in_dutch_and_english():
    untranslated = {lang: [key for key, entry in CATALOGUE.items() if not entry.get(lang)]
                    for lang in i18n.REQUIRED_LANGUAGES}
    assert untranslated == {"nl": [], "en": []}
    assert len(CATALOGUE) > 400


def test_each_po_file_has_the_same_keys_as_dutch():
    reference = {m.id for m in read_catalog("nl") if m.id}
    for lang in PO_LANGUAGES:
        keys = {m.id for m in read_catalog(lang) if m.id}
        assert keys == reference, f"{lang}.po differs from nl.po: {sorted(keys ^ reference)[:10]}"


def test_placeholders_are_the_same_in_every_language():
    wrong = [(key, lang) for key, entry in CATALOGUE.items() for lang, text in entry.items()
             if placeholders(text) != placeholders(entry["nl"])]
    assert wrong == []


def test_every_literal_key_in_the_code_is_in_the_catalogue():
    used = set()
    for folder in ("netsterk", "services", "workflows", "netsterk_ops"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "test_catalogue.py":
                continue
            used.update(LITERAL_KEY.findall(path.read_text(encoding="utf-8")))
    assert len(used) > 100
    assert sorted(used - set(CATALOGUE)) == []


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_string_is_in_the_catalogue(template):
    for part in ("subject", "body"):
        key = f"notifications.{template}.{part}"
        assert key in CATALOGUE and all(CATALOGUE[key].get(lang) for lang in ("nl", "en"))


def test_french_falls_back_to_english_and_the_api_is_unchanged():
    assert i18n.t("app.name", "nl") == "Netsterk meldpunt"
    assert i18n.t("field.too_long", "en", max=5) == "At most 5 characters."
    assert i18n.both("field.required") == "Dit veld is verplicht. / This field is required."
    fr = i18n.t("field.required", "fr")
    assert fr == CATALOGUE["field.required"].get("fr", "This field is required.")
    with pytest.raises(KeyError):
        i18n.t("no.such.key", "nl")


@pytest.fixture
def scratch_locale(tmp_path, monkeypatch):
    for lang in PO_LANGUAGES:
        target = tmp_path / lang / "LC_MESSAGES"
        target.mkdir(parents=True)
        (target / "netsterk.po").write_bytes(catalogue_module.po_path(lang).read_bytes())
    monkeypatch.setattr(catalogue_module, "LOCALE_DIR", tmp_path)
    saved = dict(CATALOGUE)
    yield tmp_path
    CATALOGUE.clear()
    CATALOGUE.update(saved)


def test_the_tool_adds_a_string_to_every_po_file(scratch_locale):
    assert i18n._main(["add", "test.greeting", "--nl", "Dag {name}", "--en", "Hello {name}"]) == 0
    assert i18n.t("test.greeting", "en", name="Ann") == "Hello Ann"
    assert {m.id: m.string for m in read_catalog("fr")}["test.greeting"] == ""
    assert "test.greeting" in catalogue_module.load()
    assert catalogue_module.load()["test.greeting"] == {"nl": "Dag {name}", "en": "Hello {name}"}
    # an existing key is refused, --replace overwrites
    assert i18n._main(["add", "test.greeting", "--nl", "Hoi {name}", "--en", "Hi {name}"]) == 2
    assert i18n._main(["add", "test.greeting", "--nl", "Hoi {name}", "--en", "Hi {name}",
                       "--fr", "Salut {name}", "--replace"]) == 0
    assert catalogue_module.load()["test.greeting"]["fr"] == "Salut {name}"


def test_the_tool_imports_a_dict_all_or_nothing(scratch_locale, tmp_path):
    source = tmp_path / "strings.py"
    source.write_text('NEW = {"test.a": {"nl": "A", "en": "A"}, "test.b": {"nl": "B {x}", "en": "B"}}\n')
    assert i18n._main(["import", str(source)]) == 2  # placeholders differ: nothing written
    assert "test.a" not in catalogue_module.load()
    source.write_text('NEW = {"test.a": {"nl": "A", "en": "A"}, "test.b": {"nl": "B {x}", "en": "B {x}"}}\n')
    assert i18n._main(["import", str(source)]) == 0
    assert {"test.a", "test.b"} <= set(catalogue_module.load())
    with pytest.raises(i18n.CatalogueError, match="text for en is required"):
        i18n.add_messages({"test.c": {"nl": "C"}})
