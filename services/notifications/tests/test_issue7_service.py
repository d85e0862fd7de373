"""Issue 7 on notifications' real nameko container, the real broker and real SMTP servers
(aiosmtpd): HTML + text in the recipient's language, a STARTTLS relay with AUTH, the failed list,
bounces, the digests (fed by real events) and signed webhooks."""
import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from netsterk import amqp
from netsterk.contracts import ENGAGEMENT_CHANGED, REFERRAL_STATE_CHANGED, REFERRAL_TASK_UPDATED, WORKFLOW
from netsterk.envelope import make_envelope
from netsterk.settings import SHARED_DIR, get_settings
from netsterk.testing import free_port, wait_until
from services.notifications.tests.test_service import (  # noqa: F401  (fixtures)
    DECISION, Inbox, engagement, notifications, smtp_port, smtp_server,
)


def test_html_and_text_in_the_recipients_language_with_user_content_escaped(notifications, smtp_server):
    inbox = smtp_server()
    result = notifications.send_email(engagement(lang="fr", context={
        **DECISION, "offer_name": "<b>Outreach</b> & co",
        "accept_url": "http://127.0.0.1:8000/engagements/ref-42/tok123"}))
    assert result["status"] == "sent"
    [message] = inbox.messages
    assert message["Subject"] == "Demande de prise en charge : <b>Outreach</b> & co [NS-2026-000042]"
    assert message["Content-Language"] == "fr"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Cher partenaire" in text and "Accepter : http://127.0.0.1:8000/l/" in text
    assert "&lt;b&gt;Outreach&lt;/b&gt; &amp; co" in html and "<b>Outreach" not in html
    assert '<a href="http://127.0.0.1:8000/l/' in html


