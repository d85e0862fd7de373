"""Issue 7 through the real stack (RabbitMQ, Temporal, every service, SMTP into the mail sink, the
intake mail gateway): signed single-action links in the partner's e-mail, exactly-once sending,
a relay outage that retries and then succeeds, a bounce that marks the address and tells the
coordinator, the failed list and the template editor in the portal."""
import email
import re
import smtplib
import time
from email import policy

import pytest
import requests

from netsterk import amqp, links
from netsterk.testing import wait_until
from services.portal.testing import anonymous_post, signed_in
from tests.test_end_to_end import act, form_data, mails, wait_state

pytestmark = pytest.mark.slow

LINK = re.compile(r"https?://\S+/l/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")


def rpc(settings, method, *args):
    return amqp.rpc_call(settings.amqp_uri, "notifications", method, *args, timeout=30)


def raw_message(settings, message_id):
    raw = requests.get(f"{settings.mailsink_url}/messages/{message_id}.eml", timeout=5).content
    return email.message_from_bytes(raw, policy=policy.default)


def login(settings, username):
    return signed_in(settings.portal_url, username)


def request(**overrides):
    data = {"idempotency_key": "e2e-7:once", "to": "once@school.example", "template": "reporter_received",
            "lang": "en", "context": {"status_url": "https://portal.example/status/r1/t0k"}, "network": "mechelen", "referral_ref": "NS-2026-990001",
            "correlation_id": "e2e-7"}
    data.update(overrides)
    return data


def test_partner_answers_through_a_signed_link_that_works_once(live_stack):
    settings, _stack = live_stack
    form = dict(form_data(), reporter_email="links.reporter@atheneum.example.org")
    done = requests.post(f"{settings.intake_url}/referrals/new", data=form, timeout=10)
    assert done.status_code == 200, done.text
    ref = re.search(r"NS-\d{4}-\d{6}", done.text).group(0)
    coordinator = login(settings, "coordinator")
    task = wait_until(lambda: next((t for t in coordinator.get(
        f"{settings.portal_url}/api/v1/tasks", timeout=10).json()
        if t["ref"] == ref and t["state"] == "triage"), None), timeout=90, what="the triage task")
    referral_id = task["referral_id"]
    act(settings, referral_id, "triage", decision="accept", reason="genoeg inspanningen")
    candidates = wait_state(settings, referral_id, "matching")["candidates"]
    best = next((c for c in candidates if "capacity" in c["matched"]), candidates[0])
    act(settings, referral_id, "choose_partner", offer_ids=[best["offer_id"]])
    wait_state(settings, referral_id, "awaiting_partner")

    mail = wait_until(lambda: [m for m in mails(settings, best["contact_email"]) if ref in m["subject"]],
                      timeout=60, what="the engagement e-mail")[0]
    message = raw_message(settings, mail["id"])
    assert message["Message-ID"].endswith("@netsterk.example>") and f"[{ref}]" in message["Subject"]
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    accept, decline = LINK.findall(text)[:2]
    assert f'href="{accept}"' in html and "Janssens" not in text + html

    page = requests.get(decline, timeout=10)
    assert page.status_code == 200 and "Weigeren" in page.text and 'name="reason"' in page.text
    page = requests.get(accept, timeout=10)
    assert page.status_code == 200 and ref in page.text
    tampered = requests.get(accept[:-3] + ("AAA" if not accept.endswith("AAA") else "BBB"), timeout=10)
    assert tampered.status_code == 404 and "niet geldig" in tampered.text
    key = links.link_key(settings)
    expired = links.url(settings.portal_url, links.Link.new("accept", referral_id, "x", days=-1), key)
    gone = requests.get(expired, timeout=10)
    assert gone.status_code == 410 and "verlopen op" in gone.text and "expired on" in gone.text

    answered = anonymous_post(accept, data={}, timeout=30)
    assert answered.status_code == 200 and "u aanvaardde melding" in answered.text, answered.text
    wait_state(settings, referral_id, "in_progress")
    again = anonymous_post(accept, data={}, timeout=30)
    assert again.status_code == 410 and "al gebruikt" in again.text and "already used" in again.text
    closed = requests.get(decline, timeout=10)
    assert closed.status_code == 410 and "niet meer open" in closed.text
    # exactly once: the partner got this request once, however often events or activities ran
    assert len([m for m in mails(settings, best["contact_email"])
                if m["subject"].startswith("Vraag tot inschakeling") and ref in m["subject"]]) == 1


