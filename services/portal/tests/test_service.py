"""Interface tests: the real portal container on the real broker, with a small nameko
`workflow_bridge` service in the test that serves get_referral / act from a dict (it fakes the
boundary to the Temporal workflows), driven over HTTP with `requests`."""
from __future__ import annotations

import re

import pytest
import requests
from nameko.containers import ServiceContainer
from nameko.rpc import rpc

from netsterk import amqp
from netsterk.contracts import REFERRAL_STATE_CHANGED, WORKFLOW
from netsterk.envelope import make_envelope
from netsterk.settings import get_settings
from netsterk.testing import wait_until
from services.portal.service import PortalService
from services.portal.testing import PortalClient, TokenAuth, anonymous_post, fresh_code, make_api_token

PASSWORD = "wachtwoord-123"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"   # the test users' second factor (TOTP)


class InvalidAction(Exception):
    """What the bridge raises when a workflow validator refuses an action."""


class UnknownReferral(Exception):
    """What the bridge raises for a referral id without a workflow."""


def snapshot(referral_id, ref, network, state, allowed):
    return {
        "referral_id": referral_id, "ref": ref, "network": network, "state": state,
        "history": [{"from_state": None, "to_state": state, "by": "intake",
                     "at": "2026-03-02T09:00:00+00:00", "reason": "nieuwe melding"}],
        "deadlines": {"triage": "2026-03-03T09:00:00+00:00"},
        "candidates": [{"offer_id": "offer-a", "offer_name": "Huiswerkbegeleiding",
                        "organisation_id": "org-a", "organisation_name": "Arktos",
                        "contact_email": "arktos@example.org", "score": 0.9,
                        "matched": ["categories", "service_area"], "unmatched": ["languages"],
                        "explanation": "Past op zorgthema's; niet op taal."}],
        "engagements": [], "feedback": [], "allowed_actions": allowed,
        "categories": ["truancy", "motivation"],
    }


REFERRALS: dict[str, dict] = {}
CALLS: list[tuple[str, str, dict]] = []
COMMANDS: dict[str, dict] = {}      # command_id -> result (the bridge's update id dedupe)
QUESTIONS: dict[tuple[str, str], dict] = {}


class FakeWorkflowBridge:
    """The boundary the portal talks to, with the refusals the real validators give."""
    name = "workflow_bridge"

    @rpc
    def health(self):
        return {"service": self.name, "status": "ok"}

    @rpc
    def deadlines_config(self, network):
        """The defaults of DESIGN §4 (workflows/config.py without a file)."""
        from netsterk.deadlines import STEPS
        normal = dict(dict.fromkeys(STEPS, 5), school_efforts=3, school_efforts_reminder=2, triage=1, matching=1,
                      partner_response=2, partner_reminder=1, first_feedback=10, feedback_interval=20)
        return {"normal": dict(normal, closed_dates=[], school_holidays=None),
                "urgent": dict(normal, triage=1, partner_response=2, closed_dates=[], school_holidays=None)}

    @rpc
    def get_referral(self, referral_id):
        if referral_id not in REFERRALS:
            raise UnknownReferral(f"no referral {referral_id}")
        return REFERRALS[referral_id]

    @rpc
    def get_question(self, referral_id, token, kind="information"):
        if (referral_id, token, kind) in QUESTIONS:
            return QUESTIONS[(referral_id, token, kind)]
        if kind != "information" or (referral_id, token) not in QUESTIONS:
            raise InvalidAction("this link is not valid (any more): no open question")
        return QUESTIONS[(referral_id, token)]

    @rpc
    def act(self, referral_id, action, args, command_id=None):
        if command_id in COMMANDS:
            return COMMANDS[command_id]
        result = self._act(referral_id, action, args)
        if command_id:
            COMMANDS[command_id] = result
        return result

    def _act(self, referral_id, action, args):
        referral = REFERRALS.get(referral_id)
        if referral is None:
            raise UnknownReferral(f"no referral {referral_id}")
        if action not in referral["allowed_actions"]:
            raise InvalidAction(f"{action} is not allowed in state {referral['state']}")
        CALLS.append((referral_id, action, args))
        if action == "triage":
            referral["state"] = "matching" if args["decision"] == "accept" else "rejected"
            referral["allowed_actions"] = ["choose_partner", "close"]
        elif action == "choose_partner":
            known = {c["offer_id"]: c for c in referral["candidates"]}
            if not set(args["offer_ids"]) <= set(known):
                raise InvalidAction("unknown offer")
            for offer_id in args["offer_ids"]:
                referral["engagements"].append({
                    "token": f"tok-{offer_id}-0123456789abcdef", "offer_id": offer_id,
                    "offer_name": known[offer_id]["offer_name"],
                    "organisation_name": known[offer_id]["organisation_name"], "status": "proposed"})
            referral["state"] = "awaiting_partner"
            referral["allowed_actions"] = ["partner_respond", "close"]
        elif action == "partner_respond":
            engagement = next((g for g in referral["engagements"] if g["token"] == args["token"]), None)
            if engagement is None or engagement["status"] != "proposed":
                raise InvalidAction("this engagement was already answered")
            engagement["status"] = "accepted" if args["accept"] else "declined"
            engagement["reason"] = args["reason"] or None
            referral["state"] = "in_progress" if args["accept"] else "matching"
            referral["allowed_actions"] = ["submit_feedback", "close"]
        elif action == "submit_feedback":
            referral["feedback"].append({"by": args["by"], "at": "2026-03-05T10:00:00+00:00",
                                         "text": args["text"]})
        elif action in ("ask_help", "report_end"):
            referral["feedback"].append({"by": args["by"], "at": "2026-03-05T10:00:00+00:00",
                                         "text": args["text"], "kind": action})
        elif action == "answer_information":
            QUESTIONS.pop((referral_id, args["token"]), None)
        elif action == "extend_deadline":
            referral.setdefault("log", []).append({"action": action, "by": args["by"]})
        elif action == "close":
            referral["state"] = "closed"
            referral["allowed_actions"] = []
        return {"state": referral["state"]}


