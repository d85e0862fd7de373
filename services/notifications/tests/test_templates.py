"""Unit tests of the pure template rendering."""
import pytest

from netsterk.i18n import LANGUAGES
from services.notifications.templates import (
    SAMPLE_CONTEXT, TEMPLATES, MissingContext, TemplateError, UnknownTemplate, check_override,
    placeholders, render, render_html,
)

FULL_CONTEXT = dict(SAMPLE_CONTEXT, ref="NS-2026-000001", accept_url="https://x.example/a/t0k",
                    outcome="Terug op school", confirm_url="https://x.example/c/t0k",
                    question="Welke klas?", answer_url="https://x.example/i/t0k",
                    what_was_done="NAFT-traject", feedback_url="https://x.example/f",
                    status_url="https://x.example/status/r1/t0k")


def test_closure_feedback_shows_the_coded_answer_as_words():
    _, body = render("closure_feedback", "nl", FULL_CONTEXT)
    assert "gedeeltelijk" in body and "NAFT-traject" in body
    _, body = render("closure_feedback", "en", dict(FULL_CONTEXT, re_engaged="yes"))
    assert "re-engage with school? yes" in body


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_template_renders_in_every_language_with_the_ref_in_the_subject(template, lang):
    subject, body = render(template, lang, FULL_CONTEXT)
    assert "[NS-2026-000001]" in subject
    assert "{" not in subject + body
    assert placeholders(template, "nl") == placeholders(template, lang)
    html = render_html(template, lang, FULL_CONTEXT)
    assert f'<html lang="{lang}">' in html and "{" not in html


@pytest.mark.parametrize("template", TEMPLATES)
def test_french_templates_are_translated(template):
    """French is enabled per network; the e-mail templates themselves are complete in French."""
    from netsterk.catalogue import CATALOGUE
    for part in ("subject", "body"):
        assert CATALOGUE[f"notifications.{template}.{part}"].get("fr"), f"{template}.{part} has no French"


def test_html_part_escapes_user_content_and_links_become_anchors():
    evil = dict(FULL_CONTEXT, question='<script>alert(1)</script> & "x"',
                answer_url='https://x.example/i/t0k?a=1&b="2"')
    html = render_html("information_request", "en", evil)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;" in html
    assert '<a href="https://x.example/i/t0k?a=1&amp;b=&quot;2&quot;">' in html


def test_a_network_override_is_checked_and_used():
    assert check_override("reporter_received", "Ontvangen [{ref}]", "Melding {ref}: {status_url}") == []
    assert check_override("reporter_received", "Ontvangen", "Melding {ref}: {status_url}") == [
        "subject must keep [{ref}] (replies thread back by it)"]
    assert check_override("reporter_received", "X [{ref}]", "Hallo {name} {status_url}") == [
        "body uses unknown fields: name"]
    assert check_override("reporter_received", "X [{ref}]", "Melding {ref}.") == [
        "body must keep the links: status_url"]
    assert check_override("school_efforts_request", "X [{ref}]", "Geen link") == [
        "body must keep the links: confirm_url"]
    assert "not a valid template" in check_override("reporter_received", "X [{ref}]", "oops {")[0]
    subject, body = render("reporter_received", "nl", FULL_CONTEXT,
                           {"subject": "Ontvangen [{ref}]", "body": "Melding {ref}: {status_url}"})
    assert (subject, body) == ("Ontvangen [NS-2026-000001]",
                               "Melding NS-2026-000001: https://x.example/status/r1/t0k")


def test_partner_engagement_contains_the_accept_url():
    subject, body = render("partner_engagement", "nl", FULL_CONTEXT)
    assert subject == "Vraag tot inschakeling: Outreach [NS-2026-000001]"
    assert "https://x.example/a/t0k" in body
    _subject, body_en = render("partner_engagement", "en", FULL_CONTEXT)
    assert body_en.startswith("Dear partner") and "https://x.example/a/t0k" in body_en


