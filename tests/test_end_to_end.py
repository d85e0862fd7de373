"""One referral from the public form to "closed" through the real stack: RabbitMQ, the Temporal
dev server, every nameko service, the worker, the bridge, SMTP into the mail sink."""
import re

import pytest
import requests

from netsterk import amqp
from netsterk.testing import wait_until
from services.portal.testing import anonymous_post, signed_in

pytestmark = pytest.mark.slow

COORDINATOR = ("coordinator", "netsterk-demo")


def form_data():
    return {
        "network": "mechelen", "reporter_name": "An Peeters", "reporter_organisation": "GO! Atheneum Mechelen",
        "reporter_role": "leerlingbegeleider", "reporter_email": "an.peeters@atheneum.example.org",
        "reporter_is_school": "on", "first_name": "Sam", "last_name": "Janssens", "birth_date": "2011-03-02",
        "school_level": "secondary", "postcode": "2800", "languages": "nl, ar",
        "categories": ["truancy", "motivation"], "description": "Sam komt sinds oktober onregelmatig naar school.",
        "school_efforts": "Drie telefoons naar de ouders en een huisbezoek.",
        "school_efforts_when": "4/11, 6/11, 8/11; huisbezoek 12/11", "school_efforts_result": "Geen contact",
        "consent": "parents",
    }


def mails(settings, to=None):
    messages = requests.get(f"{settings.mailsink_url}/api/messages", timeout=5).json()
    return [m for m in messages if to is None or any(to in addr for addr in m["to"])]


def snapshot(settings, referral_id):
    response = requests.get(f"{settings.portal_url}/api/v1/referrals/{referral_id}", auth=COORDINATOR, timeout=10)
    response.raise_for_status()
    return response.json()