@pytest.fixture
def bridge(settings_env):
    REFERRALS.clear()
    CALLS.clear()
    COMMANDS.clear()
    QUESTIONS.clear()
    REFERRALS["r-m1"] = snapshot("r-m1", "MCH-2026-0001", "mechelen", "triage", ["triage", "close"])
    REFERRALS["r-k1"] = snapshot("r-k1", "KIEL-2026-0001", "kiel", "triage", ["triage", "close"])
    container = ServiceContainer(FakeWorkflowBridge, {"AMQP_URI": settings_env.amqp_uri,
                                                      "serializer": "json"})
    container.start()
    yield REFERRALS
    container.stop()


@pytest.fixture
def portal(run_service, settings_env):
    # one worker: events are handled one after the other, in queue order
    container = run_service(PortalService, max_workers=1)
    url = f"http://{container.config['WEB_SERVER_ADDRESS']}"
    for username, role, network, org in [("coord.mechelen", "coordinator", "mechelen", None),
                                         ("coord.kiel", "coordinator", "kiel", None),
                                         ("analist", "analyst", "mechelen", None)]:
        result = amqp.rpc_call(settings_env.amqp_uri, "portal", "upsert_user", username, PASSWORD,
                               role, network, organisation_id=org, timeout=20,
                               totp_secret=SECRET if role != "analyst" else None)
        assert result["username"] == username
    return url


def publish_state(settings_env, referral_id, ref, network, to_state, at, due_at=None, message_id=None):
    payload = {"referral_id": referral_id, "ref": ref, "network": network, "from_state": "draft",
               "to_state": to_state, "by": "system", "reason": "", "at": at,
               "categories": ["truancy"], "due_at": due_at, "fhir_status": "received"}
    envelope = make_envelope(REFERRAL_STATE_CHANGED, payload, network=network, referral_ref=ref,
                             message_id=message_id)
    with amqp.connect(settings_env.amqp_uri) as connection:
        amqp.publish_event(connection, WORKFLOW, REFERRAL_STATE_CHANGED, envelope)
    return envelope


@pytest.fixture
def login(portal):
    """Log in as a user; returns a requests.Session with the session cookie (closed afterwards,
    so no keep-alive connection holds the portal's web server open at shutdown)."""
    sessions = []

    def log_in(username="coord.mechelen", password=PASSWORD):
        session = PortalClient(portal)
        sessions.append(session)
        response = session.login(username, password, SECRET)
        assert response.status_code == 303, response.text
        return session

    yield log_in
    for session in sessions:
        session.close()


@pytest.fixture
def api(login):
    """`requests` auth with a personal API token of a user, made on the tokens page."""
    made = {}

    def auth_for(username="coord.mechelen"):
        if username not in made:
            made[username] = TokenAuth(make_api_token(login(username)))
        return made[username]

    return auth_for