def test_missing_context_key_is_a_clear_error():
    with pytest.raises(MissingContext, match="template partner_engagement needs context accept_link, accept_url, "
                                             "age_band, answer_by, area, categories, decline_link, languages"):
        render("partner_engagement", "nl", {"ref": "NS-2026-000001", "offer_name": "X"})
    with pytest.raises(MissingContext, match="outcome"):
        render("reporter_closed", "en", {"ref": "NS-2026-000001", "outcome": None})
    with pytest.raises(MissingContext, match="confirm_url"):
        render("school_efforts_request", "en", {"ref": "NS-2026-000001", "confirm_url": " "})


def test_an_empty_text_value_shows_as_not_given():
    _subject, body = render("reporter_closed", "nl", {"ref": "NS-2026-000001", "outcome": ""})
    assert "Uitkomst: niet opgegeven" in body


def test_unknown_template_or_language_is_refused():
    with pytest.raises(UnknownTemplate, match="unknown template 'newsletter'"):
        render("newsletter", "nl", FULL_CONTEXT)
    with pytest.raises(TemplateError, match="unknown language 'de'"):
        render("reporter_received", "de", FULL_CONTEXT)


def test_state_codes_show_as_labels_and_subject_values_stay_on_one_line():
    subject, body = render("coordinator_escalation", "nl", FULL_CONTEXT)
    assert "status Triage" in subject
    subject, _body = render("partner_engagement", "en",
                            dict(FULL_CONTEXT, offer_name="Evil\r\nBcc: someone@example.org"))
    assert "\n" not in subject and "\r" not in subject


def test_the_preview_sample_fills_every_template_in_every_language():
    """The template editor previews with SAMPLE_CONTEXT: it must carry every field any template uses."""
    from netsterk.i18n import LANGUAGES
    from services.notifications.templates import TEMPLATES, render_html

    for template in TEMPLATES:
        for lang in LANGUAGES:
            subject, body = render(template, lang, SAMPLE_CONTEXT)
            assert "NS-2026-000123" in subject and body
            assert render_html(template, lang, SAMPLE_CONTEXT).startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("lang, words", [
    ("nl", ["Zorgen: Spijbelen, Welbevinden", "Leeftijdsgroep: 12-15", "Onderwijsniveau: Secundair onderwijs",
            "Dringendheid: Dringend", "Taal of talen: Nederlands, Arabisch", "Buurt of postcode: 2800",
            "Antwoord graag voor: 2026-12-09"]),
    ("en", ["Concerns: Truancy, Wellbeing", "Age band: 12-15", "School level: Secondary", "Urgency: Urgent",
            "Language(s): Dutch, Arabic", "Neighbourhood or postcode: 2800", "Please answer by: 2026-12-09"]),
    ("fr", ["Inquiétudes : Absentéisme scolaire, Bien-être", "Niveau scolaire : Secondaire", "Urgence : Urgente",
            "Langue(s) : Néerlandais, Arabe", "Merci de répondre avant le : 2026-12-09"]),
])
def test_the_engagement_request_tells_what_a_partner_needs_to_decide_in_words(lang, words):
    context = dict(FULL_CONTEXT, categories=["truancy", "wellbeing"], urgency="urgent", area="2800",
                   languages=["nl", "ar"], answer_by="2026-12-09")
    _subject, body = render("partner_engagement", lang, context)
    for text in words:
        assert text in body
    html = render_html("partner_engagement", lang, context)
    assert words[0].split(":")[-1].strip() in html


def test_an_unknown_age_or_area_shows_as_not_given():
    _subject, body = render("partner_engagement", "en", dict(FULL_CONTEXT, age_band="", area="", languages=[]))
    assert "Age band: not given" in body and "Neighbourhood or postcode: not given" in body
    assert "Language(s): not given" in body


def test_the_draft_receipt_asks_the_reporter_to_complete_it_in_their_language():
    subject, body = render("reporter_draft", "en", dict(FULL_CONTEXT, complete_url="https://p.example/l/abc"))
    assert subject == "Please complete your referral [NS-2026-000001]"
    assert "Complete your referral here" in body and "https://p.example/l/abc" in body
    subject, body = render("reporter_draft", "nl", dict(FULL_CONTEXT, complete_url="https://p.example/l/abc"))
    assert subject == "Vul uw melding aan [NS-2026-000001]" and "https://p.example/l/abc" in body