def act(settings, referral_id, action, **args):
    response = requests.post(f"{settings.portal_url}/api/v1/referrals/{referral_id}/actions/{action}",
                             json=args, auth=COORDINATOR, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def wait_state(settings, referral_id, state):
    return wait_until(lambda: (s := snapshot(settings, referral_id))["state"] == state and s,
                      timeout=60, what=f"state {state}")


def test_referral_travels_from_form_to_closed(live_stack):
    settings, _stack = live_stack

    before = amqp.rpc_call(settings.amqp_uri, "reporting", "counts", "mechelen")

    # 1. the reporter fills in the web form
    form = requests.get(f"{settings.intake_url}/referrals/new", timeout=10)
    assert form.status_code == 200 and "Mechelen" in form.text
    bad = requests.post(f"{settings.intake_url}/referrals/new", data={**form_data(), "postcode": "28"}, timeout=10)
    assert bad.status_code == 422 and "error-postcode" in bad.text
    done = requests.post(f"{settings.intake_url}/referrals/new", data=form_data(), timeout=10)
    assert done.status_code == 200, done.text
    ref = re.search(r"NS-\d{4}-\d{6}", done.text).group(0)

    # 2. the bridge started the workflow; it waits in triage (school efforts were in the form)
    task = wait_until(lambda: next((t for t in requests.get(
        f"{settings.portal_url}/api/v1/tasks", auth=COORDINATOR, timeout=10).json()
        if t["ref"] == ref and t["state"] == "triage"), None), timeout=60, what="triage task in the inbox")
    referral_id = task["referral_id"]
    wait_until(lambda: mails(settings, "an.peeters@atheneum.example.org"), timeout=30,
               what="the reporter's acknowledgement")

    # 3. the coordinator accepts; matching ranks the offers; the coordinator picks the best one
    act(settings, referral_id, "triage", decision="accept", reason="school deed genoeg")
    state = wait_state(settings, referral_id, "matching")
    candidates = state["candidates"]
    assert candidates and all(c["explanation"] for c in candidates)
    best = next((c for c in candidates if "capacity" in c["matched"]), candidates[0])  # a free place
    assert "truancy" in " ".join(best["matched"]) or best["score"] > 0
    act(settings, referral_id, "choose_partner", offer_ids=[best["offer_id"]])
    wait_state(settings, referral_id, "awaiting_partner")

    # 4. the partner receives the e-mail and accepts through the link in it
    partner_mail = wait_until(lambda: mails(settings, best["contact_email"]), timeout=30,
                              what="the partner's engagement e-mail")[0]
    assert ref in partner_mail["subject"]
    link = re.search(r"https?://\S+/engagements/\S+", partner_mail["text"]).group(0)
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and ref in page.text
    assert "Sam" not in page.text and "Janssens" not in page.text
    accepted = anonymous_post(f"{link}/respond", data={"accept": "1", "reason": ""}, timeout=30)
    assert accepted.status_code == 200, accepted.text
    wait_state(settings, referral_id, "in_progress")

    # 5. the partner gives feedback; the coordinator closes
    feedback = anonymous_post(f"{link}/feedback", data={"text": "Eerste gesprek met Sam en moeder gehad."},
                             timeout=30)
    assert feedback.status_code == 200, feedback.text
    wait_until(lambda: snapshot(settings, referral_id)["feedback"], timeout=30, what="feedback recorded")
    act(settings, referral_id, "close", re_engaged="yes", what_was_done="Sam gaat terug naar school")
    final = wait_state(settings, referral_id, "closed")
    moves = [(h["from_state"], h["to_state"]) for h in final["history"]]
    assert ("triage", "matching") in moves and ("in_progress", "closed") in moves

    # 6. everyone heard back, and reporting counted it
    reporter_mails = wait_until(lambda: len(m := mails(settings, "an.peeters@atheneum.example.org")) >= 2 and m,
                                timeout=30, what="the reporter's closing e-mail")
    assert all(ref in m["subject"] for m in reporter_mails)
    closed_before = before["by_state"].get("closed", 0)
    counts = wait_until(lambda: (c := amqp.rpc_call(settings.amqp_uri, "reporting", "counts", "mechelen"))
                        ["by_state"].get("closed", 0) == closed_before + 1 and c,
                        timeout=30, what="reporting counts")
    assert counts["total"] == before["total"] + 1
    for category in ("truancy", "motivation"):
        assert counts["by_category"][category] == before["by_category"].get(category, 0) + 1


def _form_command(page: str, action: str) -> str:
    form = re.search(rf'id="action-{action}">.*?</form>', page, re.S).group(0)
    return re.search(r'name="command_id" value="([0-9a-f]+)"', form).group(1)


def test_partner_declines_next_accepts_feedback_closure_and_everyone_hears(live_stack):
    """The referral lifecycle as its users live it (issue 6): a CLB worker reports (the school is
    someone else), the coordinator accepts and picks a partner in the portal, that partner
    declines through its link with a coded reason, the workflow engages the next candidate, who
    accepts, gives feedback and reports the end; the coordinator closes with the outcome and both
    the reporter and the school receive their feedback e-mail."""
    settings, _stack = live_stack
    reporter, school = "lotte.maes@clb-mechelen.example.org", "zorg@atheneum-mechelen.example.org"
    data = {**form_data(), "reporter_name": "Lotte Maes", "reporter_organisation": "CLB Mechelen",
            "reporter_role": "CLB-medewerker", "reporter_email": reporter, "school_email": school,
            "first_name": "Noor", "last_name": "Wouters", "birth_date": "2010-05-12"}
    data.pop("reporter_is_school")
    done = requests.post(f"{settings.intake_url}/referrals/new", data=data, timeout=10)
    assert done.status_code == 200, done.text
    ref = re.search(r"NS-\d{4}-\d{6}", done.text).group(0)

    coordinator = signed_in(settings.portal_url, COORDINATOR[0], COORDINATOR[1])
    task = wait_until(lambda: next((t for t in coordinator.get(f"{settings.portal_url}/api/v1/tasks",
                                                               params={"state": "triage"}, timeout=10).json()
                                    if t["ref"] == ref), None), timeout=60, what="the triage task")
    referral_id, detail_url = task["referral_id"], f"{settings.portal_url}/referrals/{task['referral_id']}"
    assert task["urgency"] == "normal" and task["deadlines"]["triage"] == task["due_at"]
    inbox = coordinator.get(f"{settings.portal_url}/?state=triage", timeout=10).text
    assert ref in inbox and "te doen tegen" in inbox

    # the coordinator accepts in the portal; a double click on the form acts once
    page = coordinator.get(detail_url, timeout=10).text
    form = {"command_id": _form_command(page, "triage"), "decision": "accept", "reason": "NAFT-vraag"}
    for _ in range(2):
        assert coordinator.post(f"{detail_url}/actions/triage", data=form, allow_redirects=False,
                                timeout=30).status_code == 303
    state = wait_state(settings, referral_id, "matching")
    assert [h["to_state"] for h in state["history"]].count("matching") == 1
    first, second = state["candidates"][:2]
    page = coordinator.get(detail_url, timeout=10).text
    chosen = coordinator.post(f"{detail_url}/actions/choose_partner",
                              data={"command_id": _form_command(page, "choose_partner"),
                                    "offer_ids": first["offer_id"]}, allow_redirects=False, timeout=30)
    assert chosen.status_code == 303
    wait_state(settings, referral_id, "awaiting_partner")

    def engagement_link(candidate):
        def find():
            for mail in mails(settings, candidate["contact_email"]):
                if ref in mail["subject"] and candidate["offer_name"] in mail["subject"]:
                    return re.search(r"https?://\S+/engagements/\S+", mail["text"]).group(0)
            return None
        return wait_until(find, timeout=30, what=f"the engagement e-mail to {candidate['organisation_name']}")

    # the first partner declines through its link with a coded reason
    link = engagement_link(first)
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and "Noor" not in page.text and "Wouters" not in page.text
    declined = anonymous_post(f"{link}/respond", data={"accept": "0", "reason": "no_capacity", "note": ""}, timeout=30)
    assert declined.status_code == 200, declined.text

    # the workflow engages the next candidate at once; that partner accepts
    state = wait_until(lambda: (s := snapshot(settings, referral_id)) and len(s["engagements"]) == 2 and s,
                       timeout=30, what="the next candidate engaged")
    assert [(e["offer_id"], e["status"]) for e in state["engagements"]] == [
        (first["offer_id"], "declined"), (second["offer_id"], "proposed")]
    assert state["engagements"][0]["reason"] == "no_capacity"
    link = engagement_link(second)
    accepted = anonymous_post(f"{link}/respond", data={"accept": "1"}, timeout=30)
    assert accepted.status_code == 200, accepted.text
    state = wait_state(settings, referral_id, "in_progress")
    assert f"feedback:{second['offer_id']}" in state["deadlines"]
    wait_until(lambda: any(t["ref"] == ref and t["deadlines"].get(f"feedback:{second['offer_id']}")
                           for t in coordinator.get(f"{settings.portal_url}/api/v1/tasks", timeout=10).json()),
               timeout=30, what="the feedback deadline in the inbox")

    # feedback, then the end of the support, through the partner's page
    for path, form in (("feedback", {"text": "Eerste gesprek met Noor en haar vader."}),
                       ("end", {"outcome": "goal_reached", "text": "Noor gaat weer elke dag naar school."})):
        response = anonymous_post(f"{link}/{path}", data=form, timeout=30)
        assert response.status_code == 200, response.text
    state = wait_until(lambda: (s := snapshot(settings, referral_id))["attention"] and s, timeout=30,
                       what="ready to close")
    assert state["attention"][0]["kind"] == "ready_to_close" and "closure" in state["deadlines"]

    # the coordinator closes with the coded outcome; reporter and school hear back
    page = coordinator.get(detail_url, timeout=10).text
    closed = coordinator.post(f"{detail_url}/actions/close", allow_redirects=False, timeout=30, data={
        "command_id": _form_command(page, "close"), "re_engaged": "yes",
        "what_was_done": "NAFT-traject van acht weken; Noor gaat weer naar school."})
    assert closed.status_code == 303, closed.text
    final = wait_state(settings, referral_id, "closed")
    assert final["closure"]["re_engaged"] == "yes"
    assert [(h["from_state"], h["to_state"]) for h in final["history"]] == [
        (None, "triage"), ("triage", "matching"), ("matching", "awaiting_partner"),
        ("awaiting_partner", "in_progress"), ("in_progress", "closed")]
    for address, words in ((reporter, "Is de jongere opnieuw betrokken bij school? ja"),
                           (school, "NAFT-traject van acht weken")):
        mail = wait_until(lambda: next((m for m in mails(settings, address)
                                        if m["subject"] == f"Melding afgesloten: terugkoppeling [{ref}]"), None),
                          timeout=30, what=f"the closing e-mail to {address}")
        assert words in mail["text"] and "Noor" not in mail["subject"]
    assert "retention" in snapshot(settings, referral_id)["deadlines"]


def test_status_health_pages_and_idempotent_seed(live_stack):
    import os
    import subprocess
    import sys

    from netsterk_ops import demo

    settings, stack = live_stack
    env = {**stack.env}
    result = subprocess.run([sys.executable, "-m", "netsterk_ops.cli", "status"], env=env,
                            capture_output=True, text=True, timeout=120, cwd=os.getcwd())
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("rabbitmq", "temporal", "workflow_worker", "intake", "matching", "notifications",
                 "reporting", "portal", "workflow_bridge", "smtp", "mail_gateway"):
        assert re.search(rf"^{name}\s+up", result.stdout, re.M), result.stdout
    for base in (settings.intake_url, settings.portal_url, f"http://{settings.host}:{settings.reporting_port}"):
        health = requests.get(f"{base}/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
    # seeding again changes nothing: the same directory, the same users
    again = subprocess.run([sys.executable, "-m", "netsterk_ops.cli", "seed-demo"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    offers = amqp.rpc_call(settings.amqp_uri, "matching", "list_offers", "mechelen")
    assert len(offers) == sum(len(o["offers"]) for o in demo.ORGANISATIONS)


def test_staff_enter_a_phone_referral_and_a_partner_reports_a_direct_engagement(live_stack):
    settings, _stack = live_stack
    fields = {k: v for k, v in form_data().items() if k != "network"}

    def login(username):
        return signed_in(settings.portal_url, username)

    coordinator = login("coordinator")
    page = coordinator.get(f"{settings.portal_url}/referrals/phone", timeout=10)
    assert page.status_code == 200 and "name='reporter_email'" in page.text
    bad = coordinator.post(f"{settings.portal_url}/referrals/phone", data={**fields, "reporter_email": "x"}, timeout=10)
    assert bad.status_code == 422 and "error-reporter_email" in bad.text
    stored = coordinator.post(f"{settings.portal_url}/referrals/phone", data={**fields, "first_name": "Yara"},
                              timeout=10)
    assert stored.status_code == 200, stored.text
    phone_ref = re.search(r"NS-\d{4}-\d{6}", stored.text).group(0)
    wait_until(lambda: any(t["ref"] == phone_ref and t["state"] == "triage" for t in
                           coordinator.get(f"{settings.portal_url}/api/v1/tasks", timeout=10).json()),
               timeout=60, what="the phone referral in triage")

    partner = login("arktos")
    assert partner.get(f"{settings.portal_url}/referrals/phone", timeout=10).status_code == 403
    form = partner.get(f"{settings.portal_url}/engagements/direct", timeout=10)
    assert "<option value='arktos-naft-traject'>" in form.text
    direct = partner.post(f"{settings.portal_url}/engagements/direct",
                          data={**fields, "first_name": "Milan", "birth_date": "2010-01-09",
                                "offer_id": "arktos-naft-traject"}, timeout=10)
    assert direct.status_code == 200, direct.text
    direct_ref = re.search(r"NS-\d{4}-\d{6}", direct.text).group(0)
    task = wait_until(lambda: next((t for t in coordinator.get(f"{settings.portal_url}/api/v1/tasks", timeout=10)
                                    .json() if t["ref"] == direct_ref and t["state"] == "in_progress"), None),
                      timeout=60, what="the direct engagement in progress")
    snapshot = coordinator.get(f"{settings.portal_url}/api/v1/referrals/{task['referral_id']}", timeout=10).json()
    assert [(e["organisation_name"], e["offer_name"], e["status"]) for e in snapshot["engagements"]] == [
        ("Arktos", "NAFT-traject op maat", "accepted")]


def test_a_concern_reported_by_email_becomes_a_draft_referral(live_stack):
    """E-mail to the contact point → the gateway stores it and answers 250 → intake makes a draft
    referral and announces it with draft: true, channel email (the workflow then waits for it to
    be completed)."""
    import smtplib

    import kombu

    settings, _stack = live_stack
    connection = amqp.connect(settings.amqp_uri)
    queue = kombu.Queue("e2e-mail-drafts", exchange=amqp.event_exchange("intake"),
                        routing_key="referral_submitted", auto_delete=True)
    queue(connection.channel()).declare()

    raw = ("From: Leerlingbegeleiding Atheneum <lb@atheneum.example.org>\r\n"
           "To: meldpunt@netsterk.example\r\nSubject: Zorg over een leerling van 14\r\n"
           "Date: Tue, 03 Nov 2026 09:14:00 +0100\r\nMessage-ID: <e2e-mail-1@atheneum.example.org>\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\n"
           "Een leerling van 14 is sinds de herfstvakantie vaak afwezig. Wij belden twee keer.\r\n").encode()

    def deliver():
        with smtplib.SMTP(settings.host, settings.intake_smtp_port, timeout=10) as smtp:
            smtp.ehlo()
            smtp.mail("lb@atheneum.example.org")
            assert smtp.rcpt("meldpunt@netsterk.example")[0] == 250
            return smtp.data(raw)

    code, text = wait_until(deliver, timeout=30, what="the mail gateway accepting mail")
    assert code == 250, text
    mail_id = text.decode().rsplit(" ", 1)[1]
    status = wait_until(lambda: (s := amqp.rpc_call(settings.amqp_uri, "intake", "mail_status", mail_id))
                        and s["status"] == "processed" and s, timeout=60, what="intake processed the mail")
    assert status["kind"] == "referral" and status["network"] == "mechelen"
    assert re.fullmatch(r"NS-\d{4}-\d{6}", status["referral_ref"])

    events = []
    with kombu.Consumer(connection, queues=[queue], accept=["json"],
                        callbacks=[lambda body, message: (events.append(body), message.ack())]):
        wait_until(lambda: any(e["payload"]["referral_id"] == status["referral_id"] for e in events)
                   or connection.drain_events(timeout=0.5), timeout=30, what="referral_submitted (draft)")
    event = next(e for e in events if e["payload"]["referral_id"] == status["referral_id"])
    assert event["payload"]["draft"] is True and event["payload"]["channel"] == "email"
    assert event["referral_ref"] == status["referral_ref"]
    assert "complete_url" not in event["payload"]                 # a token, not a ready-made link
    link = f"{settings.intake_url}/referrals/draft/{event['payload']['draft_token']}"
    form = requests.get(link, timeout=10)     # the reporter's completion link: the prefilled form
    assert form.status_code == 200 and "lb@atheneum.example.org" in form.text
    connection.close()
    # the workflow started in `draft`, waiting for the reporter (or the coordinator) to complete it
    wait_state(settings, status["referral_id"], "draft")

    # the reporter completes it through the link: the same referral (id and ref) leaves `draft`
    token = link.rsplit("/", 1)[1]
    fields = {**form_data(), "reporter_email": "lb@atheneum.example.org", "first_name": "Jonas",
              "draft_token": token, "action": "submit"}
    done = requests.post(f"{settings.intake_url}/referrals/new", data=fields, timeout=10)
    assert done.status_code == 200, done.text
    assert status["referral_ref"] in done.text                # no new reference
    completed = wait_until(lambda: (s := snapshot(settings, status["referral_id"]))["state"] == "triage" and s,
                           timeout=60, what="the completed draft in triage")
    assert ("draft", "triage") in [(h["from_state"], h["to_state"]) for h in completed["history"]]
    assert requests.get(link, timeout=10).status_code == 404  # the link is used up


def test_the_coordinator_sees_quarantined_mail_and_can_process_it_again(live_stack):
    import smtplib

    settings, _stack = live_stack
    raw = (b"To: meldpunt@netsterk.example\r\nSubject: zonder afzender\r\n"
           b"Message-ID: <e2e-no-sender@example.org>\r\n\r\nWie ben ik?\r\n")
    with smtplib.SMTP(settings.host, settings.intake_smtp_port, timeout=10) as smtp:
        code, text = smtp.sendmail("", ["meldpunt@netsterk.example"], raw) or (250, b"")
    mail_id = wait_until(lambda: next((m["id"] for m in amqp.rpc_call(
        settings.amqp_uri, "intake", "mail_quarantine", "mechelen") if m["message_id"] == "<e2e-no-sender@example.org>"),
        None), timeout=60, what="the mail in quarantine")
    session = signed_in(settings.portal_url, "coordinator")
    page = session.get(f"{settings.portal_url}/mail", timeout=10)
    assert page.status_code == 200 and f'id="mail-{mail_id}"' in page.text and "Quarantaine" in page.text
    again = session.post(f"{settings.portal_url}/mail/{mail_id}/reprocess", timeout=30, allow_redirects=False)
    assert again.status_code == 303
    assert amqp.rpc_call(settings.amqp_uri, "intake", "mail_status", mail_id)["attempts"] >= 2
    analyst = signed_in(settings.portal_url, "analyst")
    assert analyst.get(f"{settings.portal_url}/mail", timeout=10).status_code == 403
