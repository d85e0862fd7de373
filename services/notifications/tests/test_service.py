"""notifications' real nameko container on the real broker, sending to a real SMTP server
(aiosmtpd) on a free port."""
import email
from email import policy

import pytest
from aiosmtpd.controller import Controller
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from netsterk.settings import get_settings
from netsterk.testing import free_port, wait_until
from services.notifications.service import NotificationsService


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


@pytest.fixture
def smtp_port(monkeypatch, settings_env):
    port = free_port()
    monkeypatch.setenv("NETSTERK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NETSTERK_SMTP_PORT", str(port))
    get_settings.cache_clear()
    return port


@pytest.fixture
def smtp_server(smtp_port):
    """Starts an SMTP server on smtp_port when called; stops it after the test."""
    controllers = []

    def start():
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        controllers.append(controller)
        return inbox
    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def notifications(run_service, amqp_uri, smtp_port):
    run_service(NotificationsService, MAIL_RETRY_SECONDS=1, MAIL_RETRY_MAX_SECONDS=1)
    with ServiceRpcProxy("notifications", {"AMQP_URI": amqp_uri}) as proxy:
        yield proxy


# what the workflow tells a partner to decide on (codes; the mail shows words)
DECISION = {"categories": ["truancy"], "age_band": "12-15", "school_level": "secondary", "urgency": "normal",
            "languages": ["nl"], "area": "2800", "answer_by": "2026-12-09"}


def engagement(**overrides):
    data = {"idempotency_key": "engage:NS-2026-000042:arktos-outreach", "to": "partner@arktos.example",
            "template": "partner_engagement", "lang": "nl",
            "context": {"offer_name": "Outreach", "accept_url": "http://127.0.0.1:8000/engagements/ref-42/tok123",
                        **DECISION},
            "network": "mechelen", "referral_ref": "NS-2026-000042", "correlation_id": "corr-1"}
    data.update(overrides)
    return data


def test_health(notifications):
    assert notifications.health() == {"service": "notifications", "status": "ok"}


def test_engagement_mail_arrives_with_subject_link_and_headers(notifications, smtp_server):
    inbox = smtp_server()
    result = notifications.send_email(engagement())
    assert result["status"] == "sent"
    [message] = inbox.messages
    assert message["Subject"] == "Vraag tot inschakeling: Outreach [NS-2026-000042]"
    assert message["To"] == "partner@arktos.example"
    assert message["From"] == "meldpunt@netsterk.example"
    assert message["X-Netsterk-Ref"] == "NS-2026-000042"
    assert message["Message-ID"] == f"<{result['mail_id']}@netsterk.example>"
    assert "http://127.0.0.1:8000/engagements/ref-42/tok123" in message.get_body(("plain",)).get_content()
    status = notifications.mail_status(result["mail_id"])
    assert status["status"] == "sent" and status["attempts"] == 1
    assert "partner@arktos.example" not in repr(status)


def test_duplicate_idempotency_key_sends_once(notifications, smtp_server):
    inbox = smtp_server()
    first = notifications.send_email(engagement())
    second = notifications.send_email(engagement(lang="en"))
    assert first["status"] == "sent"
    assert second == {"status": "duplicate", "mail_id": first["mail_id"]}
    assert len(inbox.messages) == 1


def test_smtp_outage_keeps_the_mail_pending_and_the_timer_sends_it_later(notifications, smtp_server):
    result = notifications.send_email(engagement(template="reporter_received", context={"status_url": "https://portal.example/status/r1/t0k"}, lang="en"))
    assert result["status"] == "queued"
    status = notifications.mail_status(result["mail_id"])
    assert status["status"] == "pending" and status["attempts"] == 1
    assert status["last_error"].startswith("ConnectionRefusedError")

    inbox = smtp_server()
    wait_until(lambda: inbox.messages, timeout=30, what="the retried mail")
    assert inbox.messages[0]["Subject"] == "Your referral was received [NS-2026-000042]"
    wait_until(lambda: notifications.mail_status(result["mail_id"])["status"] == "sent", timeout=10,
               what="the mail marked sent")
    assert len(inbox.messages) == 1


def test_bad_requests_are_refused_and_nothing_is_stored(notifications, smtp_server):
    inbox = smtp_server()
    with pytest.raises(RemoteError) as info:
        notifications.send_email(engagement(to="not-an-address", template="newsletter"))
    assert info.value.exc_type == "InvalidEmailRequest"
    assert "to is not a valid e-mail address" in str(info.value)
    with pytest.raises(RemoteError) as info:
        notifications.send_email(engagement(context={"offer_name": "Outreach"}))
    assert info.value.exc_type == "MissingContext"
    assert "accept_url" in str(info.value)
    # the refused key was not stored: the same key with good input is sent, not a duplicate
    assert notifications.send_email(engagement())["status"] == "sent"
    assert len(inbox.messages) == 1


