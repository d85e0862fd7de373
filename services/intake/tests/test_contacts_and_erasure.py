"""Issue 10 in intake: events carry references, not addresses; the workflow gets an address at
send time (`contact_address`, audited with the purpose); every service confirms its part of an
erasure and the coordinator sees which ones did."""
from __future__ import annotations

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import select

from netsterk import amqp, audit, contracts
from netsterk.db import make_engine, session_scope
from netsterk.envelope import make_envelope
from netsterk.erasure import receipt
from netsterk.settings import get_settings
from netsterk.testing import wait_until
from sqlalchemy.orm import sessionmaker
from services.intake import privacy
from services.intake.models import AUDIT, Outbox, Referral
from services.intake.service import IntakeService
from services.intake.tests.test_domain import factory, submit  # noqa: F401  (fixture)
from services.intake.tests.test_schemas import valid

COORDINATOR = {"username": "coord", "role": "coordinator", "network": "mechelen", "origin": "10.0.0.9"}


def test_submitted_event_carries_no_address_and_no_name(factory):  # noqa: F811
    referral = submit(factory, school_email="zorg@atheneum.example", reporter_name="An Peeters")
    with session_scope(factory) as session:
        body = str(session.scalars(select(Outbox)).one().body)
    for personal in ("an@school.example", "zorg@atheneum.example", "An Peeters", "Sam", "Janssens"):
        assert personal not in body, personal
    assert referral.ref in body


def test_contact_address_by_role_is_audited_and_gone_after_a_wipe(factory):  # noqa: F811
    referral = submit(factory, school_email="zorg@atheneum.example")
    same = submit(factory, school_email="AN@school.example ")          # the school is the reporter
    with session_scope(factory) as session:
        assert privacy.contact_address(session, referral.id, "reporter") == "an@school.example"
        assert privacy.contact_address(session, referral.id, "school_or_reporter") == "zorg@atheneum.example"
        assert privacy.contact_address(session, referral.id, "school_other_than_reporter") == "zorg@atheneum.example"
        assert privacy.contact_address(session, same.id, "school_other_than_reporter") is None
        with pytest.raises(ValueError, match="role must be one of"):
            privacy.contact_address(session, referral.id, "partner")
        with pytest.raises(LookupError):
            privacy.contact_address(session, "no-such-referral", "reporter")
    with session_scope(factory) as session:
        reads = [e for e in audit.listing(session, AUDIT, record_id=referral.id) if e["action"] == "read"]
        assert len(reads) == 3 and {e["purpose"] for e in reads} == {"notification"}
        assert {tuple(sorted(e["fields"])) for e in reads} == {("reporter_email",), ("reporter_email", "school_email")}
        assert all(e["role"] == "system" and "@" not in str(e) for e in reads)
        privacy.wipe_referral(session, session.get(Referral, referral.id))
    with session_scope(factory) as session:
        assert privacy.contact_address(session, referral.id, "reporter") is None
        assert privacy.contact_address(session, referral.id, "school_or_reporter") is None


def test_erasure_receipts_of_every_service_are_audited_once_and_shown(run_service, amqp_uri):
    run_service(IntakeService)
    with ServiceRpcProxy("intake", {"AMQP_URI": amqp_uri}) as proxy:
        proxy.upsert_network("mechelen", "Mechelen", ["truancy", "motivation"])
        referral_id = proxy.submit_referral(valid(), "phone", "coord")["referral"]["id"]
    factory_ = sessionmaker(make_engine(get_settings().database_url("intake")), expire_on_commit=False)
    with session_scope(factory_) as session:
        session.get(Referral, referral_id).state = "closed"
    with ServiceRpcProxy("intake", {"AMQP_URI": amqp_uri}) as proxy:
        with pytest.raises(RemoteError) as hidden:
            proxy.erasure_status({**COORDINATOR, "network": "antwerpen"}, referral_id)
        assert hidden.value.exc_type == "LookupError"
        result = proxy.privacy_erase(COORDINATOR, referral_id, reason="art. 17")
        status = proxy.erasure_status(COORDINATOR, referral_id)
        assert status["erased_at"] and not status["complete"]
        assert status["services"] == {name: None for name in contracts.ERASURE_CONFIRMERS}
        with session_scope(factory_) as session:
            [erased] = [o.body for o in session.scalars(select(Outbox))
                        if o.event_type == contracts.REFERRAL_ERASED]
        with amqp.connect(amqp_uri) as connection:
            for service in contracts.ERASURE_CONFIRMERS:
                body = receipt(service, erased, {"rows": 2})
                amqp.publish_event(connection, service, contracts.ERASURE_CONFIRMED, body)
                amqp.publish_event(connection, service, contracts.ERASURE_CONFIRMED, body)   # repeated
        status = wait_until(lambda: (s := proxy.erasure_status(COORDINATOR, referral_id))["complete"] and s,
                            timeout=30, what="every receipt recorded")
        assert set(status["services"]) == set(contracts.ERASURE_CONFIRMERS)
        assert result["ref"] == status["ref"]
        trail = proxy.audit_log({"username": "admin", "role": "network_admin", "network": "mechelen"})
    confirmations = [e for e in trail["entries"] if e["action"] == "erase" and e["role"] == "system"]
    assert sorted(e["actor"] for e in confirmations) == sorted(contracts.ERASURE_CONFIRMERS)
    assert all(e["fields"] == ["rows:2"] and e["purpose"].startswith("erasure confirmed by")
               for e in confirmations)
    assert trail["chain"]["ok"]
