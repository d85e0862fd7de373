"""Issue 10 in intake: key rotation re-encrypts and old data still reads, the audit chain finds an
edited row, export and erasure are scoped and audited, a spoofed sender is flagged, incoming HTML
is sanitised, the public form is rate limited with a clear 429, pages carry security headers."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
import requests
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import select, text

from netsterk import audit, crypto
from netsterk.db import session_scope
from netsterk.settings import REPO_ROOT, get_settings
from netsterk.testing import wait_until
from netsterk_ops import privacy_cli
from services.intake import privacy
from services.intake.mail import authentication, sanitise
from services.intake.models import AUDIT, AuditEntry, Referral
from services.intake.service import IntakeService
from services.intake.tests.test_domain import factory, submit  # noqa: F401  (fixture)
from services.intake.tests.test_mail_processing import handover, mail
from services.intake.tests.test_schemas import valid

COORDINATOR = {"username": "coord", "role": "coordinator", "network": "mechelen", "origin": "10.0.0.9",
               "purpose": "access request of the parents"}


def raw_values(factory, column: str) -> list[str]:
    with factory() as session:
        return [r[0] for r in session.execute(text(f"SELECT {column} FROM referral"))]


# --- key rotation -------------------------------------------------------------------------------

def test_rotation_reencrypts_every_value_and_old_data_still_reads(factory):  # noqa: F811
    referral = submit(factory, first_name="Rotanya")
    before = raw_values(factory, "first_name")
    assert all("Rotanya" not in v for v in before)
    old_key = crypto.load_keys()[0]

    crypto.add_primary_key()                       # a new primary key: old values still read
    with session_scope(factory) as session:
        assert session.get(Referral, referral.id).first_name == "Rotanya"
    assert privacy_cli.still_needing_old_keys() == {"intake": 9}    # every encrypted value held

    counts = privacy_cli.reencrypt("intake")
    assert counts["reencrypted"] == 9 and privacy_cli.still_needing_old_keys() == {}
    after = raw_values(factory, "first_name")
    assert after != before and all(crypto.primary_decrypts(v) for v in after)
    assert crypto.retire_old_keys() == 1 and old_key not in crypto.load_keys()
    with session_scope(factory) as session:               # readable with the new key alone
        row = session.get(Referral, referral.id)
        assert (row.first_name, row.last_name) == ("Rotanya", "Janssens")
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert entry.record_type == "keyring" and "9 values re-encrypted" in entry.purpose
        assert audit.verify(session, AUDIT)["ok"]


def test_keys_cli_rotate_status_retire(factory):  # noqa: F811
    submit(factory)
    env = {"NETSTERK_VAR_DIR": str(get_settings().var_dir), "PATH": "/usr/bin:/bin",
           "NETSTERK_INTAKE_RATE_LIMIT": "0"}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "netsterk_ops.cli", *args], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    rotated = cli("keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert "intake: 9 encrypted values, 9 re-encrypted" in rotated.stdout
    status = cli("keys", "status")
    assert status.returncode == 0 and "keys (primary first)" in status.stdout
    assert "older key" not in status.stdout
    refused = cli("keys", "retire")
    assert refused.returncode == 1 and "Temporal keeps workflow histories" in refused.stderr
    assert cli("keys", "retire", "--force").returncode == 0
    assert len(crypto.load_keys()) == 1
    verified = cli("audit", "verify")
    assert verified.returncode == 0 and "intake: chain intact" in verified.stdout


# --- the audit chain ----------------------------------------------------------------------------

def test_audit_chain_detects_an_edited_row_and_entries_are_append_only(factory):  # noqa: F811
    referral = submit(factory)
    with session_scope(factory) as session:
        privacy.export_referral(session, COORDINATOR, referral_id=referral.id)
        for n in range(3):
            privacy.log_referral(session, COORDINATOR, "read", referral, f"check {n}", fields=["first_name"])
    with session_scope(factory) as session:
        result = audit.verify(session, AUDIT)
        assert result["ok"] and result["entries"] == 4
        entries = audit.listing(session, AUDIT, network="mechelen")
        assert entries[-1]["action"] == "export" and entries[-1]["actor"] == "coord"
        assert entries[-1]["origin"] == "10.0.0.9" and "first_name" in entries[-1]["fields"]
    # no personal data in the log itself
    with factory() as session:
        dump = " ".join(str(r) for r in session.execute(text("SELECT * FROM audit_entry")))
    assert "Sam" not in dump and "Janssens" not in dump

    # a stray UPDATE / DELETE is refused by the database
    with factory() as session:
        with pytest.raises(Exception, match="append-only"):
            session.execute(text("UPDATE audit_entry SET actor = 'someone else' WHERE seq = 2"))
        session.rollback()
        with pytest.raises(Exception, match="append-only"):
            session.execute(text("DELETE FROM audit_entry WHERE seq = 4"))
        session.rollback()

    # someone with the database drops the trigger and edits a row: verify names it
    with factory() as session:
        session.execute(text("DROP TRIGGER audit_entry_no_update"))
        session.execute(text("UPDATE audit_entry SET purpose = 'routine' WHERE seq = 2"))
        session.commit()
    with session_scope(factory) as session:
        result = audit.verify(session, AUDIT)
    assert not result["ok"]
    assert result["problems"] == [{"seq": 2, "problem": "content does not match its hash (changed)"}]
    out = subprocess.run([sys.executable, "-m", "netsterk_ops.cli", "audit", "verify"], cwd=REPO_ROOT,
                         env={"NETSTERK_VAR_DIR": str(get_settings().var_dir), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "chain BROKEN" in out.stdout and "entry 2" in out.stdout

    # removing the last entry (trigger dropped too) is found through the head
    with factory() as session:
        session.execute(text("DROP TRIGGER audit_entry_no_delete"))
        session.execute(text("DELETE FROM audit_entry WHERE seq = 4"))
        session.commit()
    with session_scope(factory) as session:
        problems = audit.verify(session, AUDIT)["problems"]
    assert any("head" in p["problem"] for p in problems)


# --- rights: export and erasure, scoped and audited ---------------------------------------------

def test_export_and_erasure_are_scoped_allowed_only_after_care_and_audited(factory):  # noqa: F811
    referral = submit(factory, first_name="Exportia")
    for actor in ({**COORDINATOR, "network": "antwerpen"}, {**COORDINATOR, "role": "analyst"},
                  {**COORDINATOR, "role": "partner_staff"}, {**COORDINATOR, "role": "network_admin"}, {}):
        with session_scope(factory) as session, pytest.raises(privacy.NotAllowed):
            privacy.export_referral(session, actor, referral_id=referral.id)
        with session_scope(factory) as session, pytest.raises(privacy.NotAllowed):
            privacy.erase_referral(session, actor, referral_id=referral.id)
    with session_scope(factory) as session:
        exported = privacy.export_referral(session, COORDINATOR, ref=referral.ref)
    assert exported["referral"]["first_name"] == "Exportia" and exported["referral"]["ref"] == referral.ref
    assert [e["action"] for e in exported["audit"]] == ["export"]

    with session_scope(factory) as session, pytest.raises(privacy.ErasureRefused):
        privacy.erase_referral(session, COORDINATOR, referral_id=referral.id)   # still in care
    with session_scope(factory) as session:
        session.get(Referral, referral.id).state = "closed"
    with session_scope(factory) as session:
        result = privacy.erase_referral(session, COORDINATOR, referral_id=referral.id, reason="art. 17 request")
    assert result == {"referral_id": referral.id, "ref": referral.ref, "erased": True, "had_data": True}
    with session_scope(factory) as session:
        row = session.get(Referral, referral.id)
        assert (row.first_name, row.last_name, row.description) == ("", "", "")
        actions = [e["action"] for e in audit.listing(session, AUDIT, record_id=referral.id)]
        assert actions == ["erase", "export"]
        erased = [o.body for o in session.scalars(select(privacy.Outbox))
                  if o.event_type == privacy.REFERRAL_ERASED]
        assert erased and set(erased[0]["payload"]) == {"referral_id", "ref", "network", "at"}


# --- mail: spoofed senders, sanitised HTML ------------------------------------------------------

def test_authentication_results_are_read_from_the_trusted_header_only():
    ours = "mx.netsterk.example; spf=fail smtp.mailfrom=school.example; dkim=none; dmarc=fail header.from=school.example"
    forged = "mx.netsterk.example; spf=pass; dkim=pass"
    assert authentication.failures(authentication.trusted_results([ours, forged], set())) == ["dmarc=fail", "spf=fail"]
    # a sender's own header further down does not vouch for it; with trusted ids only those count
    assert authentication.trusted_results([forged], {"mx.other.example"}) is None
    good = "mx.netsterk.example; spf=pass (sender ok) smtp.mailfrom=x; dkim=fail; dkim=pass header.d=school.example"
    assert authentication.failures(authentication.trusted_results([good], {"mx.netsterk.example"})) == []


def test_spoofed_sender_is_flagged_for_review_not_made_a_referral(run_service, amqp_uri):
    run_service(IntakeService)
    spoofed = mail("Directie <directie@school.example>", "Zorgen om een leerling",
                   "Graag opvolgen, leerling komt niet meer.",
                   extra="Authentication-Results: mx.netsterk.example; spf=fail smtp.mailfrom=school.example;"
                         " dkim=fail header.d=school.example; dmarc=fail\r\n")
    genuine = mail("Zorg <zorg@school.example>", "Zorgen om een andere leerling", "Graag opvolgen.",
                   extra="Authentication-Results: mx.netsterk.example; spf=pass; dkim=pass; dmarc=pass\r\n")
    with ServiceRpcProxy("intake", {"AMQP_URI": amqp_uri}) as proxy:
        proxy.upsert_network("mechelen", "Mechelen", ["truancy", "motivation"])
        bad, good = handover(spoofed), handover(genuine)
        assert proxy.mail_received(bad)["status"] == "stored"
        assert proxy.mail_received(good)["status"] == "stored"
        flagged = wait_until(lambda: (s := proxy.mail_status(bad["id"]))["status"] != "received" and s,
                             timeout=30, what="the spoofed mail processed")
        assert flagged["status"] == "review" and flagged["referral_id"] is None
        assert "sender not verified" in flagged["review_reason"] and "spf=fail" in flagged["review_reason"]
        assert [m["id"] for m in proxy.mail_review("mechelen")] == [bad["id"]]
        accepted = wait_until(lambda: (s := proxy.mail_status(good["id"]))["status"] != "received" and s,
                              timeout=30, what="the genuine mail processed")
        assert accepted["status"] == "processed" and accepted["referral_id"]
        shown = proxy.mail_show(COORDINATOR, bad["id"])
        assert shown["authentication"]["verified"] is False and shown["from"] == "directie@school.example"
        with pytest.raises(RemoteError) as refused:
            proxy.mail_show({**COORDINATOR, "network": "antwerpen"}, good["id"])
        assert refused.value.exc_type == "LookupError"
        trail = proxy.audit_log({"username": "admin", "role": "network_admin", "network": "mechelen"})
        assert trail["chain"]["ok"] and any(e["record_type"] == "mail" and e["action"] == "read"
                                            for e in trail["entries"])


def test_incoming_html_is_sanitised():
    html = ('<p onclick="steal()">Hallo <b>juf</b><script>alert(1)</script></p>'
            '<img src="https://tracker.example/pixel.gif"><a href="javascript:alert(1)">x</a>'
            '<a href="https://school.example/info">info</a><style>p{}</style><iframe src="//evil"></iframe>'
            '<form action="https://evil"><input name="pw"></form>')
    clean = sanitise.sanitise_html(html)
    for bad in ("script", "onclick", "<img", "javascript:", "<style", "iframe", "<form", "<input", "tracker"):
        assert bad not in clean, bad
    assert "<b>juf</b>" in clean and 'href="https://school.example/info"' in clean and "noopener" in clean
    raw = (b"From: a@school.example\r\nTo: meldpunt@netsterk.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hi<script>x()</script></p>\r\n")
    assert sanitise.sanitise_html(sanitise.html_part(raw)).strip() == "<p>Hi</p>"


# --- the public form: rate limit, body limit, security headers ----------------------------------

def test_public_form_rate_limit_gives_429_with_a_clear_message(run_service, amqp_uri, monkeypatch):
    monkeypatch.setenv("NETSTERK_INTAKE_RATE_LIMIT", "5")
    get_settings.cache_clear()
    container = run_service(IntakeService)
    base = f"http://{container.config['WEB_SERVER_ADDRESS']}"
    with ServiceRpcProxy("intake", {"AMQP_URI": amqp_uri}) as proxy:
        proxy.upsert_network("mechelen", "Mechelen", ["truancy", "motivation"])
    form = {k: v for k, v in valid().items() if k != "reporter_is_school"}
    form.update(reporter_is_school="on", languages="nl", categories="truancy")
    statuses = [requests.post(f"{base}/referrals/new", data=form, allow_redirects=False, timeout=10).status_code
                for _ in range(5)]
    assert statuses == [303] * 5
    refused = requests.post(f"{base}/referrals/new", data=form, allow_redirects=False, timeout=10)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "Te veel aanvragen" in refused.text and "Too many requests" in refused.text
    assert "your data was not sent" in refused.text
    api = requests.post(f"{base}/api/v1/referrals", json=valid(), timeout=10)
    assert api.status_code == 429 and "Too many requests" in api.json()["errors"]["_"]
    page = requests.get(f"{base}/referrals/new", timeout=10)      # reading the form is not limited
    assert page.status_code == 200
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert header in page.headers and header in refused.headers
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    # only 5 referrals were stored: the refused requests left nothing behind
    with ServiceRpcProxy("intake", {"AMQP_URI": amqp_uri}) as proxy:
        trail = proxy.audit_log({"username": "admin", "role": "network_admin", "network": "mechelen"})
    creates = [e for e in trail["entries"] if e["action"] == "create"]
    assert len(creates) == 5 and all(e["origin"] == "127.0.0.1" and e["role"] == "reporter" for e in creates)


def test_oversized_and_chunked_bodies_are_refused(run_service):
    container = run_service(IntakeService)
    base = f"http://{container.config['WEB_SERVER_ADDRESS']}"
    big = b"x" * (2 * 1024 * 1024)
    response = requests.post(f"{base}/referrals/new", data={"description": big.decode()}, timeout=30)
    assert response.status_code == 413
    chunked = requests.post(f"{base}/api/v1/referrals", data=iter([b'{"a": "', big, b'"}']),
                            headers={"Content-Type": "application/json"}, timeout=30)
    # a chunked body (no Content-Length) is never read past the limit: refused, nothing stored
    assert chunked.status_code in (400, 413), chunked.text
    assert re.search(r"te groot|too large", response.text)

