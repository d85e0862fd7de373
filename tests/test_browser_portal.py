"""The portal's roles in a real browser (Debian's Chromium driven by Playwright) against the real
stack (one shared stack: tests/conftest.py live_stack): the coordinator signs in with TOTP,
triages and picks a partner; the partner (signed in, second factor) sees only its own
organisation's engagements, accepts and gives feedback; a partner of another organisation gets
404; the reporter opens the status link; an analyst cannot open a referral; ops sees a stopped
service as down, and the queues and workflows pages; a coordinator makes, uses and revokes an API
token, and an idle session sends them to sign in again and back; a network admin sets the
network's own deadlines and a new referral gets them. The main pages are kept as screenshots
(docs/screenshots when NETSTERK_SCREENSHOTS is set: `make screenshots`), and each of them passes
an automated accessibility audit (axe-core, installed by scripts/system-deps.sh): no violation of
impact serious or critical."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import requests
from playwright.sync_api import sync_playwright

from netsterk import amqp
from netsterk.contracts import REFERRAL_STATE_CHANGED, WORKFLOW
from netsterk.envelope import make_envelope
from netsterk.status_link import status_path
from netsterk.testing import wait_until
from netsterk_ops.health import check_rpc
from services.portal.testing import aged_session, api_auth, browser_login, signed_in

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update"]
SHOTS = os.environ.get("NETSTERK_SCREENSHOTS")
AXE_JS = Path(os.environ.get("NETSTERK_AXE_JS") or
              Path(__file__).resolve().parents[1] / ".venv/axe/node_modules/axe-core/axe.min.js")
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


def shot(page, name: str, tmp_path: Path) -> None:
    """Keep the page as a screenshot, after its accessibility audit passed."""
    problems = accessibility_problems(page)
    assert not problems, f"accessibility of {name} ({page.url}):\n" + "\n".join(problems)
    folder = Path(SHOTS) if SHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def accessibility_problems(page) -> list[str]:
    """axe-core's violations of impact serious or critical on the page as it is now (WCAG 2.x A
    and AA rules and axe's best practices), one line each with where they are."""
    assert AXE_JS.is_file(), f"axe-core is missing at {AXE_JS}: run `make system-deps`"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))     # through the debugger: not subject to the CSP
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"- {v['id']} ({v['impact']}): {v['help']} at "
            + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
            for v in result["violations"] if v.get("impact") in BLOCKING]


def new_page(browser, *, phone: bool = False, lang: str | None = None):
    context = browser.new_context(**({"viewport": {"width": 390, "height": 844}, "is_mobile": True,
                                      "device_scale_factor": 1} if phone else
                                     {"viewport": {"width": 1280, "height": 900}}))
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def referral(index: int) -> dict:
    return {
        "network": "mechelen", "reporter_name": "Lies Wouters",
        "reporter_organisation": "Sint-Romboutscollege", "reporter_role": "zorgcoördinator",
        "reporter_email": f"portal{index}@school.example.org", "reporter_is_school": True,
        "first_name": "Noor", "last_name": f"Portaaltest{index}",
        "birth_date": "2011-04-12", "school_level": "secondary",
        "postcode": "2800", "languages": ["nl"], "categories": ["truancy", "motivation"],
        "description": "Komt sinds weken niet meer naar de les.",
        "school_efforts": "Twee telefoons en een brief naar de ouders.",
        "school_efforts_when": "3/11 en 5/11", "school_efforts_result": "Geen contact",
        "consent": "parents",
    }


