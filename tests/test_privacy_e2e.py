"""Issue 10 through the real stack: a referral with a recognisable name travels from the public
form to closure; the name must never appear in a log line, in any process's /metrics, or in
clear in any database file of the stack (every service's SQLite file and Temporal's). Then the
coordinator exports what is held and erases it, the network admin sees both in the audit log
with an intact chain, and the public form answers a flood with 429.

No event on the wire carries the name or the reporter's / school's address (the workflow asks
intake for the address when it sends a mail). After the erasure every service confirms, and the
referral is gone from Temporal (no execution, no history), reporting, notifications and the portal."""
import json
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import kombu
import sqlalchemy as sa

import pytest
import requests

from netsterk import amqp
from netsterk.testing import wait_until, source_address_adapter

pytestmark = pytest.mark.slow

FIRST, LAST = "Zoltavia", "Quibbleworthy"          # the recognisable name
DESCRIPTION_MARK = "Xylofoonzorgen"                 # a recognisable word of the free text
FEEDBACK_MARK = "Feedbackvertrouwelijk"             # a partner's free text (travels in the workflow)
REPORTER_EMAIL = "privacy.reporter@atheneum.example.org"
SCHOOL_EMAIL = "privacy.zorgteam@atheneum.example.org"
# every source of events in the installation: a test queue sees all of them (topic "#")
EVENT_SOURCES = ("intake", "referral_workflow", "matching", "notifications", "portal", "reporting",
                 "workflow_bridge")
PASSWORD = "netsterk-demo"


def client(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", source_address_adapter(address))
    return session


def login(settings, username: str):
    """A signed-in portal client (password, TOTP, CSRF token on every post: services/portal/testing.py)."""
    from services.portal.testing import signed_in

    return signed_in(settings.portal_url, username)


def act(coordinator, settings, referral_id, action, **args):
    response = coordinator.post(f"{settings.portal_url}/api/v1/referrals/{referral_id}/actions/{action}",
                                json=args, timeout=30)
    assert response.status_code == 200, response.text


def snapshot(coordinator, settings, referral_id):
    return coordinator.get(f"{settings.portal_url}/api/v1/referrals/{referral_id}", timeout=10).json()


def wait_state(coordinator, settings, referral_id, state):
    return wait_until(lambda: (s := snapshot(coordinator, settings, referral_id))["state"] == state and s,
                      timeout=90, what=f"state {state}")


def form(**overrides):
    data = {
        "network": "mechelen", "reporter_name": "Reporter Privacy", "reporter_organisation": "GO! Atheneum",
        "reporter_role": "leerlingbegeleider", "reporter_email": REPORTER_EMAIL,
        "reporter_is_school": "on", "school_email": SCHOOL_EMAIL, "first_name": FIRST, "last_name": LAST, "birth_date": "2011-04-05",
        "school_level": "secondary", "postcode": "2800", "languages": "nl",
        "categories": ["truancy"], "description": f"{DESCRIPTION_MARK}: komt onregelmatig naar school.",
        "school_efforts": "Drie telefoons.", "school_efforts_when": "4/11", "school_efforts_result": "Geen contact",
        "consent": "parents",
    }
    data.update(overrides)
    return data


def wiretap(amqp_uri: str) -> str:
    """A queue bound to every event exchange: a copy of each event published from now on."""
    name = f"test-privacy-wiretap-{uuid.uuid4().hex[:8]}"
    with amqp.connect(amqp_uri) as connection:
        channel = connection.channel()
        exchanges = [amqp.event_exchange(source) for source in EVENT_SOURCES]
        for exchange in exchanges:
            exchange(channel).declare()
        kombu.Queue(name, bindings=[kombu.binding(exchange, routing_key="#") for exchange in exchanges],
                    durable=True)(channel).declare()
    return name


def tapped(amqp_uri: str, name: str) -> list[dict]:
    events = []
    with amqp.connect(amqp_uri) as connection:
        with connection.SimpleQueue(name, no_ack=True) as queue:
            while True:
                try:
                    message = queue.get(block=True, timeout=0.5)
                except queue.Empty:
                    return events
                events.append({"source": message.delivery_info["exchange"].removesuffix(".events"),
                               "type": message.delivery_info["routing_key"], "body": message.payload})


def rows(settings, service: str, sql: str, **params) -> list:
    engine = sa.create_engine(settings.database_url(service))
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(sql), params).all()
    finally:
        engine.dispose()


