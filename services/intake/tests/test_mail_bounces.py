"""Reading the delivery report of a bounce (services/intake/mail/bounces.py) over the corpus."""
import base64
from pathlib import Path

import pytest

from services.intake.mail.bounces import forward, read_report
from services.intake.mail.parse import parse_mail

CORPUS = Path(__file__).resolve().parents[3] / "tests" / "data" / "mail"
OWN = {"netsterk.example"}


@pytest.mark.parametrize("name,recipient,status", [
    ("bounce_postfix.eml", "ouder.janssens@mail.example", "5.1.1"),
    ("bounce_exchange.eml", "leerkracht@school.example", "5.1.10"),
    ("bounce_gmail.eml", "mama.el.amrani@mail.example", "5.1.1"),
    ("bounce_exim_report.eml", "clb@clb.example", "5.2.2"),
    ("bounce_sendmail.eml", "sport@club.example", "5.0.0"),
    ("bounce_office365_nl.eml", "directie@scholengroep.example", "5.4.1"),
])
def test_permanent_bounces_name_recipient_and_status(name, recipient, status):
    raw = (CORPUS / name).read_bytes()
    parsed = parse_mail(raw, own_domains=OWN, envelope_from="")
    report = read_report(raw, parsed.answers)
    assert report.recipients == [recipient] and report.status == status and report.permanent
    calls = []
    answer = forward(base64.b64encode(raw).decode(), parsed, OWN, lambda r: calls.append(r) or {"ok": 1})
    assert answer == {"ok": 1} and calls[0]["original_message_id"] == parsed.answers


def test_a_delayed_notice_or_a_bounce_of_someone_elses_mail_changes_nothing():
    raw = (CORPUS / "bounce_postfix_delayed.eml").read_bytes()
    parsed = parse_mail(raw, own_domains=OWN, envelope_from="")
    assert read_report(raw, parsed.answers).permanent is False
    assert forward(base64.b64encode(raw).decode(), parsed, OWN, lambda r: 1 / 0) is None
    raw = (CORPUS / "bounce_postfix.eml").read_bytes()
    parsed = parse_mail(raw, own_domains={"other.example"}, envelope_from="")
    assert forward(base64.b64encode(raw).decode(), parsed, {"other.example"}, lambda r: 1 / 0) is None


def test_odd_input_gives_an_empty_report():
    assert read_report(b"\x00\xff garbage", None).recipients == []