def test_health_and_upsert_user_is_idempotent(portal, settings_env):
    assert amqp.rpc_call(settings_env.amqp_uri, "portal", "health") == {"service": "portal", "status": "ok"}
    again = amqp.rpc_call(settings_env.amqp_uri, "portal", "upsert_user", "coord.mechelen", PASSWORD,
                          "coordinator", "mechelen")
    assert again["created"] is False
    with pytest.raises(amqp.RemoteError) as error:
        amqp.rpc_call(settings_env.amqp_uri, "portal", "upsert_user", "x", PASSWORD, "king", "mechelen")
    assert error.value.exc_type == "UserError" and "role" in error.value.value


def test_login_inbox_shows_only_own_network_and_logout(portal, bridge, settings_env, login, api):
    first = publish_state(settings_env, "r-m1", "MCH-2026-0001", "mechelen", "triage",
                          "2026-03-02T09:00:00+00:00", due_at="2026-03-03T09:00:00+00:00")
    publish_state(settings_env, "r-m2", "MCH-2026-0002", "mechelen", "in_progress", "2026-03-02T10:00:00+00:00")
    # a redelivered copy of the first event changes nothing (it would, being newer, if applied);
    # it is queued before the kiel event, so once that is visible the copy was handled
    publish_state(settings_env, "r-m1", "MCH-2026-0001", "mechelen", "closed",
                  "2026-03-02T11:00:00+00:00", message_id=first["message_id"])
    publish_state(settings_env, "r-k1", "KIEL-2026-0001", "kiel", "triage", "2026-03-02T09:00:00+00:00")

    kiel = wait_until(lambda: requests.get(f"{portal}/api/v1/tasks", auth=api("coord.kiel"),
                                           timeout=10).json(), what="the kiel task")
    assert [t["ref"] for t in kiel] == ["KIEL-2026-0001"]
    tasks = requests.get(f"{portal}/api/v1/tasks", auth=api(), timeout=10).json()
    assert [t["ref"] for t in tasks] == ["MCH-2026-0001", "MCH-2026-0002"]
    assert tasks[0]["state"] == "triage"

    anonymous = requests.get(f"{portal}/", allow_redirects=False, timeout=10)
    assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/login")
    wrong = anonymous_post(f"{portal}/login", data={"username": "coord.mechelen", "password": "nee"},
                          timeout=10)
    assert wrong.status_code == 401 and "Onbekende gebruiker of fout wachtwoord" in wrong.text

    session = login()
    cookie = session.cookies.get("netsterk_session")
    assert cookie and "coord.mechelen" not in cookie
    inbox = session.get(f"{portal}/", timeout=10)
    assert inbox.status_code == 200
    assert "MCH-2026-0001" in inbox.text and "MCH-2026-0002" in inbox.text
    assert "KIEL-2026-0001" not in inbox.text
    assert "Triage" in inbox.text and "Lopend / In progress" in inbox.text
    assert "te doen tegen 2026-03-03 / due on 2026-03-03" in inbox.text
    assert 'href="/referrals/r-m1"' in inbox.text
    assert session.get(f"{portal}/static/portal.css", timeout=10).headers["Content-Type"].startswith("text/css")

    logged_out = session.post(f"{portal}/logout", timeout=10)
    assert "U bent afgemeld" in logged_out.text
    assert session.get(f"{portal}/", allow_redirects=False, timeout=10).status_code == 303


def test_roles_and_networks_are_kept_apart(portal, bridge, login, api):
    analyst = login("analist")
    start = analyst.get(f"{portal}/", allow_redirects=False, timeout=10)
    assert start.status_code == 303 and start.headers["Location"] == "/reports"   # the analyst's start page
    assert analyst.get(f"{portal}/referrals/r-m1", timeout=10).status_code == 403
    assert analyst.get(f"{portal}/api/v1/tasks", timeout=10).status_code == 403
    assert analyst.get(f"{portal}/account/tokens", timeout=10).status_code == 403     # no second factor: no token

    session = login()
    other = session.get(f"{portal}/referrals/r-k1", timeout=10)
    assert other.status_code == 404 and "ander netwerk" in other.text
    assert session.get(f"{portal}/referrals/does-not-exist", timeout=10).status_code == 404
    assert requests.get(f"{portal}/api/v1/referrals/r-k1", auth=api(), timeout=10).status_code == 404
    refused = session.post(f"{portal}/referrals/r-k1/actions/triage", data={"decision": "accept"}, timeout=10)
    assert refused.status_code == 404
    assert CALLS == []