def test_a_repeated_request_sends_once_and_a_relay_outage_retries_then_succeeds(live_stack):
    settings, stack = live_stack
    first = rpc(settings, "send_email", request())
    second = rpc(settings, "send_email", request(lang="nl"))     # a retried activity
    assert second == {"status": "duplicate", "mail_id": first["mail_id"]}
    wait_until(lambda: mails(settings, "once@school.example"), timeout=30, what="the one mail")
    time.sleep(2)
    assert len(mails(settings, "once@school.example")) == 1

    stack.stop_process("mailsink")
    try:
        queued = rpc(settings, "send_email", request(idempotency_key="e2e-7:outage", to="outage@school.example"))
        assert queued["status"] == "queued"
        status = rpc(settings, "mail_status", queued["mail_id"])
        assert status["status"] == "pending" and status["last_error"].startswith("ConnectionRefusedError")
    finally:
        stack.start_process("mailsink")
    wait_until(lambda: rpc(settings, "mail_status", queued["mail_id"])["status"] == "sent", timeout=180,
               what="the retried mail sent")
    wait_until(lambda: requests.get(f"{settings.mailsink_url}/api/messages", timeout=5).ok, timeout=30,
               what="the mail sink back")
    assert len(mails(settings, "outage@school.example")) == 1
    assert rpc(settings, "mail_status", queued["mail_id"])["attempts"] >= 2


BOUNCE = """\
Return-Path: <>
From: MAILER-DAEMON@mx.school.example (Mail Delivery System)
To: meldpunt@netsterk.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-{stamp}@mx.school.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.school.example

Final-Recipient: rfc822; {to}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--B
Content-Type: text/rfc822-headers

From: meldpunt@netsterk.example
To: {to}
Subject: {subject}
Message-ID: {message_id}

--B--
"""


def test_a_bounce_marks_the_address_tells_the_coordinator_and_shows_in_the_portal(live_stack):
    settings, _stack = live_stack
    sent = rpc(settings, "send_email", request(idempotency_key="e2e-7:bounce", to="gone@school.example",
                                               referral_ref="NS-2026-990002"))
    mail = wait_until(lambda: mails(settings, "gone@school.example"), timeout=30, what="the mail")[0]
    message = raw_message(settings, mail["id"])
    bounce = BOUNCE.format(stamp=time.time_ns(), to="gone@school.example", subject=message["Subject"],
                           message_id=message["Message-ID"]).replace("\n", "\r\n").encode()
    with smtplib.SMTP("127.0.0.1", settings.intake_smtp_port, timeout=10) as smtp:
        smtp.sendmail("", ["meldpunt@netsterk.example"], bounce)

    failing = wait_until(lambda: [f for f in rpc(settings, "failing_addresses", "mechelen")
                                  if f["address"] == "gone@school.example"], timeout=60,
                         what="the address marked failing")[0]
    assert failing["status"] == "5.1.1" and failing["referral_ref"] == "NS-2026-990002"
    assert rpc(settings, "mail_status", sent["mail_id"])["status"] == "failed"
    told = wait_until(lambda: [m for m in mails(settings, settings.coordinator_email)
                               if m["subject"].startswith("E-mail niet afgeleverd")
                               and "NS-2026-990002" in m["subject"]], timeout=60, what="the coordinator told")
    assert len(told) == 1 and "550 5.1.1" in told[0]["text"]

    coordinator = login(settings, "coordinator")
    page = coordinator.get(f"{settings.portal_url}/notifications/failed", timeout=10)
    assert page.status_code == 200 and "NS-2026-990002" in page.text and "gone@school.example" in page.text
    assert "bounced: 5.1.1" in page.text


