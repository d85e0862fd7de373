"""A reporter and a coordinator in a real browser (Debian's Chromium driven by Playwright) against
the real stack: the form, the portal's inbox and actions, and the partner's e-mail link."""
import re

import pytest
import requests
from playwright.sync_api import sync_playwright

from netsterk.testing import wait_until
from services.portal.testing import api_auth, browser_login

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update"]


@pytest.fixture
def page(tmp_path):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page()
        yield page
        page.screenshot(path=str(tmp_path / "last.png"), full_page=True)
        browser.close()


def test_referral_from_browser_form_reaches_the_partners_mailbox(live_stack, page, tmp_path):
    settings, _stack = live_stack

    # the reporter, in the browser
    page.goto(f"{settings.intake_url}/referrals/new")
    page.fill("#reporter_name", "Ilse Claes")
    page.fill("#reporter_organisation", "Basisschool De Regenboog")
    page.fill("#reporter_role", "zorgcoördinator")
    page.fill("#reporter_email", "ilse.claes@regenboog.example.org")
    page.check("#reporter_is_school")
    page.fill("#first_name", "Noor")
    page.fill("#last_name", "El Amrani")
    page.fill("#age", "11")
    page.select_option("#school_level", "primary")
    page.fill("#postcode", "2800")
    page.fill("#languages", "nl, ar")
    page.check("input[name=categories][value=learning]")
    page.fill("#description", "Noor haakt af bij huiswerk en mist veel lessen.")
    page.check("input[name=consent][value=both]")
    page.click("button[value=submit]")
    assert page.locator("#error-school_efforts").is_visible()      # a school must say what it tried
    page.fill("#school_efforts", "Gesprekken met ouders, huiswerkcontract.")
    page.fill("#school_efforts_when", "3/11 en 10/11")
    page.fill("#school_efforts_result", "Beterschap van korte duur")
    page.click("button[value=submit]")
    page.wait_for_url(re.compile(r".*/referrals/submitted/NS-\d{4}-\d{6}$"))
    ref = page.locator("#ref").inner_text()
    page.screenshot(path=str(tmp_path / "submitted.png"))

    # the coordinator, in the portal
    browser_login(page, settings.portal_url, "coordinator", path="/")     # password, then the TOTP code
    row = page.locator("tr", has_text=ref)
    wait_until(lambda: (page.reload(), row.count() and "Triage" in row.first.inner_text())[1],
               timeout=60, what="the referral in triage in the inbox")
    row.first.locator("a").click()
    page.locator("#action-triage button[type=submit]").click()
    wait_until(lambda: (page.reload(), page.locator("#action-choose_partner").count())[1],
               timeout=60, what="ranked candidates")
    first = page.locator("#action-choose_partner input[name=offer_ids]").first
    offer_id = first.get_attribute("value")
    first.check()
    page.locator("#action-choose_partner button[type=submit]").click()
    page.screenshot(path=str(tmp_path / "engaged.png"), full_page=True)

    # the partner's mailbox, then the link in it, in the browser
    def partner_mail():
        return [m for m in requests.get(f"{settings.mailsink_url}/api/messages", timeout=5).json()
                if ref in m["subject"] and not any("regenboog" in to for to in m["to"])]
    mail = wait_until(partner_mail, timeout=30, what="the partner's e-mail")[0]
    link = re.search(r"https?://\S+/engagements/\S+", mail["text"]).group(0)
    page.goto(link)
    assert ref in page.content() and "El Amrani" not in page.content()
    page.click("button[name=accept][value='1']")
    page.wait_for_load_state()
    snapshot = requests.get(f"{settings.portal_url}/api/v1/referrals/{link.split('/')[-2]}",
                            auth=api_auth(settings.portal_url, "coordinator"), timeout=10).json()
    assert snapshot["state"] == "in_progress"
    assert [e["offer_id"] for e in snapshot["engagements"] if e["status"] == "accepted"] == [offer_id]
