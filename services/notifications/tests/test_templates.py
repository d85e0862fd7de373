"""Unit tests of the pure template rendering."""
import pytest

from services.notifications.templates import (
    TEMPLATES, MissingContext, TemplateError, UnknownTemplate, placeholders, render,
)

FULL_CONTEXT = {"ref": "NS-2026-000001", "offer_name": "Outreach", "accept_url": "https://x.example/a/t0k",
                "outcome": "Terug op school", "confirm_url": "https://x.example/c/t0k",
                "state": "triage", "reason": "deadline passed", "question": "Welke klas?",
                "answer_url": "https://x.example/i/t0k", "re_engaged": "partly",
                "what_was_done": "NAFT-traject", "to_service": "CAW", "feedback_url": "https://x.example/f"}


def test_closure_feedback_shows_the_coded_answer_as_words():
    _, body = render("closure_feedback", "nl", FULL_CONTEXT)
    assert "gedeeltelijk" in body and "NAFT-traject" in body
    _, body = render("closure_feedback", "en", dict(FULL_CONTEXT, re_engaged="yes"))
    assert "re-engage with school? yes" in body


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_template_renders_in_both_languages_with_the_ref_in_the_subject(template, lang):
    subject, body = render(template, lang, FULL_CONTEXT)
    assert "[NS-2026-000001]" in subject
    assert "NS-2026-000001" in body
    assert "{" not in subject + body
    assert placeholders(template, "nl") == placeholders(template, "en")


def test_partner_engagement_contains_the_accept_url():
    subject, body = render("partner_engagement", "nl", FULL_CONTEXT)
    assert subject == "Vraag tot inschakeling: Outreach [NS-2026-000001]"
    assert "https://x.example/a/t0k" in body
    _subject, body_en = render("partner_engagement", "en", FULL_CONTEXT)
    assert body_en.startswith("Dear partner") and "https://x.example/a/t0k" in body_en


def test_missing_context_key_is_a_clear_error():
    with pytest.raises(MissingContext, match="template partner_engagement needs context accept_url"):
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