def test_detail_and_actions_through_the_bridge(portal, bridge, login):
    session = login()
    detail = session.get(f"{portal}/referrals/r-m1", timeout=10)
    assert detail.status_code == 200
    assert "Melding MCH-2026-0001" in detail.text
    assert "nieuwe melding" in detail.text and "Huiswerkbegeleiding" in detail.text
    assert "Past op zorgthema&#x27;s; niet op taal." in detail.text
    assert 'action="/referrals/r-m1/actions/triage"' in detail.text
    assert "actions/choose_partner" not in detail.text

    # the bridge refuses: its reason is shown, 422, nothing is lost
    refused = session.post(f"{portal}/referrals/r-m1/actions/choose_partner",
                           data={"offer_ids": "offer-a"}, timeout=10)
    assert refused.status_code == 422
    assert "choose_partner is not allowed in state triage" in refused.text
    # the portal's own validation: a rejection needs a reason
    invalid = session.post(f"{portal}/referrals/r-m1/actions/triage", data={"decision": "reject"}, timeout=10)
    assert invalid.status_code == 422 and "Dit veld is verplicht" in invalid.text
    assert CALLS == []

    done = session.post(f"{portal}/referrals/r-m1/actions/triage",
                        data={"decision": "accept", "reason": "duidelijke vraag", "by": "spoofed"},
                        allow_redirects=False, timeout=10)
    assert done.status_code == 303 and done.headers["Location"] == "/referrals/r-m1"
    assert CALLS[-1] == ("r-m1", "triage", {"by": "coord.mechelen", "decision": "accept",
                                            "reason": "duidelijke vraag"})
    after = session.get(f"{portal}/referrals/r-m1", timeout=10)
    assert "Partner zoeken / Matching" in after.text
    assert 'name="offer_ids" value="offer-a"' in after.text


def test_json_api(portal, bridge, api):
    auth = api()
    url = f"{portal}/api/v1/referrals/r-m1"
    unauthenticated = anonymous_post(f"{url}/actions/triage", json={"decision": "accept"}, timeout=10)
    assert unauthenticated.status_code == 401 and "Bearer" in unauthenticated.headers["WWW-Authenticate"]
    assert "Authorization: Bearer" in unauthenticated.json()["error"]
    # passwords do not open the API any more (they would skip the second factor)
    basic = requests.get(url, auth=("coord.mechelen", PASSWORD), timeout=10)
    assert basic.status_code == 401 and "/account/tokens" in basic.json()["error"]
    wrong = requests.get(url, auth=TokenAuth("nst_wrong"), timeout=10)
    assert wrong.status_code == 401 and wrong.json()["error"] == "Deze API-sleutel is onbekend. / This API token is not known."

    assert requests.get(url, auth=auth, timeout=10).json()["state"] == "triage"
    REFERRALS["r-m1"]["allowed_actions"] = ["triage"]
    refused = anonymous_post(f"{url}/actions/close", json={"re_engaged": "no", "what_was_done": "geen"},
                            auth=auth, timeout=10)
    assert refused.status_code == 422 and refused.json() == {"error": "close is not allowed in state triage"}
    invalid = anonymous_post(f"{url}/actions/triage", json={"decision": "maybe"}, auth=auth, timeout=10)
    assert invalid.status_code == 422 and invalid.json()["field"] == "decision"
    garbage = anonymous_post(f"{url}/actions/triage", data="{not json", auth=auth, timeout=10)
    assert garbage.status_code == 422
    unknown = anonymous_post(f"{url}/actions/fly", json={}, auth=auth, timeout=10)
    assert unknown.status_code == 422 and "fly" in unknown.json()["error"]

    ok = anonymous_post(f"{url}/actions/triage", json={"decision": "accept"}, auth=auth, timeout=10)
    assert ok.status_code == 200 and ok.json() == {"result": {"state": "matching"}}
    ok = anonymous_post(f"{url}/actions/choose_partner", json={"offer_ids": ["offer-a"]}, auth=auth, timeout=10)
    assert ok.json() == {"result": {"state": "awaiting_partner"}}
    missing = requests.get(f"{portal}/api/v1/referrals/nope", auth=auth, timeout=10)
    assert missing.status_code == 404 and "error" in missing.json()