def temporal_describe(settings, workflow_id: str) -> subprocess.CompletedProcess:
    cli = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    return subprocess.run([cli, "workflow", "describe", "--workflow-id", workflow_id,
                           "--address", settings.temporal_address], capture_output=True, text=True, timeout=60)


def mails(settings, to):
    messages = requests.get(f"{settings.mailsink_url}/api/messages", timeout=5).json()
    return [m for m in messages if any(to in addr for addr in m["to"])]


def needles() -> list[bytes]:
    words = (FIRST, LAST, DESCRIPTION_MARK)
    return [w.encode() for w in words] + [w.lower().encode() for w in words] + [w.encode("utf-16-le") for w in words]


def test_a_name_never_leaks_into_logs_metrics_or_databases_and_rights_are_audited(live_stack):
    settings, stack = live_stack
    reporter = client("127.0.0.5")
    tap = wiretap(settings.amqp_uri)

    # 1. the reporter submits; the coordinator takes it through to closure
    done = reporter.post(f"{settings.intake_url}/referrals/new", data=form(), timeout=10)
    assert done.status_code == 200, done.text
    ref = re.search(r"NS-\d{4}-\d{6}", done.text).group(0)
    for header in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        assert header in done.headers
    coordinator = login(settings, "coordinator")
    task = wait_until(lambda: next((t for t in coordinator.get(f"{settings.portal_url}/api/v1/tasks", timeout=10).json()
                                    if t["ref"] == ref and t["state"] == "triage"), None),
                      timeout=90, what="the triage task")
    referral_id = task["referral_id"]
    act(coordinator, settings, referral_id, "triage", decision="accept", reason="past")
    candidates = wait_state(coordinator, settings, referral_id, "matching")["candidates"]
    act(coordinator, settings, referral_id, "choose_partner", offer_ids=[candidates[0]["offer_id"]])
    wait_state(coordinator, settings, referral_id, "awaiting_partner")
    partner_mail = wait_until(lambda: [m for m in mails(settings, candidates[0]["contact_email"])
                                       if ref in m["subject"]], timeout=60, what="the partner's e-mail")[0]
    link = re.search(r"https?://\S+/engagements/\S+", partner_mail["text"]).group(0)
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and FIRST not in page.text and LAST not in page.text
    from services.portal.testing import anonymous_post
    assert anonymous_post(f"{link}/respond", data={"accept": "1"}, timeout=30).status_code == 200
    wait_state(coordinator, settings, referral_id, "in_progress")
    feedback = anonymous_post(f"{link}/feedback", data={"text": f"{FEEDBACK_MARK}: eerste gesprek gehad."}, timeout=30)
    assert feedback.status_code == 200, feedback.text
    wait_until(lambda: snapshot(coordinator, settings, referral_id)["feedback"], timeout=60, what="the feedback")
    act(coordinator, settings, referral_id, "close", re_engaged="yes", what_was_done="traject gelopen")
    wait_state(coordinator, settings, referral_id, "closed")
    wait_until(lambda: len(mails(settings, REPORTER_EMAIL)) >= 2, timeout=60,
               what="the reporter's closing e-mail")
    # the school's address, resolved at send time like the reporter's: the closure reaches it
    wait_until(lambda: [m for m in mails(settings, SCHOOL_EMAIL) if ref in m["subject"]], timeout=60,
               what="the school's closing e-mail")

    # 2. the coordinator exports what is held (right of access): the name is in the download only
    privacy = coordinator.get(f"{settings.portal_url}/privacy", timeout=10)
    assert privacy.status_code == 200 and 'id="privacy-export"' in privacy.text
    exported = coordinator.post(f"{settings.portal_url}/privacy/export", timeout=30,
                                data={"ref": ref, "purpose": "inzageverzoek ouders"})
    assert exported.status_code == 200, exported.text
    assert exported.headers["Content-Disposition"].startswith("attachment")
    held = exported.json()
    assert held["intake"]["referral"]["first_name"] == FIRST and held["intake"]["referral"]["last_name"] == LAST
    assert held["workflow"]["state"] == "closed"
    trail = [e["action"] for e in held["intake"]["audit"]]
    assert trail[0] == "export" and trail[-1] == "create" and "read" in trail and "update" in trail

    # 3. nothing personal in logs, metrics or database files (read while the data is still held)
    wait_until(lambda: all(requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).ok
                           for port in stack.metrics_ports.values()), timeout=30, what="every /metrics")
    assert len(stack.metrics_ports) >= 7
    leaks = []
    for name, port in stack.metrics_ports.items():
        body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).content
        leaks += [f"/metrics of {name}" for needle in needles() if needle in body]
    logs = sorted((settings.var_dir / "log").glob("*.log"))
    assert {p.stem for p in logs} >= {"intake", "portal", "notifications", "matching", "reporting", "worker", "bridge"}
    for path in logs:
        data = path.read_bytes()
        leaks += [f"log {path.name}" for needle in needles() if needle in data]
    databases = [p for p in settings.var_dir.rglob("*") if p.is_file() and re.search(r"\.db(-wal|-journal)?$", p.name)]
    assert {p.name for p in databases} >= {"intake.db", "portal.db", "notifications.db", "matching.db",
                                           "reporting.db", "temporal.db"}
    for path in databases:
        data = path.read_bytes()
        leaks += [f"database {path.name}" for needle in needles() if needle in data]
    # the workflow's history (inputs, signals, queries) is encrypted too: neither the reporter's
    # address nor a partner's free text is readable in Temporal's database
    temporal = b"".join(p.read_bytes() for p in databases if p.name.startswith("temporal.db"))
    for secret in (REPORTER_EMAIL, FEEDBACK_MARK):
        if secret.encode() in temporal:
            leaks.append(f"temporal.db: {secret}")
    assert leaks == [], f"the name or the free text appears in clear in: {sorted(set(leaks))}"

    # 3b. events carry references: no name, no address of the reporter or the school on the wire
    events = tapped(settings.amqp_uri, tap)
    ours = [e for e in events if ref in json.dumps(e["body"])]
    assert {("intake", "referral_submitted"), ("referral_workflow", "referral_state_changed")} <= {
        (e["source"], e["type"]) for e in ours}, sorted({(e["source"], e["type"]) for e in events})
    carrying = [(e["source"], e["type"], secret) for e in events for secret in
                (FIRST, LAST, DESCRIPTION_MARK, REPORTER_EMAIL, SCHOOL_EMAIL)
                if secret.lower() in json.dumps(e["body"], ensure_ascii=False).lower()]
    assert carrying == [], f"events carry personal data: {carrying}"

    # 4. erasure (the referral is closed, so allowed) — refused without confirmation
    unconfirmed = coordinator.post(f"{settings.portal_url}/privacy/erase", timeout=30,
                                   data={"ref": ref, "purpose": "wissingsverzoek"})
    assert unconfirmed.status_code == 422 and "Bevestig" in unconfirmed.text
    erased = coordinator.post(f"{settings.portal_url}/privacy/erase", timeout=30,
                              data={"ref": ref, "purpose": "wissingsverzoek ouders", "confirm": "yes"})
    assert erased.status_code == 200 and ref in erased.text, erased.text
    assert 'id="erasure-status"' in erased.text
    # every service confirms its part (intake records the receipts in the audit chain)
    wait_until(lambda: "Elke dienst bevestigde" in coordinator.get(
        f"{settings.portal_url}/privacy/erasure", params={"ref": ref}, timeout=10).text,
        timeout=90, what="every service's erasure receipt")
    receipts = [e for e in tapped(settings.amqp_uri, tap) if e["type"] == "erasure_confirmed"
                and e["body"]["payload"]["referral_id"] == referral_id]
    assert {e["source"] for e in receipts} == {"notifications", "portal", "reporting", "matching", "workflow_bridge"}
    after = coordinator.post(f"{settings.portal_url}/privacy/export", timeout=30,
                             data={"ref": ref, "purpose": "controle na wissing"}).json()
    assert after["intake"]["referral"]["first_name"] == "" and after["intake"]["referral"]["description"] == ""
    # no Temporal execution (nor history) any more, no reporting fact, no mail, no inbox task
    described = temporal_describe(settings, f"referral-{referral_id}")
    assert described.returncode != 0 and "not found" in (described.stdout + described.stderr).lower(), described
    assert set(after["workflow"]) == {"unavailable"}          # the bridge no longer finds it
    for service, table in (("reporting", "referral_fact"), ("reporting", "transition_fact"),
                           ("reporting", "event_log"), ("portal", "task"), ("matching", "referral_subject"),
                           ("matching", "engagement"), ("notifications", "task_view")):
        assert rows(settings, service, f"SELECT referral_id FROM {table} WHERE referral_id = :id",
                    id=referral_id) == [], f"{service}.{table} still holds the referral"
    assert rows(settings, "notifications", "SELECT id FROM outgoing_mail WHERE referral_ref = :ref", ref=ref) == []
    assert all(t["referral_id"] != referral_id
               for t in coordinator.get(f"{settings.portal_url}/api/v1/tasks", timeout=10).json())
    plain = [(path.name, secret) for path in databases if path.exists() for secret in
             (FIRST, LAST, REPORTER_EMAIL, SCHOOL_EMAIL) if secret.encode() in path.read_bytes()]
    assert plain == [], f"personal data in clear after the erasure: {plain}"

    # 5. the network admin sees every action, without the personal data, and an intact chain
    admin = login(settings, "admin")
    audit = admin.get(f"{settings.portal_url}/privacy/audit", timeout=10)
    assert audit.status_code == 200 and 'id="chain-status"' in audit.text
    assert "Keten intact" in audit.text and FIRST not in audit.text and LAST not in audit.text
    for action in ("export", "erase", "create"):
        assert f"<td>{action}</td>" in audit.text
    assert "inzageverzoek ouders" in audit.text and "wissingsverzoek ouders" in audit.text
    # the coordinator's reads and actions of the workflow record (portal) are in the chain too
    assert "workflow_record" in audit.text and "referral API" in audit.text and "action close (API)" in audit.text
    assert admin.get(f"{settings.portal_url}/privacy", timeout=10).status_code == 200   # admin: the log
    assert coordinator.get(f"{settings.portal_url}/privacy/audit", timeout=10).status_code == 403
    assert login(settings, "analyst").get(f"{settings.portal_url}/privacy", timeout=10).status_code == 403
    verify = amqp.rpc_call(settings.amqp_uri, "intake", "audit_verify", timeout=10)
    assert verify["ok"] and verify["entries"] >= 3


