"""Working together around one young person through the real stack (RabbitMQ, the Temporal dev
server, every service, the worker, the bridge, SMTP into the mail sink), the pages in Chromium:
two partners share one family plan with access per partner, the family's voice and consent and
its withdrawal, a case conference from invitation (e-mail with .ics) to decisions to workflow
tasks with due dates, and the public offer catalogue searched by each criterion, a referral
started from an offer, a session announced and registered for."""
import email
import re
import uuid
from datetime import date, datetime, timedelta
from email import policy
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from playwright.sync_api import sync_playwright

from netsterk import ical
from netsterk.testing import wait_until
from netsterk_ops import demo
from tests.test_browser import ARGS, CHROMIUM
from tests.test_end_to_end import COORDINATOR, act, form_data, mails, snapshot, wait_state

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path):
    return tmp_path


def login(browser, settings, username):
    page = browser.new_page()
    page.goto(f"{settings.portal_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "netsterk-demo")
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()
    if "/login/totp" in page.url:          # roles with a second factor (TOTP)
        from services.portal.testing import fresh_code
        secret = next(u for u in demo.USERS if u["username"] == username)["totp_secret"]
        page.fill("input[name=code]", fresh_code(secret, f"{settings.portal_url} {username}"))
        page.click("form[action='/login/totp'] button[type=submit]")
        page.wait_for_load_state()
    return page


def csrf(page) -> dict:
    """The CSRF field the portal adds to its forms (if it does), for a hand-made request."""
    field = page.locator("input[name=csrf_token]")
    return {"csrf_token": field.first.get_attribute("value")} if field.count() else {}


def submit(settings, **overrides):
    """A referral of our own reporter (the stack and its mailbox are shared with other tests)."""
    data = dict(form_data(), reporter_email=f"zorg.{uuid.uuid4().hex[:8]}@atheneum.example.org", **overrides)
    response = requests.post(f"{settings.intake_url}/api/v1/referrals", json=data, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def in_progress_with_two_partners(browser, settings):
    """A referral engaged with two partners of different organisations, both accepted (in Chromium)."""
    referral = submit(settings)
    wait_state(settings, referral["id"], "triage")
    act(settings, referral["id"], "triage", decision="accept")
    snap = wait_until(lambda: (s := snapshot(settings, referral["id"]))["candidates"] and s,
                      timeout=60, what="ranked candidates")
    chosen, organisations = [], set()
    # offers with a free place this month: the stack is shared, earlier tests took places, and an
    # accept on a full offer is refused (tests/test_matching_capacity.py)
    for candidate in snap["candidates"]:
        if "capacity" in (candidate.get("unmatched") or []):
            continue
        if candidate["organisation_id"] not in organisations:
            chosen.append(candidate["offer_id"])
            organisations.add(candidate["organisation_id"])
    assert len(chosen) >= 2, f"two organisations with a free place: {snap['candidates']}"
    act(settings, referral["id"], "choose_partner", offer_ids=chosen[:2])
    snap = snapshot(settings, referral["id"])
    links = [f"{settings.portal_url}/engagements/{referral['id']}/{g['token']}" for g in snap["engagements"]]
    page = browser.new_page()
    assert page.goto(links[0] + "/plan").status == 403       # only once the partner has accepted
    for link in links:
        page.goto(link)
        page.click("button[name=accept][value='1']")
        page.wait_for_load_state()
    page.close()
    wait_until(lambda: [g["status"] for g in snapshot(settings, referral["id"])["engagements"]] == ["accepted"] * 2,
               timeout=120, what="both partners accepted")
    return referral, [g for g in snapshot(settings, referral["id"])["engagements"]], links


def item_texts(page):
    return [t.strip() for t in page.locator("#plan-items .item-text").all_inner_texts()] \
        if page.locator("#plan-items").count() else []


def test_two_partners_share_one_plan_consent_limits_and_withdrawal_hides(live_stack, browser, shots):
    settings, _stack = live_stack
    referral, engagements, links = in_progress_with_two_partners(browser, settings)
    first_org, second_org = (g["organisation_name"] for g in engagements)

    # the coordinator: the family's voice with consent for the partners (not the school), a goal
    # in the family's words, and the agreed contact person
    coordinator = login(browser, settings, "coordinator")
    coordinator.goto(f"{settings.portal_url}/referrals/{referral['id']}")
    coordinator.click("#plan-link")
    coordinator.wait_for_url(re.compile(r".*/plan$"))
    coordinator.select_option("#voice-form select[name=from_whom]", "both")
    coordinator.fill("#voice-form textarea[name=wishes]", "Sam wil weer voetballen met zijn klas.")
    coordinator.fill("#voice-form textarea[name=worries]", "Mama werkt 's nachts; Sam slaapt te weinig.")
    coordinator.fill("#voice-form textarea[name=what_helps]", "De buurtsportwerker.")
    coordinator.check("#voice-form input[name=share_partners]")
    coordinator.click("#voice-form button[type=submit]")
    coordinator.wait_for_load_state()
    coordinator.select_option("#plan-add select[name=kind]", "goal")
    coordinator.fill("#plan-add textarea[name=text]", "Elke ochtend op tijd op school, zegt Sam.")
    coordinator.select_option("#plan-add select[name=audience]", "partners")
    coordinator.click("#plan-add button[type=submit]")
    coordinator.wait_for_load_state()
    coordinator.fill("#contact-form input[name=person]", f"Lies, {first_org}")
    coordinator.fill("#contact-form input[name=organisation]", first_org)
    coordinator.click("#contact-form button[type=submit]")
    coordinator.wait_for_load_state()
    assert "Elke ochtend op tijd op school, zegt Sam." in item_texts(coordinator)
    school_link = coordinator.locator("#school-link").get_attribute("href")
    coordinator.screenshot(path=str(shots / "plan-coordinator.png"), full_page=True)

    # the first partner sees the voice and the goal, and commits its organisation to an action
    first = browser.new_page()
    first.goto(links[0])
    first.click("#plan-link")
    first.wait_for_url(re.compile(r".*/plan$"))
    assert "Sam wil weer voetballen" in first.locator("#voice").inner_text()
    assert "Elke ochtend op tijd op school, zegt Sam." in item_texts(first)
    assert f"Lies, {first_org}" in first.locator("#contact").inner_text()
    due = (date.today() + timedelta(days=10)).isoformat()
    first.select_option("#plan-add select[name=kind]", "action")
    first.fill("#plan-add textarea[name=text]", "Huisbezoek met mama over het slaapritme.")
    first.fill("#plan-add input[name=due_date]", due)
    first.click("#plan-add button[type=submit]")
    first.wait_for_load_state()
    action_row = first.locator("tr.plan-item", has_text="Huisbezoek met mama")
    assert first_org in action_row.inner_text() and due in action_row.inner_text()
    assert action_row.locator("button").count() == 1          # its own: it may tick it off

    # the second partner sees the shared plan, cannot change the first's action, keeps a note
    # for its own organisation only
    second = browser.new_page()
    second.goto(links[1] + "/plan")
    assert "Huisbezoek met mama over het slaapritme." in item_texts(second)
    assert second.locator("tr.plan-item", has_text="Huisbezoek met mama").locator("button").count() == 0
    second.select_option("#plan-add select[name=kind]", "note")
    second.fill("#plan-add textarea[name=text]", f"Intern: {second_org} bespreekt dit in het team.")
    second.select_option("#plan-add select[name=audience]", "own")
    second.click("#plan-add button[type=submit]")
    second.wait_for_load_state()
    assert f"Intern: {second_org} bespreekt dit in het team." in item_texts(second)
    # changing another partner's item by hand-crafted request is refused
    item_id = second.locator("tr.plan-item", has_text="Huisbezoek met mama").get_attribute("data-id")
    refused = second.request.post(f"{links[1]}/plan/items/{item_id}", form={"status": "done", **csrf(second)})
    assert refused.status == 403 and "alleen wat uw organisatie" in refused.text()
    first.reload()
    assert f"Intern: {second_org} bespreekt dit in het team." not in item_texts(first)
    assert "1" in first.locator("#hidden-items").inner_text()

    # the school: no consent to share with the school yet
    school = browser.new_page()
    school.goto(school_link)
    assert school.locator("#school-no-consent").count() == 1 and "voetballen" not in school.content()
    forged = browser.new_page()
    assert forged.goto(school_link[:-4] + "0000").status == 404

    # the family withdraws its consent: the partners no longer see the voice nor the shared plan
    coordinator.reload()
    coordinator.click("#consent-withdraw button[type=submit]")
    coordinator.wait_for_load_state()
    assert "ingetrokken" in coordinator.locator("#consent-status").inner_text()
    assert "Sam wil weer voetballen" in coordinator.locator("#voice").inner_text()   # the coordinator keeps it
    first.reload()
    assert "Sam wil weer voetballen" not in first.content() and "slaapt te weinig" not in first.content()
    assert "ingetrokken" in first.locator("#consent-status").inner_text()
    assert item_texts(first) == ["Huisbezoek met mama over het slaapritme."]    # only its own action
    second.reload()
    assert "Elke ochtend" not in second.content() and "Huisbezoek met mama" not in second.content()
    first.screenshot(path=str(shots / "plan-partner-after-withdrawal.png"), full_page=True)

    # every change is in the audit history, shown to the coordinator
    coordinator.reload()
    history = coordinator.locator("#plan-history").inner_text()
    for action in ("voice_recorded", "goal_added", "contact_set", "action_added", "note_added", "consent_withdrawn"):
        assert action in history, action

    # a partner that reported the end still reads the plan, but no longer writes in it
    first.goto(links[0])
    first.select_option("#partner-end select[name=outcome]", "partly_reached")
    first.fill("#partner-end textarea[name=text]", "Traject afgerond.")
    first.click("#partner-end button[type=submit]")
    first.wait_for_load_state()
    first.goto(links[0])
    first.click("#plan-link")
    first.wait_for_url(re.compile(r".*/plan$"))
    assert item_texts(first) == ["Huisbezoek met mama over het slaapritme."]
    assert first.locator("#plan-add").count() == 0 and first.locator("#plan-items button").count() == 0
    for page in (coordinator, first, second, school, forged):
        page.close()


def test_a_case_conference_from_invitation_to_decisions_to_workflow_tasks(live_stack, browser, shots):
    settings, _stack = live_stack
    referral = submit(settings, first_name="Yara", last_name="Claes", birth_date="2012-05-06")
    wait_state(settings, referral["id"], "triage")
    coordinator = login(browser, settings, "coordinator")
    coordinator.goto(f"{settings.portal_url}/referrals/{referral['id']}")
    coordinator.click("#conference-link")
    coordinator.wait_for_url(re.compile(r".*/conferences$"))
    first_time = (datetime.now() + timedelta(days=5)).replace(hour=14, minute=0, second=0, microsecond=0)
    coordinator.fill("input[name=time_0]", first_time.strftime("%Y-%m-%dT%H:%M"))
    coordinator.fill("input[name=time_1]", (first_time + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    coordinator.fill("input[name=location]", "CLB Mechelen, zaal 2")
    coordinator.select_option("select[name=reason]", "request")
    invitees = [("zorg.yara@atheneum.example.org", "school", "Mevr. Peeters"),
                ("clb.yara@clb.example.org", "clb", "CLB-medewerker"),
                ("partner.yara@arktos.example.org", "partner", "Lies")]
    for n, (address, role, name) in enumerate(invitees):
        coordinator.fill(f"input[name=invitee_email_{n}]", address)
        coordinator.select_option(f"select[name=invitee_role_{n}]", role)
        coordinator.fill(f"input[name=invitee_name_{n}]", name)
    coordinator.click("#conference-new button[type=submit]")
    coordinator.wait_for_url(re.compile(r".*/conferences/[0-9a-f-]{36}$"))
    conference_url = coordinator.url
    coordinator.click("#conference-invite button[type=submit]")
    coordinator.wait_for_load_state()
    assert "uitgenodigd" in coordinator.locator("#conference-status").inner_text()

    # each invitee got one e-mail with an iCalendar invitation (METHOD:REQUEST, both times)
    def invitations():
        found = [m for m in mails(settings) if referral["ref"] in m["subject"] and "Casusoverleg" in m["subject"]]
        return found if len(found) == len(invitees) else None
    found = wait_until(invitations, timeout=60, what="three invitations in the mail sink")
    assert sorted(a for m in found for a in m["to"]) == sorted(i[0] for i in invitees)
    raw = requests.get(f"{settings.mailsink_url}/messages/{found[0]['id']}.eml", timeout=10).content
    message = email.message_from_bytes(raw, policy=policy.default)
    calendar = next(p for p in message.iter_attachments() if p.get_content_type() == "text/calendar")
    assert calendar.get_param("method") == "REQUEST"
    method, events = ical.parse_events(calendar.get_content())
    assert method == "REQUEST" and len(events) == 2 and events[0]["LOCATION"] == r"CLB Mechelen\, zaal 2"
    assert sorted(events[0]["ATTENDEE"]) == sorted(i[0] for i in invitees)
    assert "Yara" not in raw.decode("utf-8", "replace")           # the reference, no name

    # the time is settled: the confirmed time as a REQUEST (SEQUENCE 1), the other one cancelled
    coordinator.select_option("#conference-confirm select[name=time]", index=1)
    coordinator.click("#conference-confirm button[type=submit]")
    coordinator.wait_for_load_state()
    assert (first_time + timedelta(days=1)).strftime("%Y-%m-%d %H:%M") in coordinator.locator("#confirmed-time").inner_text()

    def calendars():
        found = {}
        for m in mails(settings):
            if referral["ref"] in m["subject"] and "Casusoverleg" in m["subject"]:
                raw = requests.get(f"{settings.mailsink_url}/messages/{m['id']}.eml", timeout=10).content
                part = next(p for p in email.message_from_bytes(raw, policy=policy.default).iter_attachments()
                            if p.get_content_type() == "text/calendar")
                method, events = ical.parse_events(part.get_content())
                found.setdefault((method, events[0]["SEQUENCE"]), []).append((m["to"][0], events))
        return found if len(found.get(("CANCEL", "1"), [])) == len(invitees) and \
            len(found.get(("REQUEST", "1"), [])) == len(invitees) else None
    found = wait_until(calendars, timeout=60, what="the confirmation and the cancellation of each invitee")
    confirmed = found[("REQUEST", "1")][0][1]
    assert len(confirmed) == 1 and confirmed[0]["STATUS"] == "CONFIRMED" and confirmed[0]["UID"].endswith("-1@netsterk")
    cancelled = found[("CANCEL", "1")][0][1]
    assert len(cancelled) == 1 and cancelled[0]["UID"].endswith("-0@netsterk")

    # the record: who came, the decisions, the actions (a bad date first: a clear message)
    coordinator.check("#conference-record input[name=present][value='0']")
    coordinator.check("#conference-record input[name=present][value='1']")
    coordinator.fill("#conference-record textarea[name=decisions]", "Eerst slaap en thuis; daarna huiswerkklas.")
    due_one = (date.today() + timedelta(days=7)).isoformat()
    due_two = (date.today() + timedelta(days=14)).isoformat()
    coordinator.fill("input[name=action_text_0]", "Huisbezoek plannen")
    coordinator.fill("input[name=action_owner_0]", "Arktos")
    coordinator.fill("input[name=action_due_0]", "2020-01-01")
    coordinator.click("#conference-record button[type=submit]")
    coordinator.wait_for_load_state()
    assert "verleden" in coordinator.locator(".error").inner_text()
    coordinator.fill("input[name=action_due_0]", due_one)
    coordinator.fill("input[name=action_text_1]", "Aanmelden bij de huiswerkklas")
    coordinator.fill("input[name=action_owner_1]", "School")
    coordinator.fill("input[name=action_due_1]", due_two)
    coordinator.click("#conference-record button[type=submit]")
    coordinator.wait_for_url(conference_url)
    assert "gehouden" in coordinator.locator("#conference-status").inner_text()
    assert "Eerst slaap en thuis" in coordinator.locator("#decisions").inner_text()
    assert coordinator.locator("strong.present").count() == 2      # the school and the CLB came
    coordinator.screenshot(path=str(shots / "conference-held.png"), full_page=True)

    # the actions are tasks with due dates in the referral's workflow
    snap = snapshot(settings, referral["id"])
    tasks = {t["text"]: t for t in snap["tasks"]}
    assert tasks["Huisbezoek plannen"]["due"] == due_one and tasks["Huisbezoek plannen"]["owner"] == "Arktos"
    assert tasks["Aanmelden bij de huiswerkklas"]["due"] == due_two
    assert all(f"task:{t['id']}" in snap["deadlines"] for t in snap["tasks"])
    assert snap["deadlines"][f"task:{tasks['Huisbezoek plannen']['id']}"].startswith(due_one)
    assert any(x["action"] == "add_tasks" for x in snap["log"])
    # ...in the inbox's read model too
    def in_inbox():
        rows = requests.get(f"{settings.portal_url}/api/v1/tasks", auth=COORDINATOR, timeout=10).json()
        row = next((r for r in rows if r["referral_id"] == referral["id"]), None)
        return row if row and any(k.startswith("task:") for k in (row.get("deadlines") or {})) else None
    wait_until(in_inbox, timeout=60, what="the task due dates in the inbox read model")
    # one done, from the conference page
    coordinator.locator("tr.task", has_text="Huisbezoek plannen").locator("button").click()
    coordinator.wait_for_url(conference_url)
    assert "klaar" in coordinator.locator("tr.task", has_text="Huisbezoek plannen").inner_text()
    snap = snapshot(settings, referral["id"])
    done = [t for t in snap["tasks"] if t["status"] == "done"]
    assert [t["text"] for t in done] == ["Huisbezoek plannen"] and done[0]["done_by"] == "coordinator"
    assert f"task:{done[0]['id']}" not in snap["deadlines"]
    coordinator.close()


def _expected(criterion, value):
    offers = [o for org in demo.ORGANISATIONS for o in org["offers"]]
    test = {"concern": lambda o: value in o["categories"],
            "age": lambda o: o.get("min_age", 6) <= int(value) <= o.get("max_age", 25),
            "area": lambda o: value in o["postcodes"] or value in o.get("neighbourhoods", []),
            "language": lambda o: value in o["languages"]}[criterion]
    return {o["id"] for o in offers if test(o)}


def test_catalogue_search_by_each_criterion_referral_from_an_offer_and_sessions(live_stack, browser, shots):
    settings, _stack = live_stack
    page = browser.new_page()
    page.goto(f"{settings.portal_url}/catalogue?network=mechelen")       # public: no login
    everything = {a.get_attribute("data-offer") for a in page.locator("article.offer").all()}
    assert len(everything) == sum(len(org["offers"]) for org in demo.ORGANISATIONS)
    for criterion, value, fill in (("concern", "home_situation", "select"), ("age", "8", "fill"),
                                   ("area", "Nekkerspoel", "select"), ("language", "ar", "select")):
        page.goto(f"{settings.portal_url}/catalogue?network=mechelen")
        (page.select_option if fill == "select" else page.fill)(f"#catalogue-search #{criterion}", value)
        page.click("#catalogue-search button[type=submit]")
        page.wait_for_load_state()
        found = {a.get_attribute("data-offer") for a in page.locator("article.offer").all()}
        assert found == _expected(criterion, value) and 0 < len(found) < len(everything), criterion
    page.screenshot(path=str(shots / "catalogue.png"), full_page=True)

    # a referral that starts from an offer: intake's form, prefilled
    page.goto(f"{settings.portal_url}/catalogue?network=mechelen&concern=learning")
    offer = page.locator("article.offer").first
    name = offer.locator("h3").inner_text()
    link = offer.locator("a.refer").get_attribute("href")
    assert parse_qs(urlparse(link).query)["categories"] == ["learning"]
    page.goto(link)
    assert page.locator("input[name=categories][value=learning]").is_checked()
    assert name in page.locator("textarea[name=expectations]").input_value()

    # a partner announces a training; a professional registers without an account
    partner = login(browser, settings, "arktos")
    partner.goto(f"{settings.portal_url}/catalogue/sessions")
    start = (datetime.now() + timedelta(days=20)).replace(hour=13, minute=30, second=0, microsecond=0)
    partner.select_option("#session-new select[name=kind]", "training")
    partner.fill("#session-new input[name=title]", "Signalen van spijbelen herkennen")
    partner.select_option("#session-new select[name=theme]", "truancy")
    partner.fill("#session-new textarea[name=description]", "Voor leerkrachten en zorgcoördinatoren.")
    partner.fill("#session-new input[name=starts_at]", start.strftime("%Y-%m-%dT%H:%M"))
    partner.fill("#session-new input[name=ends_at]", (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    partner.fill("#session-new input[name=location]", "Arktos Mechelen")
    partner.fill("#session-new input[name=capacity]", "12")
    partner.click("#session-new button[type=submit]")
    partner.wait_for_url(re.compile(r".*/catalogue/sessions$"))
    assert "Signalen van spijbelen herkennen" in partner.locator("#my-sessions").inner_text()
    page.goto(f"{settings.portal_url}/catalogue?network=mechelen")
    session = page.locator("article.session", has_text="Signalen van spijbelen herkennen")
    session.locator("input[name=name]").fill("Ilse Claes")
    session.locator("input[name=organisation]").fill("Basisschool De Regenboog")
    session.locator("input[name=email]").fill("ilse.claes@regenboog.example.org")
    session.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "ingeschreven" in page.locator(".info").inner_text()
    confirmation = wait_until(lambda: mails(settings, "ilse.claes@regenboog.example.org"), timeout=60,
                              what="the registration's confirmation")[0]
    raw = requests.get(f"{settings.mailsink_url}/messages/{confirmation['id']}.eml", timeout=10).content
    part = next(p for p in email.message_from_bytes(raw, policy=policy.default).iter_attachments()
                if p.get_content_type() == "text/calendar")
    method, events = ical.parse_events(part.get_content())
    assert method == "REQUEST" and events[0]["SUMMARY"] == "Signalen van spijbelen herkennen"
    assert events[0]["ATTENDEE"] == ["ilse.claes@regenboog.example.org"]
    partner.locator("#my-sessions a", has_text="Inschrijvingen").first.click()
    partner.wait_for_load_state()
    assert "ilse.claes@regenboog.example.org" in partner.locator("#registrations").inner_text()
    page.close()
    partner.close()