def test_the_network_admin_adjusts_a_template_with_a_preview(live_stack):
    settings, _stack = live_stack
    admin = login(settings, "admin")
    url = f"{settings.portal_url}/notifications/templates/reporter_received/en"
    page = admin.get(url, timeout=10)
    assert page.status_code == 200 and 'id="preview"' in page.text and "Your referral was received" in page.text
    wrong = admin.post(url, data={"subject": "No reference", "body": "Hello {ref}", "do": "save"}, timeout=10)
    assert wrong.status_code == 422 and "subject must keep [{ref}]" in wrong.text
    body = "Thank you. We keep <you> posted about {ref}: {status_url}"
    preview = admin.post(url, data={"subject": "Got it [{ref}]", "body": body, "do": "preview"}, timeout=10)
    assert preview.status_code == 200 and "Got it [NS-2026-000123]" in preview.text
    assert "&amp;lt;you&amp;gt;" in preview.text        # escaped in the HTML preview (srcdoc)
    saved = admin.post(url, data={"subject": "Got it [{ref}]", "body": body, "do": "save"}, timeout=10)
    assert saved.status_code == 200 and "Template saved" in saved.text
    assert requests.Session().get(url, timeout=10, allow_redirects=False).status_code in (302, 303)
    assert login(settings, "coordinator").get(url, timeout=10).status_code == 403

    rpc(settings, "send_email", request(idempotency_key="e2e-7:custom", to="custom@school.example",
                                        referral_ref="NS-2026-990003"))
    mail = wait_until(lambda: mails(settings, "custom@school.example"), timeout=30, what="the custom mail")[0]
    assert mail["subject"] == "Got it [NS-2026-990003]" and "We keep <you> posted about NS-2026-990003" in mail["text"]
    reset = admin.post(url, data={"do": "reset"}, timeout=10)
    assert reset.status_code == 200 and "Your referral was received" in reset.text


