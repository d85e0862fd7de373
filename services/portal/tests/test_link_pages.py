"""Signed single-action links (`/l/<token>`) on the portal's real container, the real broker and
notifications' real container (which records each link's one use), with the fake workflow bridge
of test_service: feedback / answer / confirm_efforts serve their one form at the link and work
once; complete_draft leads to intake's draft form while the referral is a draft; expired, used
and completed links explain themselves. And the page where staff choose an address's e-mail
language."""
from __future__ import annotations

import time

import pytest
import requests

from netsterk import amqp, links
from netsterk.contracts import REFERRAL_STATE_CHANGED, WORKFLOW
from netsterk.envelope import make_envelope
from netsterk.settings import get_settings
from netsterk.testing import wait_until
from services.portal.testing import anonymous_post
from services.portal.tests.test_service import (  # noqa: F401  (fixtures)
    CALLS, QUESTIONS, bridge, login, portal,
)

TOKEN = "tok-offer-a-0123456789abcdef"


@pytest.fixture
def notifications(run_service):
    from services.notifications.service import NotificationsService
    return run_service(NotificationsService)


def signed(portal, action, referral_id, key, **kwargs) -> str:
    return links.url(portal, links.Link.new(action, referral_id, key, **kwargs), links.link_key(get_settings()))


def test_a_feedback_link_serves_its_form_works_once_then_says_used(portal, bridge, notifications):
    referral = bridge["r-m1"]
    referral.update(state="in_progress", allowed_actions=["submit_feedback", "close"])
    referral["engagements"] = [{"token": TOKEN, "offer_id": "offer-a", "offer_name": "Huiswerkbegeleiding",
                                "organisation_name": "Arktos", "status": "accepted"}]
    url = signed(portal, "feedback", "r-m1", TOKEN)
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and "MCH-2026-0001" in page.text
    assert f'action="{url.removeprefix(portal)}"' in page.text and 'name="text"' in page.text
    assert "partner-help" not in page.text   # only the one action of the link
    empty = anonymous_post(url, data={"text": " "}, timeout=10)
    assert empty.status_code == 422 and "verplicht" in empty.text and f'action="{url.removeprefix(portal)}"' in empty.text
    sent = anonymous_post(url, data={"text": "Eerste gesprek gepland."}, timeout=10)
    assert sent.status_code == 200 and "terugkoppeling is bewaard" in sent.text
    assert CALLS[-1] == ("r-m1", "submit_feedback", {"token": TOKEN, "by": "Arktos", "text": "Eerste gesprek gepland."})
    used = requests.get(url, timeout=10)
    assert used.status_code == 410 and "al gebruikt op" in used.text
    again = anonymous_post(url, data={"text": "nog eens"}, timeout=10)
    assert again.status_code == 410 and len([c for c in CALLS if c[1] == "submit_feedback"]) == 1
    # a feedback link of an engagement nobody works on any more says so
    referral["engagements"][0]["status"] = "completed"
    ended = requests.get(signed(portal, "feedback", "r-m1", TOKEN), timeout=10)
    assert ended.status_code == 410 and "niet meer open" in ended.text