def test_public_form_flood_gets_429_with_a_clear_message(live_stack):
    settings, _stack = live_stack
    flood = client("127.0.0.6")
    statuses = []
    for _ in range(settings.intake_rate_limit + 5):
        response = flood.post(f"{settings.intake_url}/referrals/new", data={"network": "mechelen"}, timeout=10)
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[-1] == 429 and set(statuses[:-1]) == {422}, statuses
    assert "Te veel aanvragen" in response.text and "Too many requests" in response.text
    assert int(response.headers["Retry-After"]) >= 1
    # another address is not affected
    other = client("127.0.0.7").post(f"{settings.intake_url}/referrals/new", data={"network": "mechelen"}, timeout=10)
    assert other.status_code == 422


def test_quarantined_mail_body_view_and_plan_change_are_in_the_audit_trail(live_stack):
    """Issue 10 part B through the real stack: a mail arriving over SMTP lands in the quarantine;
    the coordinator reads its sanitised body in the portal (sandboxed, with the sender's verdict);
    a change of the family plan and that read are in the network admin's audit log, without the
    texts, and the chain is intact."""
    import smtplib
    import uuid

    settings, _stack = live_stack
    marker, plan_text = f"Mailmarker{uuid.uuid4().hex[:6]}", "Planzin Kraanvogel"
    raw = (f"Authentication-Results: mx.netsterk.example; spf=pass; dkim=pass\r\n"
           f"To: {settings.intake_mail_addresses.split(',')[0]}\r\nSubject: Zorgen\r\n"
           f"Date: Tue, 03 Nov 2026 09:14:00 +0100\r\nMessage-ID: <{uuid.uuid4().hex}@school.example>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b1\r\n\r\n"
           f"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{marker} komt niet meer.\r\n"
           f"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p><b>{marker}</b> komt niet meer."
           "<script>alert(1)</script></p><img src=\"https://tracker.example/p.gif\">\r\n--b1--\r\n").encode()
    with smtplib.SMTP(settings.host, settings.intake_smtp_port, timeout=10) as smtp:
        smtp.sendmail("zorg@school.example", [settings.intake_mail_addresses.split(",")[0]], raw)

    coordinator = login(settings, "coordinator")

    def quarantined():
        for mail in amqp.rpc_call(settings.amqp_uri, "intake", "mail_quarantine", "mechelen", timeout=10):
            if mail.get("error") == "no sender address to reply to":
                page = coordinator.get(f"{settings.portal_url}/mail/{mail['id']}", timeout=10)
                if marker in page.text:
                    return mail["id"], page
        return None
    mail_id, page = wait_until(quarantined, timeout=60, what="the mail in the quarantine")
    assert page.status_code == 200 and f'href="/mail/{mail_id}"' in coordinator.get(
        f"{settings.portal_url}/mail", timeout=10).text
    assert 'id="mail-auth" class="info"' in page.text and 'sandbox=""' in page.text
    frame = re.search(r'srcdoc="([^"]*)"', page.text).group(1)
    assert f"&lt;b&gt;{marker}&lt;/b&gt;" in frame
    assert "script" not in frame and "tracker.example" not in page.text

    # a change of the family plan of a new referral, by the coordinator in the portal
    done = client("127.0.0.8").post(f"{settings.intake_url}/referrals/new", timeout=10,
                                    data=form(first_name="Planna", last_name="Wraparound"))
    ref = re.search(r"NS-\d{4}-\d{6}", done.text).group(0)
    task = wait_until(lambda: next((t for t in coordinator.get(f"{settings.portal_url}/api/v1/tasks", timeout=10).json()
                                    if t["ref"] == ref), None), timeout=90, what="the new referral's task")
    added = coordinator.post(f"{settings.portal_url}/referrals/{task['referral_id']}/plan/items", timeout=30,
                             data={"kind": "goal", "text": plan_text, "audience": "partners"}, allow_redirects=False)
    assert added.status_code == 303, added.text

    audit = login(settings, "admin").get(f"{settings.portal_url}/privacy/audit", timeout=10)
    rows = re.findall(r'<tr id="audit-\d+">(.*?)</tr>', audit.text)
    plan_rows = [r for r in rows if f"<td>plan {ref}</td>" in r]
    assert any("<td>create</td>" in r and "<td>audience, text</td>" in r and "family plan (wraparound care)" in r
               and "<td>coordinator</td>" in r for r in plan_rows), plan_rows
    assert any("<td>read</td>" in r and "mail quarantine review" in r and "<td>coordinator</td>" in r
               for r in rows if "<td>mail" in r)
    assert plan_text not in audit.text and marker not in audit.text and "Keten intact" in audit.text
