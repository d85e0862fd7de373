"""The portal's lifecycle pages on the real container and broker, with the fake workflow bridge
of test_service: the inbox filtered by network/state/urgency with due and overdue marks (from
workflow events only), every coordinator action form with a command id (a double submit acts
once), the partner's coded decline / help / end, the reporter's answer link, anonymisation."""
from __future__ import annotations

import re

import requests

from netsterk import amqp
from netsterk.contracts import REFERRAL_ANONYMISE, REFERRAL_TASK_UPDATED, WORKFLOW
from netsterk.envelope import make_envelope
from netsterk.testing import wait_until
from services.portal.testing import anonymous_post
from services.portal.tests.test_service import (  # noqa: F401  (fixtures)
    CALLS, PASSWORD, QUESTIONS, REFERRALS, bridge, login, portal, publish_state,
)

AUTH = ("coord.mechelen", PASSWORD)


def publish_task(settings_env, referral_id, ref, state, revision, **extra):
    payload = {"referral_id": referral_id, "ref": ref, "network": "mechelen", "state": state,
               "at": "2026-11-24T09:00:00+00:00", "revision": revision, "urgency": "normal",
               "categories": ["truancy"], "due_at": None, "deadlines": {}, "overdue": {},
               "attention": []}
    payload.update(extra)
    envelope = make_envelope(REFERRAL_TASK_UPDATED, payload, network="mechelen", referral_ref=ref)
    with amqp.connect(settings_env.amqp_uri) as connection:
        amqp.publish_event(connection, WORKFLOW, REFERRAL_TASK_UPDATED, envelope)


def tasks(portal, **params):
    return requests.get(f"{portal}/api/v1/tasks", params=params, auth=AUTH, timeout=10).json()


def test_inbox_filters_due_and_overdue_marks(portal, bridge, settings_env, login):
    publish_task(settings_env, "r-late", "MCH-2026-0101", "triage", 3, urgency="urgent",
                 overdue={"triage": "2026-11-20T09:00:00+00:00"},
                 attention=[{"kind": "escalation", "reason": "triage deadline passed", "at": ""}])
    publish_task(settings_env, "r-ok", "MCH-2026-0102", "awaiting_partner", 4,
                 due_at="2099-01-06T09:00:00+00:00",
                 deadlines={"partner_response:arktos-naft": "2099-01-06T09:00:00+00:00",
                            "partner_reminder:arktos-naft": "2099-01-05T09:00:00+00:00"})
    publish_task(settings_env, "r-done", "MCH-2026-0103", "closed", 9)
    wait_until(lambda: len(tasks(portal)) == 3, timeout=20, what="three tasks")

    assert [t["ref"] for t in tasks(portal, urgency="urgent")] == ["MCH-2026-0101"]
    assert [t["ref"] for t in tasks(portal, state="awaiting_partner")] == ["MCH-2026-0102"]
    assert [t["ref"] for t in tasks(portal, overdue="1")] == ["MCH-2026-0101"]
    assert [t["ref"] for t in tasks(portal, open="1")] == ["MCH-2026-0101", "MCH-2026-0102"]
    assert requests.get(f"{portal}/api/v1/tasks", params={"network": "kiel"}, auth=AUTH, timeout=10).status_code == 403
    assert requests.get(f"{portal}/api/v1/tasks", params={"state": "lost"}, auth=AUTH, timeout=10).status_code == 422

    session = login()
    page = session.get(f"{portal}/", timeout=10).text
    assert 'name="urgency"' in page and 'name="state"' in page and 'name="network"' in page
    late_row = re.search(r'<tr class="open overdue" data-ref="MCH-2026-0101">.*?</tr>', page).group(0)
    assert "te laat sinds 2026-11-20 10:00 / overdue since 2026-11-20 10:00" in late_row
    assert "Termijn verstreken / Deadline passed: triage deadline passed" in late_row
    assert "Dringend / Urgent" in late_row
    ok_row = re.search(r'<tr class="open" data-ref="MCH-2026-0102">.*?</tr>', page).group(0)
    assert "Antwoord van arktos-naft / Answer of arktos-naft: te doen tegen 2099-01-06 10:00" in ok_row
    assert "Herinnering aan arktos-naft" in ok_row
    filtered = session.get(f"{portal}/?urgency=urgent&state=triage", timeout=10).text
    assert "MCH-2026-0101" in filtered and "MCH-2026-0102" not in filtered