def test_answer_and_confirm_links_work_once_and_an_expired_link_says_when(portal, bridge, notifications):
    QUESTIONS[("r-m1", "q-token-0123456789")] = {"referral_id": "r-m1", "ref": "MCH-2026-0001",
                                                 "question": "Welke klas zit Sam?", "asked_at": "2026-03-02"}
    QUESTIONS[("r-m1", "s-token-0123456789", "school_efforts")] = {
        "referral_id": "r-m1", "ref": "MCH-2026-0001", "question": "school_efforts", "asked_at": "2026-03-02"}
    bridge["r-m1"]["allowed_actions"] = ["answer_information", "confirm_school_efforts"]
    answer = signed(portal, "answer", "r-m1", "q-token-0123456789")
    page = requests.get(answer, timeout=10)
    assert page.status_code == 200 and "Welke klas zit Sam?" in page.text
    assert f'action="{answer.removeprefix(portal)}"' in page.text
    done = anonymous_post(answer, data={"answer": "4B"}, timeout=10)
    assert done.status_code == 200 and "uw antwoord is bewaard" in done.text
    assert CALLS[-1][1] == "answer_information" and CALLS[-1][2]["answer"] == "4B"
    assert requests.get(answer, timeout=10).status_code == 410

    confirm = signed(portal, "confirm_efforts", "r-m1", "s-token-0123456789")
    form = requests.get(confirm, timeout=10)
    assert form.status_code == 200 and f'action="{confirm.removeprefix(portal)}"' in form.text
    confirmed = anonymous_post(confirm, data={"summary": "Drie telefoons."}, timeout=10)
    assert confirmed.status_code == 200 and "gaat verder met de melding" in confirmed.text
    assert CALLS[-1] == ("r-m1", "confirm_school_efforts", {"token": "s-token-0123456789", "by": "school",
                                                            "summary": "Drie telefoons."})
    second = anonymous_post(confirm, data={"summary": "nog eens"}, timeout=10)
    assert second.status_code == 410 and "al gebruikt op" in second.text

    expired = signed(portal, "answer", "r-m1", "q-token-0123456789", days=1, now=time.time() - 2 * 86400)
    gone = requests.get(expired, timeout=10)
    assert gone.status_code == 410 and "verlopen op" in gone.text


def test_a_complete_draft_link_leads_to_that_draft_until_the_referral_left_draft(portal, bridge, notifications,
                                                                                 settings_env):
    bridge["r-m1"].update(state="draft", allowed_actions=["complete_draft"])
    url = signed(portal, "complete_draft", "r-m1", "draft-secret-token",
                 link_id=links.draft_link_id("r-m1"))
    to_form = requests.get(url, timeout=10, allow_redirects=False)
    assert to_form.status_code == 303
    assert to_form.headers["Location"] == f"{get_settings().intake_url}/referrals/draft/draft-secret-token"
    # completed (by the reporter or a coordinator) before notifications heard of it: the state says so
    bridge["r-m1"]["state"] = "triage"
    completed = requests.get(url, timeout=10, allow_redirects=False)
    assert completed.status_code == 410 and "al aangevuld" in completed.text
    # notifications hears the referral left draft: the link is used from then on
    envelope = make_envelope(REFERRAL_STATE_CHANGED, {
        "referral_id": "r-m1", "ref": "MCH-2026-0001", "network": "mechelen", "from_state": "draft",
        "to_state": "triage", "at": "2026-03-02T10:00:00+00:00"}, network="mechelen", referral_ref="MCH-2026-0001")
    with amqp.connect(settings_env.amqp_uri) as connection:
        amqp.publish_event(connection, WORKFLOW, REFERRAL_STATE_CHANGED, envelope)
    def used_page():   # (a requests.Response of a 410 is falsy: return its text)
        response = requests.get(url, timeout=10, allow_redirects=False)
        return response.text if response.status_code == 410 and "al gebruikt op" in response.text else None
    used = wait_until(used_page, timeout=20, what="the link marked used")
    assert "al aangevuld" not in used
    assert requests.get(signed(portal, "complete_draft", "r-gone", "t"), timeout=10).status_code == 404


def test_staff_choose_the_language_of_an_addresss_mail(portal, bridge, notifications, login):
    session = login()
    page = session.get(f"{portal}/notifications/languages", timeout=10)
    assert page.status_code == 200 and 'id="language-form"' in page.text
    bad = session.post(f"{portal}/notifications/languages", data={"address": "nope", "lang": "en"}, timeout=10)
    assert bad.status_code == 422 and "e-mail address" in bad.text
    saved = session.post(f"{portal}/notifications/languages",
                         data={"address": "meldpunt@mechelen.example", "lang": "en"}, timeout=10)
    assert saved.status_code == 200 and "meldpunt@mechelen.example" in saved.text
    rows = amqp.rpc_call(get_settings().amqp_uri, "notifications", "recipient_languages", "mechelen", timeout=20)
    assert [(r["address"], r["lang"], r["updated_by"]) for r in rows] == [
        ("meldpunt@mechelen.example", "en", "coord.mechelen")]
    # not signed in: to the login first
    assert requests.get(f"{portal}/notifications/languages", timeout=10, allow_redirects=False).status_code == 303