def test_coordinator_partner_reporter_and_analyst_in_the_browser(live_stack, browser, tmp_path):
    settings, _stack = live_stack
    url = settings.portal_url
    stored = requests.post(f"{settings.intake_url}/api/v1/referrals", json=referral(1), timeout=60)
    assert stored.status_code == 201, stored.text
    ref, referral_id = stored.json()["ref"], stored.json()["id"]

    # the coordinator: password, then the TOTP code; the inbox; triage; pick Arktos
    coordinator = new_page(browser)
    coordinator.goto(f"{url}/")
    assert "/login" in coordinator.url
    shot(coordinator, "login", tmp_path)
    # the audit is real: an input without a label on the page is found (then taken away again)
    coordinator.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<input id=axe-probe>')")
    assert any("label" in problem and "#axe-probe" in problem for problem in accessibility_problems(coordinator))
    coordinator.evaluate("document.getElementById('axe-probe').remove()")
    coordinator.fill("input[name=username]", "coordinator")
    coordinator.fill("input[name=password]", "netsterk-demo")
    coordinator.click("form[action='/login'] button[type=submit]")
    coordinator.wait_for_url(re.compile(r".*/login/totp.*"))
    assert coordinator.locator("label[for=code]").count() == 1          # the code field has its label
    shot(coordinator, "login-totp", tmp_path)
    assert coordinator.context.cookies()[0]["httpOnly"]
    browser_login(coordinator, url, "coordinator", path="/")
    row = coordinator.locator("tr", has_text=ref)
    wait_until(lambda: (coordinator.reload(), row.count() and "Triage" in row.first.inner_text())[1],
               timeout=90, what="the referral in triage in the inbox")
    shot(coordinator, "inbox", tmp_path)
    row.first.locator("a").click()
    coordinator.locator("#action-triage button[type=submit]").click()
    wait_until(lambda: (coordinator.reload(), coordinator.locator("#action-choose_partner input[name=offer_ids]").count())[1],
               timeout=90, what="ranked candidates")
    # an offer of Arktos with a free place this month: the stack is shared, earlier tests took
    # places, and an accept on a full offer is refused (tests/test_matching_capacity.py)
    candidates = requests.get(f"{url}/api/v1/referrals/{referral_id}", auth=api_auth(url, "coordinator"),
                              timeout=30).json()["candidates"]
    free = [c["offer_id"] for c in candidates
            if c["organisation_id"] == "arktos" and "capacity" not in (c.get("unmatched") or [])]
    assert free, f"an offer of Arktos with a free place: {candidates}"
    coordinator.locator(f"#action-choose_partner input[name=offer_ids][value='{free[0]}']").check()
    shot(coordinator, "referral", tmp_path)
    coordinator.locator("#action-choose_partner button[type=submit]").click()
    coordinator.wait_for_load_state()

    # the partner of Arktos, on a phone: its own engagements only; accepts; gives feedback
    partner = new_page(browser, phone=True)
    browser_login(partner, url, "arktos")
    assert partner.url.endswith("/partner")
    wait_until(lambda: (partner.reload(), partner.locator("tr", has_text=ref).count())[1],
               timeout=90, what="the engagement in the partner's list")
    shot(partner, "partner-engagements", tmp_path)
    partner.locator("tr", has_text=ref).locator("a").click()
    assert ref in partner.content() and "Portaaltest1" not in partner.content()   # no name of the child
    assert partner.evaluate("document.documentElement.scrollWidth") <= 391      # fits a 390 px phone
    shot(partner, "partner-engagement", tmp_path)
    partner.click("button[name=accept][value='1']")
    partner.wait_for_selector("p.info")                                         # the confirmation
    wait_until(lambda: (partner.goto(f"{url}/partner/referrals/{referral_id}"),
                        partner.locator("#partner-feedback").count())[1], timeout=60, what="the feedback form")
    partner.fill("#partner-feedback textarea[name=text]", "Eerste gesprek met Noor en moeder gehad.")
    partner.click("#partner-feedback button[type=submit]")
    partner.wait_for_selector("p.info")

    # the coordinator makes a personal API token (shown once) and a script reads the referral with it
    coordinator.goto(f"{url}/account/tokens")
    coordinator.fill("#token-form input[name=name]", "weekrapport")
    coordinator.click("#token-form button[type=submit]")
    token = coordinator.locator("#new-token").inner_text().strip()
    shot(coordinator, "api-tokens", tmp_path)
    bearer = {"Authorization": f"Bearer {token}"}
    snapshot = requests.get(f"{url}/api/v1/referrals/{referral_id}", headers=bearer, timeout=30).json()
    assert snapshot["state"] == "in_progress"
    assert [e["organisation_id"] for e in snapshot["engagements"] if e["status"] == "accepted"] == ["arktos"]
    assert any("Eerste gesprek" in f["text"] for f in snapshot["feedback"])

    coordinator.goto(f"{url}/account/tokens")
    assert token not in coordinator.content() and "weekrapport" in coordinator.content()   # shown once
    assert requests.get(f"{url}/api/v1/referrals/{referral_id}", auth=("coordinator", "netsterk-demo"),
                        timeout=30).status_code == 401                                  # passwords: no
    coordinator.locator("tr", has_text="weekrapport").locator("button[type=submit]").click()
    revoked = requests.get(f"{url}/api/v1/referrals/{referral_id}", headers=bearer, timeout=30)
    assert revoked.status_code == 401 and "ingetrokken" in revoked.json()["error"]

    # a partner of another organisation: 404 on that engagement, and it is not in its list
    other = new_page(browser)
    browser_login(other, url, "profo")
    assert ref not in other.content()
    response = other.goto(f"{url}/partner/referrals/{referral_id}")
    assert response.status == 404 and "Portaaltest1" not in other.content()
    assert other.goto(f"{url}/referrals/{referral_id}").status == 403              # not a coordinator

    # the reporter: the signed status link, no account, nothing personal
    reporter = new_page(browser, phone=True)
    response = reporter.goto(f"{url}{status_path(referral_id)}")
    assert response.status == 200 and ref in reporter.content()
    assert "Lopend" in reporter.locator("#status-state").inner_text()
    assert "Portaaltest1" not in reporter.content() and "Wouters" not in reporter.content()
    shot(reporter, "reporter-status", tmp_path)
    assert reporter.goto(f"{url}/status/{referral_id}/{'0' * 32}").status == 404

    # the analyst: no second factor; the reports, but never a referral
    analyst = new_page(browser)
    browser_login(analyst, url, "analyst")
    assert analyst.url.endswith("/reports")
    response = analyst.goto(f"{url}/referrals/{referral_id}")
    assert response.status == 403 and ref not in analyst.content()

    # the coordinator's referral page shows the partner's answer and feedback
    coordinator.goto(f"{url}/referrals/{referral_id}")
    assert "Eerste gesprek met Noor" in coordinator.content()
    # the language switch, remembered: English only, then back to both
    coordinator.click("a[href^='/language?lang=en']")
    assert coordinator.url.endswith(f"/referrals/{referral_id}")
    assert "Referral" in coordinator.locator("h1").inner_text() and "Melding" not in coordinator.locator("h1").inner_text()
    assert coordinator.locator("html").get_attribute("lang") == "en"
    coordinator.goto(f"{url}/")
    assert "Melding" not in coordinator.locator("h1").inner_text()
    coordinator.click("a[href^='/language?lang=both']")
    # keyboard: the first Tab reaches the skip link, which leads to the content
    coordinator.keyboard.press("Tab")
    assert coordinator.evaluate("document.activeElement.className") == "skip"

    # idle longer than the idle timeout: sign in again (told why), and back on the same page
    session = next(c for c in coordinator.context.cookies() if c["name"] == "netsterk_session")
    idle = settings.portal_idle_minutes * 60 + 60
    coordinator.context.add_cookies([dict(session, value=aged_session(settings.session_key, session["value"], idle))])
    coordinator.goto(f"{url}/referrals/{referral_id}")
    assert "/login" in coordinator.url and "expired=1" in coordinator.url
    assert "Uw sessie is verlopen" in coordinator.locator("p.info").inner_text()
    shot(coordinator, "login-expired", tmp_path)
    browser_login(coordinator, url, "coordinator", path=f"/referrals/{referral_id}")
    assert coordinator.url.endswith(f"/referrals/{referral_id}") and ref in coordinator.locator("h1").inner_text()