def test_action_forms_carry_a_command_id_and_a_double_submit_acts_once(portal, bridge, settings_env, login):
    referral = REFERRALS["r-m1"]
    referral["allowed_actions"] = ["triage", "ask_information", "redirect", "mark_duplicate",
                                   "extend_deadline", "withdraw", "acknowledge"]
    referral["attention"] = [{"kind": "escalation", "reason": "triage deadline passed", "at": ""}]
    referral["overdue"] = {"triage": "2026-03-03T09:00:00+00:00"}
    session = login()
    page = session.get(f"{portal}/referrals/r-m1", timeout=10).text
    for action in referral["allowed_actions"]:
        assert f'id="action-{action}"' in page, action
    assert "te laat sinds 2026-03-03 10:00" in page and "Vraagt uw aandacht" in page
    command = re.search(r'id="action-extend_deadline">.*?name="command_id" value="([0-9a-f]{32})"', page).group(1)
    form = {"command_id": command, "deadline": "triage", "working_days": "2", "reason": "wacht op CLB"}
    for _ in range(2):   # a double click
        done = session.post(f"{portal}/referrals/r-m1/actions/extend_deadline", data=form,
                            allow_redirects=False, timeout=10)
        assert done.status_code == 303
    assert [c[1] for c in CALLS] == ["extend_deadline"]
    assert CALLS[0][2] == {"by": "coord.mechelen", "deadline": "triage", "working_days": 2, "reason": "wacht op CLB"}

    # merge: the other referral is named by its reference and found in the read model
    publish_state(settings_env, "r-m2", "MCH-2026-0002", "mechelen", "triage", "2026-03-02T09:00:00+00:00")
    wait_until(lambda: any(t["ref"] == "MCH-2026-0002" for t in tasks(portal)), what="the other task")
    unknown = session.post(f"{portal}/referrals/r-m1/actions/mark_duplicate",
                           data={"target": "MCH-2099-9999", "command_id": "c-1"}, timeout=10)
    assert unknown.status_code == 422 and "Geen open melding met deze referentie" in unknown.text
    merged = session.post(f"{portal}/referrals/r-m1/actions/mark_duplicate",
                          data={"target": "MCH-2026-0002", "reason": "zelfde leerling", "command_id": "c-2"},
                          allow_redirects=False, timeout=10)
    assert merged.status_code == 303
    assert CALLS[-1] == ("r-m1", "mark_duplicate", {"by": "coord.mechelen", "target_referral_id": "r-m2",
                                                    "reason": "zelfde leerling"})
    bad = session.post(f"{portal}/referrals/r-m1/actions/withdraw",
                       data={"reason": "x", "command_id": "not valid!"}, timeout=10)
    assert bad.status_code == 422 and "formulier-id" in bad.text

    # the JSON API takes the command id in the body or as Idempotency-Key
    url = f"{portal}/api/v1/referrals/r-m1/actions/ask_information"
    for _ in range(2):
        answer = anonymous_post(url, json={"args": {"question": "Welke klas?"}, "command_id": "api-1"},
                               auth=AUTH, timeout=10)
        assert answer.status_code == 200
    answer = anonymous_post(url, json={"question": "Welke klas?"}, headers={"Idempotency-Key": "api-1"},
                           auth=AUTH, timeout=10)
    assert answer.status_code == 200
    assert [c[1] for c in CALLS].count("ask_information") == 1