def test_partner_accepts_and_gives_feedback(portal, bridge):
    referral = bridge["r-m1"]
    referral.update(state="awaiting_partner", allowed_actions=["partner_respond", "close"])
    token = "tok-offer-a-0123456789abcdef"
    referral["engagements"] = [{"token": token, "offer_id": "offer-a", "offer_name": "Huiswerkbegeleiding",
                                "organisation_name": "Arktos", "status": "proposed"}]
    page_url = f"{portal}/engagements/r-m1/{token}"

    assert requests.get(f"{portal}/engagements/r-m1/wrong-token", timeout=10).status_code == 404
    assert requests.get(f"{portal}/engagements/nope/{token}", timeout=10).status_code == 404
    page = requests.get(page_url, timeout=10)
    assert page.status_code == 200
    assert "MCH-2026-0001" in page.text and "Huiswerkbegeleiding" in page.text
    assert "Spijbelen / Truancy" in page.text
    assert 'name="accept" value="1"' in page.text

    declined_without_reason = anonymous_post(f"{page_url}/respond", data={"accept": "0"}, timeout=10)
    assert declined_without_reason.status_code == 422 and "Kies een van: no_capacity" in declined_without_reason.text
    other_without_note = anonymous_post(f"{page_url}/respond", data={"accept": "0", "reason": "other"}, timeout=10)
    assert other_without_note.status_code == 422 and "verplicht" in other_without_note.text
    assert '<option value="family_unreachable">Gezin onbereikbaar / Family unreachable</option>' in page.text

    accepted = anonymous_post(f"{page_url}/respond", data={"accept": "1"}, timeout=10)
    assert accepted.status_code == 200 and "u hebt de vraag aanvaard" in accepted.text
    assert CALLS[-1] == ("r-m1", "partner_respond", {"token": token, "accept": True, "by": "Arktos",
                                                     "reason": ""})
    assert len(CALLS) == 1
    again = anonymous_post(f"{page_url}/respond", data={"accept": "1"}, timeout=10)
    assert again.status_code == 422 and "partner_respond is not allowed in state in_progress" in again.text

    form = requests.get(page_url, timeout=10)
    assert 'action="/engagements/r-m1/' in form.text and "/feedback" in form.text
    assert "Aanvaard / Accepted" in form.text
    sent = anonymous_post(f"{page_url}/feedback", data={"text": "Eerste gesprek met het gezin gepland."},
                         timeout=10)
    assert sent.status_code == 200 and "terugkoppeling is bewaard" in sent.text
    assert referral["feedback"][-1]["text"] == "Eerste gesprek met het gezin gepland."
    assert referral["feedback"][-1]["by"] == "Arktos"


def test_bridge_down_gives_a_clear_message(portal, settings_env, monkeypatch, login):
    monkeypatch.setenv("NETSTERK_RPC_TIMEOUT", "2")
    get_settings.cache_clear()
    session = login()
    page = session.get(f"{portal}/referrals/r-m1", timeout=20)
    assert page.status_code in (503, 504)
    assert "niet bereikbaar" in page.text
    assert re.search(r"try again shortly", page.text)


def test_unusable_event_is_dead_lettered_and_later_events_still_arrive(portal, settings_env, login):
    signed_in = login()
    bad = publish_state(settings_env, "r-x", "MCH-2026-0009", "mechelen", "flying", "2026-03-02T09:00:00Z")
    publish_state(settings_env, "r-y", "MCH-2026-0010", "mechelen", "triage", "2026-03-02T09:00:00Z")
    auth = TokenAuth(make_api_token(signed_in))
    tasks = wait_until(lambda: requests.get(f"{portal}/api/v1/tasks", auth=auth, timeout=10).json(),
                       what="the good event")
    assert [t["ref"] for t in tasks] == ["MCH-2026-0010"]
    with amqp.connect(settings_env.amqp_uri) as connection:
        queue = connection.SimpleQueue(amqp.dead_letter_queue("portal.on_referral_state_changed"))
        message = queue.get(timeout=10)
        message.ack()
        queue.close()
    assert message.payload["body"]["message_id"] == bad["message_id"]
    assert "unknown state 'flying'" in message.payload["error"]


def test_login_returns_to_the_page_asked_for_and_only_on_this_site(portal, bridge):
    asked = requests.get(f"{portal}/referrals/r-m1", allow_redirects=False, timeout=10)
    assert asked.status_code == 303 and asked.headers["Location"].endswith("/login?next=/referrals/r-m1")
    form = requests.get(f"{portal}/login?next=/referrals/r-m1", timeout=10)
    assert '<input type="hidden" name="next" value="/referrals/r-m1">' in form.text
    with PortalClient(portal) as session:
        back = session.login("coord.mechelen", PASSWORD, SECRET, next_path="/referrals/r-m1")
        assert back.headers["Location"] == "/referrals/r-m1"
        elsewhere = session.login("coord.mechelen", PASSWORD, SECRET, next_path="//evil.example/x")
        assert elsewhere.headers["Location"] == "/"