def _certificate(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay.test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "relay.pem", tmp_path / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_the_relay_takes_starttls_and_auth(notifications, smtp_port, monkeypatch, tmp_path):
    """A relay in its own process that demands STARTTLS and AUTH: a wrong password ends on the
    failed list (535 is permanent), a retry after the fix is sent over TLS."""
    import subprocess
    import sys
    from email import message_from_bytes, policy
    from pathlib import Path
    cert, key = _certificate(tmp_path)
    out = tmp_path / "relay"
    out.mkdir()
    relay = subprocess.Popen([sys.executable, str(Path(__file__).with_name("tls_relay.py")), str(smtp_port),
                              str(cert), str(key), "netsterk", "s3cret", str(out)])
    try:
        wait_until(lambda: (out / "ready").exists(), timeout=30, what="the TLS relay")
        for name, value in (("SMTP_TLS", "starttls"), ("SMTP_USERNAME", "netsterk"),
                            ("SMTP_PASSWORD", "wrong"), ("SMTP_CAFILE", str(cert))):
            monkeypatch.setenv(f"NETSTERK_{name}", value)
        get_settings.cache_clear()
        refused = notifications.send_email(engagement(idempotency_key="tls-1"))
        status = notifications.mail_status(refused["mail_id"])
        assert status["status"] == "failed" and status["last_error"] == "SMTPAuthenticationError: 535"
        assert [f["mail_id"] for f in notifications.failed_mails("mechelen")] == [refused["mail_id"]]

        monkeypatch.setenv("NETSTERK_SMTP_PASSWORD", "s3cret")
        get_settings.cache_clear()
        assert notifications.retry_mail(refused["mail_id"], "mechelen")["status"] == "sent"
        [received] = list(out.glob("*.eml"))
        message = message_from_bytes(received.read_bytes(), policy=policy.default)
        assert message["Subject"] == "Vraag tot inschakeling: Outreach [NS-2026-000042]"
        assert (out / "logins").read_text().split() == ["LOGIN", "False", "LOGIN", "True"] or \
            (out / "logins").read_text().split()[-1] == "True"
        assert notifications.failed_mails("mechelen") == []
        assert notifications.retry_mail(refused["mail_id"], "other-network") is None
    finally:
        relay.terminate()
        relay.wait(timeout=10)


def test_a_bounce_fails_the_mail_marks_the_address_and_tells_the_coordinator_once(notifications, smtp_server):
    inbox = smtp_server()
    sent = notifications.send_email(engagement(template="reporter_received", context={"status_url": "https://portal.example/status/r1/t0k"},
                                               to="ouder@mail.example"))
    report = {"original_message_id": f"<{sent['mail_id']}@netsterk.example>", "status": "5.1.1",
              "diagnostic": "smtp; 550 5.1.1 User unknown", "recipients": ["ouder@mail.example"]}
    first = notifications.record_bounce(report)
    assert first["recorded"] and first["first"] and first["referral_ref"] == "NS-2026-000042"
    assert notifications.record_bounce(report)["first"] is False        # the same bounce again
    wait_until(lambda: len(inbox.messages) == 2, timeout=20, what="the coordinator's mail")
    told = inbox.messages[1]
    assert told["To"] == "coordinator@netsterk.example"
    assert told["Subject"] == "E-mail niet afgeleverd: reporter_received [NS-2026-000042]"
    assert "550 5.1.1 User unknown" in told.get_body(("plain",)).get_content()
    [failing] = notifications.failing_addresses("mechelen")
    assert failing["address"] == "ouder@mail.example" and failing["status"] == "5.1.1"
    assert notifications.failing_addresses("elsewhere") == []
    status = notifications.mail_status(sent["mail_id"])
    assert status["status"] == "failed" and status["last_error"].startswith("bounced: 5.1.1")
    assert notifications.record_bounce({"original_message_id": "<unknown@netsterk.example>"})["recorded"] is False
    assert len(inbox.messages) == 2


def _publish(uri, event_type, payload, message_id):
    envelope = make_envelope(event_type, payload, network="mechelen", referral_ref=payload["ref"],
                             message_id=message_id)
    with amqp.connect(uri) as connection:
        amqp.publish_event(connection, WORKFLOW, event_type, envelope)
        amqp.publish_event(connection, WORKFLOW, event_type, envelope)      # redelivered


def test_daily_digest_and_weekly_overview_from_events_sent_once(run_service, amqp_uri, smtp_server,
                                                                 settings_env, tmp_path, monkeypatch):
    from netsterk.settings import get_settings
    from services.matching.service import MatchingService
    from services.notifications.service import NotificationsService
    # the network's own coordinators' mailbox (the bridge's workflow config), not the installation's
    config = tmp_path / "workflow.yaml"
    config.write_text("networks:\n  mechelen:\n    coordinator_email: meldpunt@mechelen.example\n")
    monkeypatch.setenv("NETSTERK_WORKFLOW_CONFIG", str(config))
    get_settings.cache_clear()
    run_service(MatchingService, HSDS_SCHEMA_DIR=str(SHARED_DIR / "hsds" / "schema"))
    run_service(NotificationsService, MAIL_RETRY_SECONDS=1, MAIL_RETRY_MAX_SECONDS=1)
    inbox = smtp_server()
    now = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.timezone.utc)
    tasks = [("r1", "NS-2026-000001", "triage", now + dt.timedelta(hours=3)),      # due today
             ("r2", "NS-2026-000002", "matching", now - dt.timedelta(hours=5)),    # overdue
             ("r3", "NS-2026-000003", "closed", now - dt.timedelta(days=2)),       # final: not listed
             ("r4", "NS-2026-000004", "awaiting_partner", now + dt.timedelta(days=3))]
    for referral_id, ref, state, due in tasks:
        _publish(settings_env.amqp_uri, REFERRAL_TASK_UPDATED,
                 {"referral_id": referral_id, "ref": ref, "network": "mechelen", "state": state,
                  "due_at": due.isoformat(), "deadlines": {}, "overdue": {}, "attention": [],
                  "revision": 3, "at": now.isoformat()}, f"wf-{referral_id}:r3")
    _publish(settings_env.amqp_uri, ENGAGEMENT_CHANGED,
             {"referral_id": "r4", "ref": "NS-2026-000004", "network": "mechelen", "organisation_id": "arktos",
              "offer_id": "arktos-outreach", "status": "proposed", "reason_code": None,
              "at": now.isoformat()}, "wf-r4:engagement:arktos-outreach:proposed")
    with ServiceRpcProxy("matching", {"AMQP_URI": amqp_uri}) as matching:
        matching.import_directory("mechelen", [
            {"id": "arktos", "name": "Arktos", "kind": "partner", "email": "info@arktos.example",
             "offers": [{"id": "arktos-outreach", "name": "Outreach", "categories": ["truancy"],
                         "postcodes": ["2800"], "languages": ["nl"], "min_age": 12, "max_age": 25,
                         "school_levels": ["secondary"], "capacity": 2}]}])
    with ServiceRpcProxy("notifications", {"AMQP_URI": amqp_uri}) as notifications:
        # the coordinators' mailbox reads English, the partner's contact address French
        notifications.set_recipient_language("mechelen", "Meldpunt@mechelen.example", "en", "admin")
        notifications.set_recipient_language("mechelen", "info@arktos.example", "fr", "admin")

        def digest():
            return notifications.send_daily_digests(now.isoformat())
        wait_until(lambda: (digest() or [{}])[0].get("due") == 1 and digest()[0].get("overdue") == 1,
                   timeout=30, what="the task events applied")
        wait_until(lambda: len(inbox.messages) >= 1, timeout=20, what="the digest")
        assert digest()[0]["status"] == "duplicate"
        [mail] = inbox.messages
        assert mail["To"] == "meldpunt@mechelen.example"
        assert mail["Subject"] == "Overview of 2026-12-02: 1 due today, 1 overdue [mechelen-2026-12-02]"
        assert mail["Content-Language"] == "en"
        text = mail.get_body(("plain",)).get_content()
        assert "- NS-2026-000001 (Triage)" in text and "- NS-2026-000002 (Matching)" in text
        assert "NS-2026-000003" not in text and "NS-2026-000004" not in text

        wait_until(lambda: notifications.send_weekly_overviews(now.isoformat()), timeout=30,
                   what="the engagement event applied")
        wait_until(lambda: len(inbox.messages) == 2, timeout=20, what="the weekly overview")
        weekly = inbox.messages[1]
        assert weekly["To"] == "info@arktos.example"
        assert weekly["Content-Language"] == "fr"
        assert "- NS-2026-000004: en attente de votre réponse" in weekly.get_body(("plain",)).get_content()
        assert notifications.send_weekly_overviews(now.isoformat())[0]["status"] == "duplicate"
        assert len(inbox.messages) == 2


