"""Signed single-action links (netsterk/links.py) and how notifications puts them in e-mails."""
import time
from types import SimpleNamespace

import pytest

from netsterk import links
from services.notifications import domain

KEY = b"k" * 32
SETTINGS = SimpleNamespace(link_key="test-link-key", session_key="s", link_days=14)


def test_a_link_signs_and_verifies_with_its_one_action():
    link = links.Link.new("accept", "ref-1", "tok-1", days=1)
    token = links.sign(link, KEY)
    assert links.verify(token, KEY) == link
    assert links.verify(token, KEY).action == "accept" and link.key == "tok-1"


def test_an_altered_or_foreign_link_is_invalid():
    token = links.sign(links.Link.new("decline", "ref-1", "tok-1"), KEY)
    body, mac = token.split(".")
    forged = links.sign(links.Link.new("accept", "ref-1", "tok-1"), KEY).split(".")[0] + "." + mac
    for bad in (forged, body + "." + mac[:-2] + "AA", token + "x", "", "a.b.c", "no-dot",
                links.sign(links.Link.new("decline", "ref-1", "tok-1"), b"other" * 8)):
        with pytest.raises(links.LinkInvalid):
            links.verify(bad, KEY)


def test_a_link_expires_and_says_what_it_was_for():
    link = links.Link.new("feedback", "ref-9", "tok", days=1, now=1_000_000)
    token = links.sign(link, KEY)
    assert links.verify(token, KEY, now=1_000_000 + 86399).referral_id == "ref-9"
    with pytest.raises(links.LinkExpired) as info:
        links.verify(token, KEY, now=1_000_000 + 86400)
    assert info.value.link.action == "feedback" and info.value.link.expires == 1_000_000 + 86400


def test_unknown_actions_are_refused():
    with pytest.raises(ValueError, match="unknown link action"):
        links.Link.new("delete_everything", "r", "k")


def test_the_portal_pages_of_a_context_become_signed_links():
    context = {"ref": "NS-1", "accept_url": "https://portal.example/engagements/ref-1/tok-1",
               "answer_url": "https://portal.example/information/ref-1/q-7",
               "confirm_url": "https://portal.example/school-efforts/ref-1/s-3"}
    out = domain.sign_links(context, settings=SETTINGS)
    key = links.link_key(SETTINGS)
    assert out["accept_url"] == context["accept_url"]          # the page to look at stays
    accept = links.verify(out["accept_link"].split("/l/")[1], key)
    decline = links.verify(out["decline_link"].split("/l/")[1], key)
    assert (accept.action, accept.referral_id, accept.key) == ("accept", "ref-1", "tok-1")
    assert decline.action == "decline" and decline.id != accept.id
    assert out["accept_link"].startswith("https://portal.example/l/")
    answer = links.verify(out["answer_url"].split("/l/")[1], key)
    assert (answer.action, answer.key) == ("answer", "q-7")
    assert links.verify(out["confirm_url"].split("/l/")[1], key).action == "confirm_efforts"
    assert 13 * 86400 < accept.expires - time.time() <= 14 * 86400


def test_a_context_without_portal_pages_is_left_alone():
    context = {"ref": "NS-1", "accept_url": "https://elsewhere.example/x"}
    out = domain.sign_links(context, settings=SETTINGS)
    assert out["accept_link"] == out["decline_link"] == "https://elsewhere.example/x"
    assert links.parse_portal_url("https://p.example/referrals/r/school-efforts") is None


def test_french_only_where_the_network_enables_it():
    settings = SimpleNamespace(french_networks="brussel, mechelen")
    assert domain.language_for("brussel", "fr", settings) == "fr"
    assert domain.language_for("gent", "fr", settings) == "en"
    assert domain.language_for("gent", "nl", settings) == "nl"
    assert domain.language_for("gent", "fr", SimpleNamespace(french_networks="*")) == "fr"


def test_the_drafts_complete_url_becomes_its_one_signed_complete_draft_link():
    key = links.link_key(SETTINGS)
    out = domain.sign_links({"ref": "NS-1", "complete_url": "https://portal.example/drafts/ref-3/draft-tok"},
                            settings=SETTINGS)
    assert out["complete_url"].startswith("https://portal.example/l/")
    link = links.verify(out["complete_url"].split("/l/")[1], key)
    assert (link.action, link.referral_id, link.key) == ("complete_draft", "ref-3", "draft-tok")
    # one fixed id per referral: whoever completes the draft marks this link used
    assert link.id == links.draft_link_id("ref-3") == "draft-ref-3"
    assert links.parse_portal_url("https://p.example/sub/drafts/r/t") == ("draft", "r", "t", "https://p.example/sub")


class _Session:
    def __init__(self):
        self.rows = {}

    def get(self, _model, key):
        return self.rows.get(key)

    def add(self, row):
        self.rows[row.link_id] = row


def test_leaving_draft_marks_the_complete_draft_link_used_once():
    session = _Session()

    def moved(from_state, to_state):
        domain.mark_draft_link_used(session, {"payload": {"referral_id": "ref-3", "from_state": from_state,
                                                          "to_state": to_state}})
    moved(None, "draft")
    moved("triage", "matching")
    assert session.rows == {}
    moved("draft", "triage")
    first = session.rows["draft-ref-3"]
    moved("draft", "triage")   # a redelivered event changes nothing
    assert session.rows == {"draft-ref-3": first} and first.action == "complete_draft"
