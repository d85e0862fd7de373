"""Retention: `referral_workflow.referral_anonymise` wipes intake's personal data of one referral,
irreversibly and idempotently (domain function and the real container's event handler)."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from netsterk import amqp
from netsterk.contracts import REFERRAL_ANONYMISE, WORKFLOW
from netsterk.db import make_engine, session_scope
from netsterk.envelope import make_envelope
from netsterk.testing import wait_until
from services.intake import domain
from services.intake.models import Outbox, Referral
from services.intake.service import IntakeService
from services.intake.tests.test_domain import factory, submit  # noqa: F401  (fixture)


def anonymise_event(referral) -> dict:
    return make_envelope(REFERRAL_ANONYMISE, {
        "referral_id": referral.id, "ref": referral.ref, "network": referral.network,
        "final_state": "closed", "final_at": "2024-11-24T09:00:00+00:00", "retention_months": 24,
        "at": "2026-11-24T09:00:00+00:00"}, network=referral.network, referral_ref=referral.ref)


def test_personal_fields_and_stored_event_are_wiped_once(factory):  # noqa: F811
    referral, other = submit(factory), submit(factory)
    with session_scope(factory) as session:
        assert domain.anonymise_referral(session, anonymise_event(referral)) is True
    with session_scope(factory) as session:
        assert domain.anonymise_referral(session, anonymise_event(referral)) is False
        row = session.get(Referral, referral.id)
        assert (row.first_name, row.last_name, row.reporter_email, row.description) == ("", "", "", "")
        assert row.birth_date is None and row.school_efforts is None and row.person_key == ""
        assert row.age and row.postcode and row.categories          # counts stay possible
        events = {o.body["payload"]["referral_id"]: o.body["payload"] for o in session.scalars(select(Outbox))}
        assert "reporter_email" not in events[referral.id]            # events carry no addresses
        assert events[referral.id]["person_key"] is None
        assert events[other.id]["person_key"]                         # another referral is untouched
        assert session.get(Referral, other.id).first_name == "Sam"
    with session_scope(factory) as session, pytest.raises(LookupError):
        domain.anonymise_referral(session, {"payload": {"referral_id": "nope", "ref": "NS-0"}})


def test_the_service_handles_the_event_idempotently(run_service, settings_env):
    import requests

    from services.intake.tests.test_schemas import valid

    container = run_service(IntakeService)
    base = f"http://{container.config['WEB_SERVER_ADDRESS']}"
    amqp.rpc_call(settings_env.amqp_uri, "intake", "upsert_network", "mechelen", "Mechelen",
                  ["truancy", "motivation", "home_situation"], timeout=20)
    created = requests.post(f"{base}/api/v1/referrals", json=valid(), timeout=10).json()
    engine = make_engine(settings_env.database_url("intake"))

    class Ref:
        id, ref, network = created["id"], created["ref"], "mechelen"
    event = anonymise_event(Ref)
    with amqp.connect(settings_env.amqp_uri) as connection:
        amqp.publish_event(connection, WORKFLOW, REFERRAL_ANONYMISE, event)
        amqp.publish_event(connection, WORKFLOW, REFERRAL_ANONYMISE, event)   # redelivered

    def wiped():
        with session_scope(sessionmaker(engine)) as s:
            return s.get(Referral, created["id"]).first_name == ""
    wait_until(wiped, timeout=20, what="the wiped referral")
    with engine.connect() as connection:
        handled = connection.execute(text(
            "SELECT count(*) FROM processed_message WHERE consumer = 'intake.on_referral_anonymise'")).scalar()
    assert handled == 1
    engine.dispose()


def test_the_referrals_email_and_attachments_are_wiped_too(factory):  # noqa: F811
    from services.intake.mail.models import MailAttachment, MailMessage

    referral = submit(factory)
    with session_scope(factory) as session:
        session.add(MailMessage(id="m1", sha256="0" * 64, size=10, envelope_from="lb@school.example",
                                rcpt_tos=["meldpunt@netsterk.example"], raw="RnJvbTogU2Ft", status="processed",
                                kind="referral", from_addr="lb@school.example", subject="Over Sam",
                                text="Sam Janssens komt niet", referral_id=referral.id))
        session.flush()
        session.add(MailAttachment(id="a1", mail_id="m1", name="sam.pdf", content_type="application/pdf",
                                   declared_type="application/pdf", size=3, sha256="1" * 64, stored=True,
                                   data="JVBE"))
    with session_scope(factory) as session:
        assert domain.anonymise_referral(session, anonymise_event(referral)) is True
    with session_scope(factory) as session:
        mail, attachment = session.get(MailMessage, "m1"), session.get(MailAttachment, "a1")
        assert (mail.raw, mail.from_addr, mail.subject, mail.text) == ("", None, None, None)
        assert (attachment.name, attachment.data) == ("", None) and mail.kind == "referral"
        assert domain.anonymise_referral(session, anonymise_event(referral)) is False