def test_ops_sees_every_part_and_a_stopped_service_as_down(live_stack, browser, tmp_path):
    settings, stack = live_stack
    ops = new_page(browser)
    browser_login(ops, settings.portal_url, "ops")
    assert ops.url.endswith("/ops")
    assert ops.locator("[data-part=reporting].up").count() == 1
    assert ops.locator("[data-part=workflow_worker].up").count() == 1
    shot(ops, "ops-health", tmp_path)
    ops.goto(f"{settings.portal_url}/ops/workflows")
    assert ops.locator("#running").count() == 1 and "referral-" in ops.content()
    assert ops.locator("a[href*='/namespaces/default/workflows/referral-']").count() >= 1
    shot(ops, "ops-workflows", tmp_path)

    stack.stop_process("reporting")
    try:
        ops.goto(f"{settings.portal_url}/ops")
        assert ops.locator("[data-part=reporting].down").count() == 1
        assert ops.locator("[data-part=intake].up").count() == 1
        assert "reporting" in ops.locator("p.error").inner_text()
        ops.goto(f"{settings.portal_url}/ops/queues")
        row = ops.locator("tr", has_text="rpc-reporting").first
        wait_until(lambda: (ops.reload(), row.locator("td").nth(2).inner_text().strip() == "0")[1],
                   timeout=60, what="rpc-reporting without consumers")
        assert row.locator("span.down").count() == 1
        shot(ops, "ops-queues", tmp_path)
    finally:
        stack.start_process("reporting")       # (wait_ready runs asyncio: not beside Playwright's loop)
        wait_until(lambda: check_rpc(settings, "reporting").ok, timeout=180, what="reporting back")
    ops.goto(f"{settings.portal_url}/ops")
    assert ops.locator("[data-part=reporting].up").count() == 1

    # a dead letter: inspect it (reason and field names, no content), replay it
    payload = {"referral_id": "r-bad", "ref": "NS-BAD-1", "network": "mechelen", "from_state": "draft",
               "to_state": "flying", "by": "system", "reason": "", "at": "2026-03-02T09:00:00Z",
               "categories": [], "due_at": None}
    envelope = make_envelope(REFERRAL_STATE_CHANGED, payload, network="mechelen", referral_ref="NS-BAD-1")
    with amqp.connect(settings.amqp_uri) as connection:
        amqp.publish_event(connection, WORKFLOW, REFERRAL_STATE_CHANGED, envelope)
    dlq = "portal.on_referral_state_changed.dlq"           # consume_once parks it under the consumer
    ops.goto(f"{settings.portal_url}/ops/queues")
    wait_until(lambda: (ops.reload(), ops.locator(f"a[href='/ops/queues/{dlq}']").count())[1],
               timeout=60, what="the dead letter listed")
    ops.click(f"a[href='/ops/queues/{dlq}']")
    row = ops.locator("tr", has_text=envelope["message_id"])
    assert "unknown state 'flying'" in row.inner_text() and "payload" in row.inner_text()
    shot(ops, "ops-dead-letters", tmp_path)
    row.locator("button[type=submit]").click()
    ops.wait_for_url(re.compile(r".*replayed=1$"))
    # replayed to the portal's queue, refused again by the consumer, parked again: still one
    wait_until(lambda: (ops.reload(), ops.locator("tr", has_text=envelope["message_id"]).count() == 1)[1],
               timeout=60, what="the replayed message parked again")
    # nobody else gets in
    analyst = new_page(browser)
    browser_login(analyst, settings.portal_url, "analyst")
    assert analyst.goto(f"{settings.portal_url}/ops").status == 403