def test_referral_anonymise_wipes_addresses_and_bodies_once(notifications, smtp_server, settings_env):
    """The retention event from the workflow: every mail of that referral loses its address and
    body (the pending one is not sent any more); a redelivery and other referrals are untouched."""
    from netsterk import amqp
    from netsterk.contracts import REFERRAL_ANONYMISE, WORKFLOW
    from netsterk.db import make_engine
    from netsterk.envelope import make_envelope
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from services.notifications.models import OutgoingMail

    inbox = smtp_server()
    sent = notifications.send_email(engagement())
    other = notifications.send_email(engagement(idempotency_key="other", referral_ref="NS-2026-000043"))
    assert len(inbox.messages) == 2
    event = make_envelope(REFERRAL_ANONYMISE, {"referral_id": "r-42", "ref": "NS-2026-000042",
                                               "network": "mechelen", "final_state": "closed",
                                               "final_at": "2024-11-24T09:00:00+00:00",
                                               "retention_months": 24, "at": "2026-11-24T09:00:00+00:00"},
                          network="mechelen", referral_ref="NS-2026-000042")
    with amqp.connect(settings_env.amqp_uri) as connection:
        amqp.publish_event(connection, WORKFLOW, REFERRAL_ANONYMISE, event)
        amqp.publish_event(connection, WORKFLOW, REFERRAL_ANONYMISE, event)     # redelivered
    engine = make_engine(settings_env.database_url("notifications"))

    def mails():
        with Session(engine) as session:
            return {m.id: (m.to, m.body, m.status) for m in session.scalars(select(OutgoingMail))}
    wait_until(lambda: mails()[sent["mail_id"]][0] == "", timeout=20, what="the wiped mail")
    assert mails()[sent["mail_id"]] == ("", "", "sent")
    assert mails()[other["mail_id"]][0] == "partner@arktos.example"
    assert notifications.mail_status(sent["mail_id"])["template"] == "partner_engagement"
    engine.dispose()


def test_anonymise_domain_function_is_idempotent_and_stops_pending_mail(tmp_path):
    from netsterk.db import make_engine, session_scope
    from sqlalchemy.orm import sessionmaker

    from services.notifications import domain
    from services.notifications.models import Base, OutgoingMail

    engine = make_engine(f"sqlite:///{tmp_path / 'n.db'}")
    Base.metadata.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with session_scope(factory) as session:
        session.add(OutgoingMail(id="m1", idempotency_key="k1", network="mechelen", referral_ref="NS-1",
                                 to="a@b.example", template="reporter_received", lang="nl",
                                 subject="s [NS-1]", body="geheim", status="pending", attempts=1))
    envelope = {"payload": {"network": "mechelen", "ref": "NS-1"}}
    with session_scope(factory) as session:
        assert domain.anonymise_referral(session, envelope) == 1
    with session_scope(factory) as session:
        assert domain.anonymise_referral(session, envelope) == 0
        mail = session.get(OutgoingMail, "m1")
        assert (mail.to, mail.body, mail.status, mail.last_error) == ("", "", "failed", domain.ANONYMISED)
    with session_scope(factory) as session:
        try:
            domain.anonymise_referral(session, {"payload": {"ref": "NS-1"}})
        except ValueError as exc:
            assert "network" in str(exc)
        else:
            raise AssertionError("a payload without network was accepted")
    engine.dispose()


def test_referral_erased_removes_every_record_of_the_referral_and_confirms(notifications, smtp_server,
                                                                         settings_env):
    """Erasure on request: the referral's mails (address, body) and the records keyed to it are
    deleted, others stay; notifications confirms with `notifications.erasure_confirmed`, also for a
    repeated message (nothing left then)."""
    from netsterk import amqp
    from netsterk.contracts import INTAKE, REFERRAL_ERASED
    from netsterk.db import make_engine
    from netsterk.testing import erasure_event, erasure_receipts
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from services.notifications.models import OutgoingMail, UsedLink

    smtp_server()
    sent = notifications.send_email(engagement())
    other = notifications.send_email(engagement(idempotency_key="other", referral_ref="NS-2026-000043"))
    engine = make_engine(settings_env.database_url("notifications"))
    with Session(engine) as session, session.begin():
        session.add(UsedLink(link_id="l-1", action="accept", referral_id="r-42"))
    event = erasure_event("r-42")
    with erasure_receipts(settings_env.amqp_uri, "notifications") as take:
        with amqp.connect(settings_env.amqp_uri) as connection:
            amqp.publish_event(connection, INTAKE, REFERRAL_ERASED, event)
        [receipt] = take(1)
        with amqp.connect(settings_env.amqp_uri) as connection:
            amqp.publish_event(connection, INTAKE, REFERRAL_ERASED, event)       # redelivered
        [again] = take(1)
    assert receipt["payload"]["service"] == "notifications" and receipt["payload"]["referral_id"] == "r-42"
    assert receipt["payload"]["removed"]["outgoing_mail"] == 1 and receipt["payload"]["removed"]["used_link"] == 1
    assert again["message_id"] == receipt["message_id"] and again["payload"]["removed"] == {}
    with Session(engine) as session:
        assert set(session.scalars(select(OutgoingMail.id))) == {other["mail_id"]}
        assert session.scalars(select(UsedLink)).all() == []
    assert notifications.mail_status(sent["mail_id"]) is None
    engine.dispose()