def test_every_post_needs_the_csrf_token_and_every_response_has_security_headers(portal, bridge, login, api):
    session = login()
    page = session.get(f"{portal}/referrals/r-m1", timeout=10)
    headers = page.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    # every post form of the page got the hidden token, added by the response layer
    assert page.text.count('<form method="post"') == page.text.count('name="csrf_token"') > 1
    cookies = {c.name: c for c in session.cookies}
    assert cookies["netsterk_session"].has_nonstandard_attr("HttpOnly")
    assert cookies["netsterk_csrf"].has_nonstandard_attr("HttpOnly")
    # a forged form (another site: the browser sends the cookies, but not the token)
    forged = requests.post(f"{portal}/referrals/r-m1/actions/triage", data={"decision": "accept"},
                           cookies=session.cookies, timeout=10)
    assert forged.status_code == 403 and "niet van deze site" in forged.text
    wrong = requests.post(f"{portal}/referrals/r-m1/actions/triage", data={"decision": "accept", "csrf_token": "x"},
                          cookies=session.cookies, timeout=10)
    assert wrong.status_code == 403
    assert CALLS == []
    # the API with a personal API token needs no CSRF token; with the session cookie it does
    assert requests.post(f"{portal}/api/v1/referrals/r-m1/actions/fly", json={}, auth=api(),
                         timeout=10).status_code == 422
    assert requests.post(f"{portal}/api/v1/referrals/r-m1/actions/fly", json={}, cookies=session.cookies,
                         timeout=10).status_code == 403
    assert requests.get(f"{portal}/health", timeout=10).headers["X-Content-Type-Options"] == "nosniff"


def test_second_factor_enrolment_throttling_and_session_end(portal, bridge, settings_env):
    amqp.rpc_call(settings_env.amqp_uri, "portal", "upsert_user", "nieuw", PASSWORD, "coordinator", "mechelen",
                  timeout=20)
    with PortalClient(portal) as client:
        first = client.post(f"{portal}/login", data={"username": "nieuw", "password": PASSWORD},
                            allow_redirects=False)
        assert first.headers["Location"].startswith("/login/enrol")
        assert client.get(f"{portal}/", allow_redirects=False).status_code == 303      # no session yet
        enrol = client.get(f"{portal}{first.headers['Location']}")
        secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', enrol.text).group(1).replace(" ", "")
        assert 'src="data:image/svg+xml;base64,' in enrol.text
        bad = client.post(f"{portal}/login/enrol", data={"code": "000000"}, allow_redirects=False)
        assert bad.status_code == 401 and "klopt niet" in bad.text
        done = client.post(f"{portal}/login/enrol", data={"code": fresh_code(secret)}, allow_redirects=False)
        assert done.status_code == 303 and done.headers["Location"] == "/"
        assert client.get(f"{portal}/", allow_redirects=False).status_code == 200
        # the secret is shown once: the next sign-in asks for a code, never shows the key again
        again = client.post(f"{portal}/login", data={"username": "nieuw", "password": PASSWORD},
                            allow_redirects=False)
        assert again.headers["Location"].startswith("/login/totp")
        assert client.get(f"{portal}/login/enrol", allow_redirects=False).status_code == 303
        # logging out ends the session everywhere: an old cookie copied before does not work
        old = client.cookies.get("netsterk_session")
        client.post(f"{portal}/logout")
        assert requests.get(f"{portal}/", cookies={"netsterk_session": old}, allow_redirects=False,
                            timeout=10).status_code == 303
    with PortalClient(portal) as client:      # throttled after 5 misses: even the right password waits
        for _ in range(5):
            assert client.post(f"{portal}/login", data={"username": "nieuw", "password": "fout-fout"}).status_code == 401
        locked = client.post(f"{portal}/login", data={"username": "nieuw", "password": PASSWORD})
        assert locked.status_code == 429 and "Te veel mislukte pogingen" in locked.text
        assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60
        assert "Try again in 15 minutes" in locked.text