def test_partner_declines_with_a_code_asks_help_and_reports_the_end(portal, bridge):
    referral = bridge["r-m1"]
    referral.update(state="awaiting_partner", allowed_actions=["partner_respond"])
    token_a, token_b = "tok-a-0123456789abcdef", "tok-b-0123456789abcdef"
    referral["engagements"] = [
        {"token": token_a, "offer_id": "offer-a", "offer_name": "NAFT", "organisation_name": "Arktos",
         "status": "proposed"},
        {"token": token_b, "offer_id": "offer-b", "offer_name": "Huiswerk", "organisation_name": "De Brug",
         "status": "accepted"}]
    declined = anonymous_post(f"{portal}/engagements/r-m1/{token_a}/respond",
                             data={"accept": "0", "reason": "family_unreachable", "note": ""}, timeout=10)
    assert declined.status_code == 200 and "u hebt de vraag geweigerd" in declined.text
    assert CALLS[-1] == ("r-m1", "partner_respond", {"token": token_a, "accept": False, "by": "Arktos",
                                                     "reason": "family_unreachable", "note": ""})
    referral["allowed_actions"] = ["submit_feedback", "ask_help", "report_end"]
    page = requests.get(f"{portal}/engagements/r-m1/{token_b}", timeout=10).text
    assert 'id="partner-feedback"' in page and 'id="partner-help"' in page and 'id="partner-end"' in page
    helped = anonymous_post(f"{portal}/engagements/r-m1/{token_b}/help", data={"text": "Gezin weigert."}, timeout=10)
    assert helped.status_code == 200 and "het meldpunt neemt contact op" in helped.text
    assert CALLS[-1] == ("r-m1", "ask_help", {"token": token_b, "by": "De Brug", "text": "Gezin weigert."})
    bad_end = anonymous_post(f"{portal}/engagements/r-m1/{token_b}/end", data={"outcome": "done", "text": "x"},
                            timeout=10)
    assert bad_end.status_code == 422
    ended = anonymous_post(f"{portal}/engagements/r-m1/{token_b}/end",
                          data={"outcome": "partly_reached", "text": "Huiswerkklas loopt af."}, timeout=10)
    assert ended.status_code == 200 and "einde van uw begeleiding is bewaard" in ended.text
    assert CALLS[-1][1:] == ("report_end", {"token": token_b, "by": "De Brug", "outcome": "partly_reached",
                                            "text": "Huiswerkklas loopt af."})


def test_reporter_answers_through_the_link(portal, bridge):
    QUESTIONS[("r-m1", "q-token-0123456789")] = {"referral_id": "r-m1", "ref": "MCH-2026-0001",
                                                 "question": "Welke klas zit Sam?", "asked_at": "2026-03-02"}
    url = f"{portal}/information/r-m1/q-token-0123456789"
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and "Welke klas zit Sam?" in page.text and "MCH-2026-0001" in page.text
    assert requests.get(f"{portal}/information/r-m1/guessed", timeout=10).status_code == 404
    empty = anonymous_post(url, data={"answer": " "}, timeout=10)
    assert empty.status_code == 422 and "verplicht" in empty.text
    REFERRALS["r-m1"]["allowed_actions"] = ["answer_information"]
    answered = anonymous_post(url, data={"answer": "4B", "command_id": "a-1"}, timeout=10)
    assert answered.status_code == 200 and "uw antwoord is bewaard" in answered.text
    assert CALLS[-1] == ("r-m1", "answer_information", {"token": "q-token-0123456789", "by": "reporter",
                                                        "answer": "4B", "channel": "link"})
    gone = requests.get(url, timeout=10)
    assert gone.status_code == 404 and "al beantwoord" in gone.text