def test_every_party_hears_back_in_their_language_with_links_that_work_once(live_stack):
    """An e-mailed concern → the reporter's complete-draft mail (English, as the mail was) whose
    signed link leads to that draft and afterwards says it was used; the partner's request with
    what it needs to decide (no name); a feedback link that works once; the coordinators' mailbox
    set to English gets the escalation and the daily digest in English."""
    from datetime import datetime, timedelta

    settings, _stack = live_stack
    reporter = "draft.reporter@atheneum.example.org"
    raw = (f"From: Care Team <{reporter}>\r\nTo: meldpunt@netsterk.example\r\n"
           "Subject: Worried about a pupil\r\nMessage-ID: <e2e-7b-draft@atheneum.example.org>\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\n"
           "The pupil is not in school and the parents do not answer. Please help us with the student.\r\n")
    with smtplib.SMTP(settings.host, settings.intake_smtp_port, timeout=10) as smtp:
        smtp.sendmail(reporter, ["meldpunt@netsterk.example"], raw.encode())
    mail = wait_until(lambda: [m for m in mails(settings, reporter)
                               if m["subject"].startswith("Please complete your referral")],
                      timeout=90, what="the complete-draft mail")[0]
    ref = re.search(r"NS-\d{4}-\d{6}", mail["subject"]).group(0)
    [complete] = LINK.findall(mail["text"])
    form = requests.get(complete, timeout=10)        # the portal checks the link, then intake's form
    assert form.status_code == 200 and "/referrals/draft/" in form.url and reporter in form.text
    draft_token = form.url.rsplit("/", 1)[1]
    fields = {**form_data(), "reporter_email": reporter, "draft_token": draft_token, "action": "submit"}
    done = requests.post(f"{settings.intake_url}/referrals/new", data=fields, timeout=10)
    assert done.status_code == 200 and ref in done.text, done.text
    referral_id = links.verify(complete.split("/l/")[1], links.link_key(settings)).referral_id
    wait_state(settings, referral_id, "triage")
    used = wait_until(lambda: (r := requests.get(complete, timeout=10)).status_code == 410 and r.text,
                      timeout=30, what="the complete-draft link used")
    assert "already used on" in used

    # the partner's request: what it needs to decide, in words, and no name or birth date
    act(settings, referral_id, "triage", decision="accept", reason="e2e 7b")
    candidates = wait_state(settings, referral_id, "matching")["candidates"]
    best = next((c for c in candidates if "capacity" in c["matched"]), candidates[0])
    act(settings, referral_id, "choose_partner", offer_ids=[best["offer_id"]])
    snap = wait_state(settings, referral_id, "awaiting_partner")
    request_mail = wait_until(lambda: [m for m in mails(settings, best["contact_email"]) if ref in m["subject"]],
                              timeout=60, what="the engagement request")[0]
    text = request_mail["text"]
    for fact in ("Zorgen: Spijbelen, Motivatie", "Leeftijdsgroep: 12-15", "Onderwijsniveau: Secundair onderwijs",
                 "Dringendheid: Gewoon", "Taal of talen: Nederlands, Arabisch", "Buurt of postcode: 2800",
                 "Antwoord graag voor: 20"):
        assert fact in text, fact
    assert "Janssens" not in text and not re.search(r"\bSam\b", text) and "2011-03-02" not in text
    accept = LINK.findall(text)[0]
    assert anonymous_post(accept, data={}, timeout=30).status_code == 200
    snap = wait_state(settings, referral_id, "in_progress")
    token = snap["engagements"][0]["token"]

    # a feedback link (as the feedback reminder carries it): its form, once
    key = links.link_key(settings)
    feedback = links.url(settings.portal_url, links.Link.new("feedback", referral_id, token), key)
    page = requests.get(feedback, timeout=10)
    assert page.status_code == 200 and 'id="partner-feedback"' in page.text and ref in page.text
    sent = anonymous_post(feedback, data={"text": "First talk with the family planned."}, timeout=30)
    assert sent.status_code == 200 and "terugkoppeling is bewaard" in sent.text
    again = requests.get(feedback, timeout=10)
    assert again.status_code == 410 and "already used on" in again.text
    assert [f["text"] for f in wait_state(settings, referral_id, "in_progress")["feedback"]] == [
        "First talk with the family planned."]

    # the coordinators' mailbox reads English: the escalation and the daily digest come in English
    assert rpc(settings, "set_recipient_language", "mechelen", settings.coordinator_email, "en", "e2e")["problems"] == []
    try:
        helped = anonymous_post(f"{settings.portal_url}/engagements/{referral_id}/{token}/help",
                                data={"text": "The family cannot be reached."}, timeout=30)
        assert helped.status_code == 200
        escalation = wait_until(lambda: [m for m in mails(settings, settings.coordinator_email)
                                         if ref in m["subject"] and m["subject"].startswith("Escalation:")],
                                timeout=60, what="the English escalation")
        assert len(escalation) == 1 and "Escalatie" not in escalation[0]["text"]
        deadlines = wait_state(settings, referral_id, "in_progress")["deadlines"]
        latest = max(datetime.fromisoformat(d) for d in deadlines.values())
        at = (latest + timedelta(days=2)).isoformat()
        wait_until(lambda: any(d["network"] == "mechelen" for d in rpc(settings, "send_daily_digests", at)),
                   timeout=30, what="the digest asked")
        digest = wait_until(lambda: [m for m in mails(settings, settings.coordinator_email)
                                     if m["subject"].startswith("Overview of") and "mechelen-" in m["subject"]],
                            timeout=60, what="the English digest")[0]
        assert ref in digest["text"] and "Overzicht" not in digest["subject"]
    finally:
        rpc(settings, "set_recipient_language", "mechelen", settings.coordinator_email, "", "e2e")