def test_network_admin_pages_in_the_browser(live_stack, browser, tmp_path):
    settings, _stack = live_stack
    admin = new_page(browser)
    browser_login(admin, settings.portal_url, "admin")
    assert admin.url.endswith("/admin")
    shot(admin, "admin", tmp_path)
    admin.click("a[href='/admin/users']")
    admin.fill("#user-form input[name=username]", "nieuwe.coordinator")
    admin.select_option("#user-form select[name=role]", "coordinator")
    admin.click("#user-form button[type=submit]")
    assert "nieuwe.coordinator" in admin.locator("p.info").inner_text()
    password = re.search(r"(?:wachtwoord|password)[^:]*: (\S+)", admin.locator("p.info").inner_text()).group(1)
    shot(admin, "admin-users", tmp_path)
    admin.click("a[href='/admin/deadlines']")
    def defaults(step):
        cells = [c.strip() for c in admin.locator("tr", has_text=f"({step})").locator("td").all_inner_texts()]
        return cells[1], cells[3]
    assert defaults("triage") == ("1", "1") and defaults("school_efforts") == ("3", "2")   # DESIGN §4
    # the network's own deadlines: a reminder after its deadline is refused with the reason
    admin.fill("#deadline-normal-partner_reminder", "4")
    admin.click("#deadlines-form button[type=submit]")
    assert "herinnering partner_reminder moet vóór de termijn partner_response" in admin.locator("p.error").inner_text()
    admin.fill("#deadline-normal-partner_reminder", "")
    admin.fill("#deadline-normal-triage", "3")
    admin.click("#deadlines-form button[type=submit]")
    assert admin.locator("p.info").count() == 1 and admin.input_value("#deadline-normal-triage") == "3"
    shot(admin, "admin-deadlines", tmp_path)
    try:
        # another network cannot be named: only the admin's own network is changed
        other = signed_in(settings.portal_url, "admin").post("/admin/deadlines", data={"network": "kiel", "normal.triage": "9"})
        assert other.status_code == 403
        # a new referral of the network starts with the network's triage deadline
        stored = requests.post(f"{settings.intake_url}/api/v1/referrals", json=referral(3), timeout=60)
        assert stored.status_code == 201, stored.text
        coordinator_api = api_auth(settings.portal_url, "coordinator")
        snapshot = wait_until(lambda: requests.get(f"{settings.portal_url}/api/v1/referrals/{stored.json()['id']}",
                                                   auth=coordinator_api, timeout=30).json().get("deadline_days"),
                              timeout=90, what="the new referral's workflow")
        assert snapshot["triage"] == 3 and snapshot["matching"] == 1
    finally:        # back to the defaults: the stack is shared with the other tests
        admin.fill("#deadline-normal-triage", "")
        admin.click("#deadlines-form button[type=submit]")
        assert admin.input_value("#deadline-normal-triage") == ""
    # concern categories: the referral form offers exactly the chosen ones
    admin.click("a[href='/admin/categories']")
    admin.uncheck("#categories-form input[value=leisure]")
    admin.click("#categories-form button[type=submit]")
    assert admin.locator("p.info").count() == 1
    shot(admin, "admin-categories", tmp_path)
    form = requests.get(f"{settings.intake_url}/referrals/new", timeout=30).text
    assert "value='truancy'" in form and "value='leisure'" not in form
    admin.check("#categories-form input[value=leisure]")
    admin.click("#categories-form button[type=submit]")
    assert "value='leisure'" in requests.get(f"{settings.intake_url}/referrals/new", timeout=30).text
    # the new user signs in and must set up the second factor first (the key shown once)
    newcomer = new_page(browser)
    newcomer.goto(f"{settings.portal_url}/login")
    newcomer.fill("input[name=username]", "nieuwe.coordinator")
    newcomer.fill("input[name=password]", password)
    newcomer.click("form[action='/login'] button[type=submit]")
    newcomer.wait_for_url(re.compile(r".*/login/enrol.*"))
    assert newcomer.locator("figure.qr img").count() == 1
    secret = newcomer.locator("#totp-secret").inner_text().replace(" ", "")
    from services.portal.testing import fresh_code
    newcomer.fill("#code", fresh_code(secret, f"{settings.portal_url} nieuwe.coordinator"))
    newcomer.click("#code-form button[type=submit]")
    newcomer.wait_for_load_state()
    assert newcomer.locator("h1").inner_text().startswith("Meldingen")