def test_anonymise_event_marks_the_task(portal, bridge, settings_env):
    publish_task(settings_env, "r-old", "MCH-2024-0001", "closed", 7,
                 attention=[{"kind": "ready_to_close", "reason": "every partner reported the end"}])
    wait_until(lambda: tasks(portal), what="the task")
    envelope = make_envelope(REFERRAL_ANONYMISE, {"referral_id": "r-old", "ref": "MCH-2024-0001",
                                                  "network": "mechelen"}, network="mechelen")
    with amqp.connect(settings_env.amqp_uri) as connection:
        amqp.publish_event(connection, WORKFLOW, REFERRAL_ANONYMISE, envelope)
        amqp.publish_event(connection, WORKFLOW, REFERRAL_ANONYMISE, envelope)
    [task] = wait_until(lambda: [t for t in tasks(portal) if t["anonymised"]], timeout=20, what="anonymised")
    assert task["ref"] == "MCH-2024-0001" and task["attention"] == []


def test_the_school_confirms_its_efforts_through_its_link(portal, bridge):
    QUESTIONS[("r-m1", "s-token-0123456789", "school_efforts")] = {
        "referral_id": "r-m1", "ref": "MCH-2026-0001", "question": "school_efforts", "asked_at": "2026-03-02"}
    url = f"{portal}/school-efforts/r-m1/s-token-0123456789"
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and "MCH-2026-0001" in page.text and 'name="summary"' in page.text
    assert requests.get(f"{portal}/school-efforts/r-m1/guessed", timeout=10).status_code == 404
    REFERRALS["r-m1"]["allowed_actions"] = ["confirm_school_efforts"]
    done = anonymous_post(url, data={"summary": "Drie telefoons, een brief op 4/11.", "command_id": "s-1"}, timeout=10)
    assert done.status_code == 200 and "gaat verder met de melding" in done.text
    assert CALLS[-1] == ("r-m1", "confirm_school_efforts", {"token": "s-token-0123456789", "by": "school",
                                                            "summary": "Drie telefoons, een brief op 4/11."})


def test_attention_reasons_are_encrypted_and_erasure_drops_the_task(portal, bridge, settings_env):
    """The inbox keeps the attention reasons (free text) encrypted at rest; `intake.referral_erased`
    removes the referral's task and partner rows and the portal confirms it (also when repeated)."""
    from sqlalchemy import text

    from netsterk.contracts import INTAKE, REFERRAL_ERASED
    from netsterk.db import make_engine
    from netsterk.testing import erasure_event, erasure_receipts

    reason = "task overdue: bel mevrouw Wuytack-Erasmus (coordinator)"
    publish_task(settings_env, "r-gone", "MCH-2024-0002", "closed", 4,
                 attention=[{"kind": "task:c1", "reason": reason}])
    publish_task(settings_env, "r-kept", "MCH-2024-0003", "triage", 2)
    wait_until(lambda: len(tasks(portal)) >= 2, what="both tasks")
    engine = make_engine(settings_env.database_url("portal"))
    with engine.connect() as connection:
        raw = connection.execute(text("SELECT attention FROM task WHERE referral_id = 'r-gone'")).scalar()
    assert "Wuytack" not in raw and raw.startswith("gAAAA")           # a Fernet token
    event = erasure_event("r-gone", ref="MCH-2024-0002")
    with erasure_receipts(settings_env.amqp_uri, "portal") as take:
        with amqp.connect(settings_env.amqp_uri) as connection:
            amqp.publish_event(connection, INTAKE, REFERRAL_ERASED, event)
            amqp.publish_event(connection, INTAKE, REFERRAL_ERASED, event)
        # both confirm (concurrent workers: either may come first); one of them removed it all
        second, first = sorted(take(2), key=lambda r: bool(r["payload"]["removed"]))
    assert first["payload"]["removed"] == {"task": 1, "partner_engagement": 0}
    assert second["payload"]["removed"] == {} and second["message_id"] == first["message_id"]
    assert [t["referral_id"] for t in tasks(portal)] == ["r-kept"]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM task WHERE referral_id = 'r-gone'")).scalar() == 0
    engine.dispose()
