"""A partner keeps its own directory entry up to date and the network admin approves it, in a
real browser (Debian's Chromium driven by Playwright) against the real stack."""
import pytest
from playwright.sync_api import sync_playwright

from netsterk import amqp
from services.portal.testing import browser_login

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update"]


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


def login(browser, url: str, username: str):
    page = browser.new_context().new_page()
    browser_login(page, url, username, path="/directory")     # password, then the TOTP code
    return page


def test_partner_edits_its_entry_and_the_admin_approves_in_the_browser(live_stack, browser, tmp_path):
    settings, _stack = live_stack
    url = settings.portal_url
    before = amqp.rpc_call(settings.amqp_uri, "matching", "get_organisation", "mechelen", "arktos", timeout=30)
    capacity = before["offers"][0]["capacity"] + 2

    partner = login(browser, url, "arktos")
    partner.wait_for_url("**/directory/organisations/arktos")
    assert partner.locator("#offer-0-name").input_value() == before["offers"][0]["name"]
    partner.fill("#offer-0-capacity", str(capacity))
    partner.fill("#offer-0-opening_hours", "MO-TH 09:00-16:30")
    partner.click("#entry-form button[type=submit]")
    assert "wacht op goedkeuring" in partner.content()
    partner.screenshot(path=str(tmp_path / "partner-submitted.png"), full_page=True)
    still = amqp.rpc_call(settings.amqp_uri, "matching", "get_organisation", "mechelen", "arktos", timeout=30)
    assert still["offers"][0]["capacity"] == before["offers"][0]["capacity"]

    admin = login(browser, url, "admin")
    admin.wait_for_url("**/directory")
    admin.click("a[href='/directory/changes']")
    change = admin.locator("section.change", has_text="Arktos")
    assert "offers[arktos-naft-traject].capacity" in change.inner_text()
    change.locator("button[name=approve][value='1']").click()
    assert "Goedgekeurd" in admin.content()
    admin.goto(f"{url}/directory/organisations/arktos")
    assert admin.locator("#offer-0-capacity").input_value() == str(capacity)
    admin.screenshot(path=str(tmp_path / "admin-approved.png"), full_page=True)
    after = amqp.rpc_call(settings.amqp_uri, "matching", "get_organisation", "mechelen", "arktos", timeout=30)
    assert after["offers"][0]["capacity"] == capacity
    assert after["offers"][0]["opening_hours"] == [{"days": ["MO", "TU", "WE", "TH"], "opens": "09:00",
                                                    "closes": "16:30"}]