def test_a_mails_sanitised_html_renders_in_its_sandbox_under_the_portals_csp(browser):
    """The mail body frame of the quarantine view (services/portal/mailbox.py) in Chromium under
    the portal's own CSP: the sanitised markup shows, a script does not run, a remote image is
    blocked even if the sanitiser had let it through (the frame's own CSP and the page's)."""
    from services.portal.mailbox import body_frame
    from services.portal.security import CSP

    frame_html = body_frame('<p>Hallo <b id="who">juf</b></p><img src="https://tracker.example/p.gif">'
                            '<script>document.getElementById("who").textContent = "ran"</script>')
    page = browser.new_page()
    messages, loaded, failed = [], [], []
    page.on("console", lambda message: messages.append(message.text))
    # Chromium may announce a request it then blocks by CSP: what counts is that none loads and
    # each one fails for the CSP (this machine has no internet: a request let through would fail
    # for another reason)
    page.on("requestfinished", lambda request: loaded.append(request.url))
    page.on("requestfailed", lambda request: failed.append((request.url, request.failure or "")))
    page.route("http://portal.test/mail/1", lambda route: route.fulfill(
        status=200, headers={"Content-Type": "text/html", "Content-Security-Policy": CSP},
        body=f"<!doctype html><html><head><title>mail</title></head><body>{frame_html}</body></html>"))
    page.goto("http://portal.test/mail/1")
    frame = page.frame_locator("#mail-html")
    assert frame.locator("#who").inner_text(timeout=5000) == "juf"     # shown; the script did not run
    assert not [url for url in loaded if "tracker.example" in url]
    assert all("csp" in failure.lower() for url, failure in failed if "tracker.example" in url), failed
    assert any("tracker.example" in m and "Content Security Policy" in m for m in messages), messages
    page.close()