def test_api_tokens_are_made_shown_once_used_and_revoked_on_the_page(portal, bridge, settings_env, login):
    from kombu import Queue

    from netsterk.contracts import PERSONAL_DATA_ACCESSED, PORTAL

    audit = Queue("test-portal-audit", exchange=amqp.event_exchange(PORTAL), routing_key=PERSONAL_DATA_ACCESSED,
                  auto_delete=True)
    with amqp.connect(settings_env.amqp_uri) as connection:
        audit(connection.channel()).declare()
        session = login()
        page = session.get(f"{portal}/account/tokens", timeout=10)
        assert page.status_code == 200 and 'href="/account/tokens"' in page.text and "new-token" not in page.text
        refused = session.post(f"{portal}/account/tokens", data={"name": "", "days": "30"}, timeout=10)
        assert refused.status_code == 422 and "naam van 1 tot 64 tekens" in refused.text
        raw = make_api_token(session, "rapportage-script")
        again = session.get(f"{portal}/account/tokens", timeout=10).text
        assert raw not in again and "rapportage-script" in again        # shown once, listed after
        assert requests.get(f"{portal}/api/v1/referrals/r-m1", auth=TokenAuth(raw), timeout=10).json()["ref"] == "MCH-2026-0001"
        # another user cannot revoke it; its owner can, and then it is refused with the reason
        token_id = re.search(r'action="/account/tokens/([0-9a-f]+)/revoke"', again).group(1)
        assert login("coord.kiel").post(f"{portal}/account/tokens/{token_id}/revoke", timeout=10).status_code == 404
        revoked = session.post(f"{portal}/account/tokens/{token_id}/revoke", timeout=10)
        assert revoked.status_code == 200 and "ingetrokken" in revoked.text
        answer = requests.get(f"{portal}/api/v1/referrals/r-m1", auth=TokenAuth(raw), timeout=10)
        assert answer.status_code == 401 and "ingetrokken" in answer.json()["error"]
        # made and revoked: both in the network's audit chain (intake appends what is published)
        entries = []
        queue = connection.SimpleQueue(audit)
        wait_until(lambda: entries.append(queue.get(timeout=1).payload["payload"]) or
                   [e for e in entries if e["record_type"] == "api_token"][1:], timeout=20, what="audit events")
        queue.close()
    tokens = [e for e in entries if e["record_type"] == "api_token"]
    assert [(e["action"], e["record_id"], e["actor"]["username"]) for e in tokens] == [
        ("create", token_id, "coord.mechelen"), ("update", token_id, "coord.mechelen")]
    assert raw not in str(entries)


NETWORKS: dict[str, dict] = {}
SAVED: list[tuple] = []


class FakeIntake:
    """intake's network RPCs the admin's deadlines page uses (intake's own are tested there)."""
    name = "intake"

    @rpc
    def get_network(self, code):
        return NETWORKS.get(code)

    @rpc
    def set_network_deadlines(self, code, deadlines, actor):
        SAVED.append((code, deadlines, actor["username"], actor["role"]))
        NETWORKS[code]["deadlines"] = deadlines
        return NETWORKS[code]


def test_the_network_admin_sets_the_networks_own_deadlines(portal, bridge, settings_env, login):
    NETWORKS.clear()
    SAVED.clear()
    NETWORKS["mechelen"] = {"code": "mechelen", "name": "Mechelen", "categories": ["truancy"], "deadlines": {}}
    container = ServiceContainer(FakeIntake, {"AMQP_URI": settings_env.amqp_uri, "serializer": "json"})
    container.start()
    try:
        amqp.rpc_call(settings_env.amqp_uri, "portal", "upsert_user", "admin.mechelen", PASSWORD, "network_admin",
                      "mechelen", timeout=20, totp_secret=SECRET)
        admin = login("admin.mechelen")
        page = admin.get(f"{portal}/admin/deadlines", timeout=10)
        assert page.status_code == 200 and 'name="normal.triage"' in page.text and 'name="urgent.closure"' in page.text
        assert 'aria-label="triage, normale melding: werkdagen van het netwerk' in page.text
        for form, message in (({"normal.triage": "0"}, "van 1 tot 60"), ({"normal.triage": "drie"}, "van 1 tot 60"),
                              ({"normal.lunch": "2"}, "Onbekende termijn: normal.lunch"),
                              ({"urgent.partner_reminder": "2"}, "moet vóór de termijn partner_response")):
            refused = admin.post(f"{portal}/admin/deadlines", data=form, timeout=10)
            assert refused.status_code == 422 and message in refused.text, (form, refused.text[-800:])
        assert admin.post(f"{portal}/admin/deadlines", data={"network": "kiel", "normal.triage": "2"},
                          timeout=10).status_code == 403
        assert SAVED == []                       # nothing refused reached intake
        saved = admin.post(f"{portal}/admin/deadlines", data={"normal.triage": "3", "urgent.matching": "",
                                                              "urgent.partner_response": "4"}, timeout=10)
        assert saved.status_code == 200 and "De termijnen zijn bewaard" in saved.text
        assert SAVED == [("mechelen", {"normal": {"triage": 3}, "urgent": {"partner_response": 4}},
                          "admin.mechelen", "network_admin")]
        assert 'name="normal.triage" id="deadline-normal-triage" value="3"' in saved.text
        # a coordinator may not
        assert login().post(f"{portal}/admin/deadlines", data={"normal.triage": "2"}, timeout=10).status_code == 403
    finally:
        container.stop()


