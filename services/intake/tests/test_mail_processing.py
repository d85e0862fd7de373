"""Intake's side of the e-mail gateway in a real nameko container on the real broker: the
gateway's hand-over RPC, draft referrals from mail, replies, auto-replies, bounces, duplicates,
the coordinator's review list and the quarantine."""
import base64
import hashlib
import time
import uuid

import kombu
import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from netsterk import amqp
from netsterk.settings import REPO_ROOT
from netsterk.testing import wait_until
from services.intake.service import IntakeService
from services.notifications.service import NotificationsService

CORPUS = REPO_ROOT / "tests" / "data" / "mail"


def handover(raw: bytes, *, rcpt="meldpunt@netsterk.example", mail_from="sender@school.example"):
    """What the gateway sends for one stored message."""
    return {"id": f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}", "sha256": hashlib.sha256(raw).hexdigest(),
            "size": len(raw), "mail_from": mail_from, "rcpt_tos": [rcpt], "received_at": "2026-11-03T08:14:00+00:00",
            "raw": base64.b64encode(raw).decode("ascii")}


def mail(frm: str, subject: str, body: str = "Tekst.", *, extra: str = "", mid: str | None = None) -> bytes:
    mid = mid or f"<{uuid.uuid4().hex}@sender.example>"
    return (f"From: {frm}\r\nTo: meldpunt@netsterk.example\r\nSubject: {subject}\r\n"
            f"Date: Tue, 03 Nov 2026 09:14:00 +0100\r\nMessage-ID: {mid}\r\n{extra}"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode("utf-8")


@pytest.fixture
def events(amqp_uri):
    connection = amqp.connect(amqp_uri)
    queue = kombu.Queue(f"test-mail-{uuid.uuid4().hex[:6]}", exchange=amqp.event_exchange("intake"),
                        routing_key="referral_submitted", auto_delete=True)
    queue(connection.channel()).declare()
    received = []

    def read(expected: int):
        with kombu.Consumer(connection, queues=[queue], accept=["json"],
                            callbacks=[lambda body, message: (received.append(body), message.ack())]):
            wait_until(lambda: len(received) >= expected or connection.drain_events(timeout=0.5),
                       timeout=20, what=f"{expected} referral_submitted events")
        return received
    yield read
    connection.close()


@pytest.fixture
def intake(run_service, amqp_uri, monkeypatch):
    run_service(IntakeService)
    with ServiceRpcProxy("intake", {"AMQP_URI": amqp_uri}) as proxy:
        proxy.upsert_network("mechelen", "Mechelen", ["truancy", "motivation"])
        yield proxy


def processed(proxy, mail_id):
    return wait_until(lambda: (s := proxy.mail_status(mail_id)) and s["status"] != "received" and s,
                      timeout=20, what=f"mail {mail_id} processed")


def test_new_concern_by_mail_becomes_a_draft_referral(intake, events):
    raw = (CORPUS / "referral_plain_nl.eml").read_bytes()
    message = handover(raw)
    assert intake.mail_received(message) == {"id": message["id"], "status": "stored"}
    status = processed(intake, message["id"])
    assert status["status"] == "processed" and status["kind"] == "referral"
    assert status["referral_ref"].startswith("NS-") and status["network"] == "mechelen"
    event = events(1)[0]
    payload = event["payload"]
    assert payload["draft"] is True and payload["channel"] == "email"
    assert payload["referral_id"] == status["referral_id"] and event["referral_ref"] == status["referral_ref"]
    # the sender's address stays in intake: the workflow asks for it when it sends a mail
    assert "reporter_email" not in payload and "an.peeters@" not in str(event)
    assert "/referrals/draft/" in payload["complete_url"]
    assert payload["categories"] == [] and payload["age"] is None and payload["postcode"] is None
    assert "Sam" not in str(payload)   # no free text about the young person leaves intake
    # the reporter's completion link opens the prefilled form draft
    token = payload["complete_url"].rsplit("/", 1)[1]
    from netsterk.db import session_scope
    from netsterk.nameko_support import make_engine
    from sqlalchemy.orm import sessionmaker
    from netsterk.settings import get_settings
    from services.intake import domain
    with session_scope(sessionmaker(make_engine(get_settings().database_url("intake")))) as session:
        draft = domain.load_draft(session, token)
    assert draft["reporter_email"] == "an.peeters@atheneum.example.org"
    assert "onregelmatig" in draft["description"] and draft["mail_ref"] == status["referral_ref"]
    # the same Message-ID delivered again (another gateway id) is stored once
    again = handover(raw)
    answer = intake.mail_received(again)
    assert answer["status"] == "duplicate" and answer["duplicate_of"] == message["id"]
    assert intake.mail_status(again["id"]) is None
    # the gateway handing over the same stored message twice is harmless
    assert intake.mail_received(message)["status"] == "duplicate"


def test_replies_auto_replies_and_bounces_are_linked_never_new_referrals(intake, events):
    first = handover(mail("An Peeters <an.peeters@atheneum.example.org>", "Zorg over Sam", "Sam spijbelt."))
    intake.mail_received(first)
    ref = processed(intake, first["id"])["referral_ref"]
    referral_id = processed(intake, first["id"])["referral_id"]
    events(1)

    reply = handover(mail("An Peeters <AN.PEETERS@atheneum.example.org>", f"Re: [{ref}] Zorg over Sam",
                          "Nog een aanvulling.\r\n> eerder bericht"))
    intake.mail_received(reply)
    status = processed(intake, reply["id"])
    assert (status["kind"], status["status"], status["referral_id"]) == ("reply", "processed", referral_id)

    stranger = handover(mail("Iemand <iemand@elders.example>", f"Re: {ref} info"))
    intake.mail_received(stranger)
    status = processed(intake, stranger["id"])
    assert (status["kind"], status["status"]) == ("reply", "review")
    assert status["review_reason"] == "sender is not a party of the referral"
    unknown = handover(mail("An Peeters <an.peeters@atheneum.example.org>", "Re: [NS-1999-000001] oud"))
    intake.mail_received(unknown)
    assert processed(intake, unknown["id"])["review_reason"] == "reply to an unknown referral"
    review = intake.mail_review("mechelen")
    assert {r["id"] for r in review} == {stranger["id"], unknown["id"]}

    ooo = handover(mail("An Peeters <an.peeters@atheneum.example.org>", f"Automatisch antwoord: [{ref}] Zorg",
                        "Ik ben afwezig.", extra="Auto-Submitted: auto-replied\r\n"))
    intake.mail_received(ooo)
    status = processed(intake, ooo["id"])
    assert (status["kind"], status["status"], status["referral_ref"]) == ("auto_reply", "processed", ref)

    bounce = (CORPUS / "bounce_postfix.eml").read_bytes().replace(b"NS-2026-000101", ref.encode())
    message = handover(bounce, mail_from="")
    intake.mail_received(message)
    status = processed(intake, message["id"])
    assert (status["kind"], status["referral_ref"]) == ("bounce", ref)
    assert status["answers"] == "<a1b2c3d4e5f60001@netsterk.example>"
    assert status["attachments"][0]["content_type"] == "message/rfc822"

    for name in ("ooo_outlook_en_subject_only.eml", "bounce_qmail.eml", "auto_generated_ticket_en.eml"):
        message = handover((CORPUS / name).read_bytes())
        intake.mail_received(message)
        assert processed(intake, message["id"])["kind"] in ("auto_reply", "bounce")
    time.sleep(1.5)
    # one referral_submitted in all (the first mail): nothing else created a referral
    assert len(events(1)) == 1


def test_reply_threaded_by_in_reply_to_a_mail_notifications_sent(run_service, intake, amqp_uri):
    run_service(NotificationsService)
    with ServiceRpcProxy("notifications", {"AMQP_URI": amqp_uri}) as notifications:
        first = handover(mail("Joke <joke@clb.example>", "Nieuwe zorg", "Een leerling mist veel lessen."))
        intake.mail_received(first)
        ref = processed(intake, first["id"])["referral_ref"]
        sent = notifications.send_email({
            "idempotency_key": f"test-{uuid.uuid4()}", "to": "partner@jeugdwerk.example",
            "template": "partner_reminder", "lang": "nl", "network": "mechelen", "referral_ref": ref,
            "correlation_id": str(uuid.uuid4()),
            "context": {"ref": ref, "offer_name": "Huiswerkklas", "accept_url": "https://x.example/a"}})
    answer = handover(mail("Partner <partner@jeugdwerk.example>", "Re: uw vraag", "We nemen het op.",
                           extra=f"In-Reply-To: <{sent['mail_id']}@netsterk.example>\r\n"))
    intake.mail_received(answer)
    status = processed(intake, answer["id"])
    # matched by In-Reply-To; the partner the mail went to counts as a party
    assert (status["kind"], status["status"], status["referral_ref"]) == ("reply", "processed", ref)


def test_quarantine_lists_and_reprocesses_after_a_fix(intake):
    garbage = handover(bytes(range(256)) * 4)
    intake.mail_received(garbage)
    status = processed(intake, garbage["id"])
    assert status["status"] == "quarantined" and "no mail headers" in status["error"]
    # a concern for a network that does not exist yet: quarantined, then fixed and re-processed
    lost = handover(mail("School <s@school.example>", "Zorg"), rcpt="leuven@netsterk.example")
    from netsterk.settings import get_settings
    assert get_settings().intake_mail_network == "mechelen"
    intake.mail_received(lost)
    # leuven is unknown but the default network exists: processed into mechelen
    assert processed(intake, lost["id"])["network"] == "mechelen"
    listing = intake.mail_quarantine()
    assert [row["id"] for row in listing] == [garbage["id"]]
    again = intake.mail_reprocess(garbage["id"])
    assert again["status"] == "quarantined" and again["attempts"] == 2
    with pytest.raises(Exception) as refused:
        intake.mail_received({"id": "nonsense", "raw": "x"})
    assert "MailError" in str(refused.value)


def test_mail_for_an_unknown_network_waits_in_quarantine_until_fixed(run_service, amqp_uri, monkeypatch):
    monkeypatch.setenv("NETSTERK_INTAKE_MAIL_NETWORK", "gent")
    from netsterk.settings import get_settings
    get_settings.cache_clear()
    run_service(IntakeService)
    with ServiceRpcProxy("intake", {"AMQP_URI": amqp_uri}) as proxy:
        message = handover(mail("School <s@school.example>", "Zorg over een leerling"))
        proxy.mail_received(message)
        status = processed(proxy, message["id"])
        assert status["status"] == "quarantined" and "no network" in status["error"]
        proxy.upsert_network("gent", "Gent", ["truancy"])
        fixed = proxy.mail_reprocess(message["id"])
        assert fixed["status"] == "processed" and fixed["network"] == "gent" and fixed["referral_ref"]