class _Receiver(BaseHTTPRequestHandler):
    received = []
    fail_first = [True]

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.fail_first[0]:
            self.fail_first[0] = False
            self.send_response(503)
            self.end_headers()
            return
        self.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_signed_webhook_posts_each_event_once_and_retries(notifications, settings_env):
    port = free_port()
    server = HTTPServer(("127.0.0.1", port), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        secret = "a-network-secret-of-length"
        with pytest.raises(Exception, match="at least 16"):
            notifications.set_webhook("mechelen", f"http://127.0.0.1:{port}/hook", "short")
        notifications.set_webhook("mechelen", f"http://127.0.0.1:{port}/hook", secret)
        _publish(settings_env.amqp_uri, REFERRAL_STATE_CHANGED,
                 {"referral_id": "r1", "ref": "NS-2026-000001", "network": "mechelen",
                  "from_state": "triage", "to_state": "matching", "at": "2026-12-02T08:00:00+00:00"},
                 "wf-r1:7")
        wait_until(lambda: _Receiver.received, timeout=30, what="the webhook (after one 503)")
        headers, body = _Receiver.received[0]
        assert headers["X-Netsterk-Event"] == "referral_state_changed"
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Netsterk-Signature"] == expected
        assert json.loads(body)["payload"]["to_state"] == "matching"
        assert len(_Receiver.received) == 1 and notifications.webhook_failures("mechelen") == []
    finally:
        server.shutdown()


def escalation(key, **overrides):
    return dict({"idempotency_key": key, "to": "coordinator@netsterk.example",
                 "template": "coordinator_escalation", "lang": "nl", "network": "mechelen",
                 "referral_ref": "NS-2026-000077", "correlation_id": "corr-7",
                 "context": {"state": "triage", "reason": "deadline passed"}}, **overrides)


def test_each_address_gets_its_mail_in_its_chosen_language(notifications, smtp_server, monkeypatch):
    inbox = smtp_server()
    # no choice: coordinator mail in NETSTERK_COORDINATOR_LANG (default nl), partner mail as asked
    notifications.send_email(escalation("esc-1"))
    wait_until(lambda: len(inbox.messages) == 1, timeout=20, what="the escalation")
    assert inbox.messages[0]["Subject"] == "Escalatie: melding wacht in status Triage [NS-2026-000077]"
    assert notifications.set_recipient_language("mechelen", "coordinator@netsterk.example", "en", "admin") == {
        "network": "mechelen", "lang": "en", "problems": []}
    notifications.send_email(escalation("esc-2"))
    wait_until(lambda: len(inbox.messages) == 2, timeout=20, what="the English escalation")
    assert inbox.messages[1]["Subject"] == "Escalation: referral waiting in state Triage [NS-2026-000077]"
    # the choice is per network and is listed for the admin (the address only there, decrypted)
    assert [(r["address"], r["lang"]) for r in notifications.recipient_languages("mechelen")] == [
        ("coordinator@netsterk.example", "en")]
    assert notifications.recipient_languages("gent") == []
    notifications.send_email(escalation("esc-3", network="gent"))
    wait_until(lambda: len(inbox.messages) == 3, timeout=20, what="another network's escalation")
    assert inbox.messages[2]["Subject"].startswith("Escalatie")
    # a partner's address with a choice gets the engagement request in that language
    notifications.set_recipient_language("mechelen", "partner@arktos.example", "en", "admin")
    notifications.send_email(engagement(idempotency_key="engage-en"))
    wait_until(lambda: len(inbox.messages) == 4, timeout=20, what="the engagement request")
    assert inbox.messages[3]["Subject"] == "Request to engage: Outreach [NS-2026-000042]"
    assert "Concerns: Truancy" in inbox.messages[3].get_body(("plain",)).get_content()
    # bad input is refused with the reason; forgetting a choice goes back to the default
    assert notifications.set_recipient_language("mechelen", "not an address", "en", "admin")["problems"]
    assert notifications.set_recipient_language("mechelen", "x@y.example", "de", "admin")["problems"] == [
        "lang must be one of nl, en, fr"]
    notifications.set_recipient_language("mechelen", "coordinator@netsterk.example", "", "admin")
    assert notifications.recipient_languages("mechelen") == [
        {"address": "partner@arktos.example", "lang": "en", "updated_by": "admin",
         "updated_at": notifications.recipient_languages("mechelen")[0]["updated_at"]}]


def test_coordinator_mail_without_a_choice_uses_the_configured_coordinator_language(run_service, amqp_uri,
                                                                                     smtp_server, monkeypatch):
    from services.notifications.service import NotificationsService
    monkeypatch.setenv("NETSTERK_COORDINATOR_LANG", "en")
    get_settings.cache_clear()
    run_service(NotificationsService)
    inbox = smtp_server()
    with ServiceRpcProxy("notifications", {"AMQP_URI": amqp_uri}) as notifications:
        notifications.send_email(escalation("esc-default-en"))
    wait_until(lambda: len(inbox.messages) == 1, timeout=20, what="the escalation")
    assert inbox.messages[0]["Subject"] == "Escalation: referral waiting in state Triage [NS-2026-000077]"


def test_digests_are_on_unless_switched_off():
    from services.notifications.service import digests_enabled
    assert all(digests_enabled(v) for v in ("on", "ON", "1", "true", "yes", ""))
    assert not any(digests_enabled(v) for v in ("off", "Off", "0", "false", "no"))