HTML_MAIL = ("{headers}To: meldpunt@netsterk.example\r\nSubject: Zorgen om Quarantia\r\n"
             "Date: Tue, 03 Nov 2026 09:14:00 +0100\r\nMessage-ID: <{mid}@sender.example>\r\n"
             "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b1\r\n\r\n"
             "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLeerling Quarantia komt niet meer.\r\n"
             "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
             "<p onclick=\"steal()\">Leerling <b>Quarantia</b> komt niet meer.<script>alert(1)</script></p>"
             "<img src=\"https://tracker.example/pixel.gif\"><a href=\"javascript:alert(1)\">x</a>\r\n"
             "--b1--\r\n")


def test_coordinator_reads_a_quarantined_mail_sanitised_scoped_and_audited(portal, login, settings_env, run_service):
    """The mail quarantine's body view: text and sanitised HTML in a sandboxed frame, the SPF/DKIM
    verdict, scoped to the coordinator's network, each read in intake's audit chain with its purpose."""
    import uuid

    from services.intake.service import IntakeService
    from services.intake.tests.test_mail_processing import handover
    from services.portal.mailbox import BODY_CSP

    run_service(IntakeService)
    uri = settings_env.amqp_uri
    amqp.rpc_call(uri, "intake", "upsert_network", "mechelen", "Mechelen", ["truancy"], timeout=20)
    no_sender = HTML_MAIL.format(headers="Authentication-Results: mx.netsterk.example; spf=pass; dkim=pass\r\n",
                                 mid=uuid.uuid4().hex).encode()
    spoofed = HTML_MAIL.format(headers="From: Directie <directie@school.example>\r\nAuthentication-Results: "
                               "mx.netsterk.example; spf=fail; dkim=fail\r\n", mid=uuid.uuid4().hex).encode()
    quarantined, review = handover(no_sender), handover(spoofed)
    for message in (quarantined, review):
        assert amqp.rpc_call(uri, "intake", "mail_received", message, timeout=20)["status"] == "stored"
    wait_until(lambda: amqp.rpc_call(uri, "intake", "mail_status", quarantined["id"], timeout=20)["status"]
               == "quarantined", timeout=30, what="the mail without a sender in the quarantine")
    wait_until(lambda: amqp.rpc_call(uri, "intake", "mail_status", review["id"], timeout=20)["status"]
               == "review", timeout=30, what="the spoofed mail in the review list")

    coordinator = login()
    listing = coordinator.get(f"{portal}/mail")
    assert listing.status_code == 200 and f'href="/mail/{quarantined["id"]}"' in listing.text
    assert "Quarantia" not in listing.text                       # the lists show metadata only
    page = coordinator.get(f"{portal}/mail/{quarantined['id']}")
    assert page.status_code == 200, page.text
    assert 'id="mail-auth" class="info"' in page.text and "Sender verified" in page.text
    assert "Leerling Quarantia komt niet meer." in page.text and "no sender address" in page.text
    frame = re.search(r'<iframe id="mail-html"[^>]*sandbox=""[^>]*srcdoc="([^"]*)"', page.text)
    assert frame, page.text
    document = frame.group(1)
    assert "&lt;b&gt;Quarantia&lt;/b&gt;" in document and BODY_CSP.replace("'", "&#x27;") in document
    for bad in ("script", "onclick", "tracker.example", "javascript:", "&lt;img"):
        assert bad not in document, bad
    for bad in ("alert(", "steal(", "tracker.example"):
        assert bad not in page.text, bad
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]

    flagged = coordinator.get(f"{portal}/mail/{review['id']}")
    assert 'id="mail-auth" class="error"' in flagged.text and "NOT verified (dkim=fail, spf=fail)" in flagged.text
    assert "directie@school.example" in flagged.text

    # scope: another network's coordinator gets 404, an analyst 403, nobody sees an unknown mail
    assert login("coord.kiel").get(f"{portal}/mail/{review['id']}").status_code == 404
    assert login("analist").get(f"{portal}/mail/{review['id']}").status_code == 403
    assert coordinator.get(f"{portal}/mail/00000000000000000000-unknown").status_code == 404

    trail = amqp.rpc_call(uri, "intake", "audit_log",
                          {"username": "admin", "role": "network_admin", "network": "mechelen"}, timeout=20)
    reads = [e for e in trail["entries"] if e["record_type"] == "mail" and e["action"] == "read"]
    assert {e["record_id"] for e in reads} == {quarantined["id"], review["id"]}
    assert all(e["actor"] == "coord.mechelen" and e["purpose"] == "mail quarantine review"
               and e["origin"] == "127.0.0.1" and "html" in e["fields"] for e in reads)
    assert trail["chain"]["ok"]
