"""The e-mail gateway as it runs: `python -m services.intake.mail.gateway` in its own process,
spoken to over a real SMTP socket, handing over to a real intake process on a real broker."""
import datetime
import hashlib
import os
import signal
import smtplib
import ssl
import subprocess
import sys
import time
from pathlib import Path

import kombu
import pytest

from netsterk import amqp
from netsterk.settings import REPO_ROOT
from netsterk.testing import free_port, rabbit_vhost, wait_until

CORPUS = REPO_ROOT / "tests" / "data" / "mail"
CONTACT = "meldpunt@netsterk.example"


@pytest.fixture(scope="module")
def vhost():
    with rabbit_vhost("netsterk_mailgw") as uri:
        yield uri


class Processes:
    def __init__(self, env):
        self.env = env
        self.running = []

    def start(self, *args, log: Path):
        handle = open(log, "ab")
        process = subprocess.Popen([sys.executable, *args], cwd=REPO_ROOT, env=self.env, stdout=handle,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.running.append(process)
        return process

    def gateway(self, tmp_path):
        process = self.start("-m", "services.intake.mail.gateway", log=tmp_path / "gateway.log")
        port = int(self.env["NETSTERK_INTAKE_SMTP_PORT"])
        wait_until(lambda: _answers(port) or process.poll() is not None, timeout=20, what="gateway port")
        assert process.poll() is None, (tmp_path / "gateway.log").read_text()
        return process

    def intake(self, tmp_path):
        process = self.start("-m", "netsterk_ops.run_service", "intake", log=tmp_path / "intake.log")
        wait_until(lambda: amqp.rpc_call(self.env["NETSTERK_AMQP_URI"], "intake", "health", timeout=2),
                   timeout=60, what="intake health")
        return process

    def stop_all(self):
        for process in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _answers(port):
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=2) as smtp:
            return smtp.noop()[0] == 250
    except OSError:
        return False


@pytest.fixture
def stack(tmp_path, vhost):
    env = {**os.environ, "NETSTERK_VAR_DIR": str(tmp_path / "var"), "NETSTERK_AMQP_URI": vhost,
           "NETSTERK_INTAKE_SMTP_PORT": str(free_port()), "NETSTERK_INTAKE_PORT": str(free_port()),
           "NETSTERK_INTAKE_MAIL_MAX_BYTES": "200000", "NETSTERK_RPC_TIMEOUT": "5",
           "PYTHONPATH": str(REPO_ROOT)}
    env.pop("NETSTERK_INTAKE_DATABASE_URL", None)
    processes = Processes(env)
    yield processes
    processes.stop_all()


def pending_dir(stack) -> Path:
    return Path(stack.env["NETSTERK_VAR_DIR"]) / "mail-in" / "pending"


def send(stack, raw: bytes, *, rcpt=CONTACT, sender="an.peeters@atheneum.example.org"):
    with smtplib.SMTP("127.0.0.1", int(stack.env["NETSTERK_INTAKE_SMTP_PORT"]), timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail(sender)
        code, _ = smtp.rcpt(rcpt)
        if code != 250:
            return code, b""
        return smtp.data(raw)


def test_250_only_with_the_raw_file_on_disk_and_refusals(stack, tmp_path):
    stack.gateway(tmp_path)          # no intake: the message must wait on disk
    raw = (CORPUS / "referral_plain_nl.eml").read_bytes()
    code, text = send(stack, raw)
    assert code == 250, text
    mail_id = text.decode().rsplit(" ", 1)[1]
    stored = pending_dir(stack) / f"{mail_id}.eml"
    # the bytes exactly as sent, there when 250 came back — encrypted with the field keys (issue 10)
    from cryptography.fernet import Fernet, MultiFernet
    keys = (Path(stack.env["NETSTERK_VAR_DIR"]) / "field.key").read_text().split()
    fernet = MultiFernet([Fernet(k) for k in keys])
    assert b"An Peeters" not in stored.read_bytes() and fernet.decrypt(stored.read_bytes()) == raw
    meta = fernet.decrypt((pending_dir(stack) / f"{mail_id}.json").read_bytes()).decode()
    assert hashlib.sha256(raw).hexdigest() in meta

    assert send(stack, raw, rcpt="iemand@elders.example")[0] == 550
    assert send(stack, raw, rcpt="<not-an-address>")[0] in (550, 553)
    # over the size limit: refused at MAIL when SIZE is declared, and after DATA when it is not
    port = int(stack.env["NETSTERK_INTAKE_SMTP_PORT"])
    big = b"Subject: groot\r\n\r\n" + (b"x" * 70 + b"\r\n") * 3600   # 259 kB in short lines
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.mail("a@school.example", ["SIZE=250000"])[0] == 552
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("a@school.example")
        smtp.rcpt(CONTACT)
        assert smtp.data(big)[0] == 552
    assert sorted(p.name for p in pending_dir(stack).iterdir()) == [f"{mail_id}.eml", f"{mail_id}.json"]


def test_451_when_the_store_cannot_write(stack, tmp_path):
    stack.gateway(tmp_path)
    directory = pending_dir(stack)
    directory.rmdir()
    directory.write_text("not a directory")   # (root ignores file modes: a file blocks the store)
    code, text = send(stack, (CORPUS / "referral_plain_en.eml").read_bytes())
    assert code == 451, text
    directory.unlink()
    assert send(stack, (CORPUS / "referral_plain_en.eml").read_bytes())[0] == 250


def test_starttls_with_a_configured_certificate(stack, tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    stack.env.update(NETSTERK_INTAKE_SMTP_TLS_CERT=str(tmp_path / "cert.pem"),
                     NETSTERK_INTAKE_SMTP_TLS_KEY=str(tmp_path / "key.pem"))
    stack.gateway(tmp_path)
    context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    with smtplib.SMTP("localhost", int(stack.env["NETSTERK_INTAKE_SMTP_PORT"]), timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        smtp.starttls(context=context)
        smtp.ehlo()
        assert smtp.sock.version().startswith("TLS")
        refused = smtp.sendmail("a@school.example", [CONTACT], (CORPUS / "referral_plain_en.eml").read_bytes())
        assert refused == {}


def test_kill_after_250_loses_nothing_and_parses_once(stack, tmp_path):
    connection = amqp.connect(stack.env["NETSTERK_AMQP_URI"])
    queue = kombu.Queue("test-gw-submitted", exchange=amqp.event_exchange("intake"),
                        routing_key="referral_submitted", durable=False, auto_delete=False)
    queue(connection.channel()).declare()

    gateway = stack.gateway(tmp_path)   # intake not running yet: nothing can be parsed
    raw = (CORPUS / "referral_plain_nl.eml").read_bytes()
    code, text = send(stack, raw)
    assert code == 250
    mail_id = text.decode().rsplit(" ", 1)[1]
    os.killpg(gateway.pid, signal.SIGKILL)
    gateway.wait()
    assert (pending_dir(stack) / f"{mail_id}.eml").exists()

    stack.intake(tmp_path)
    uri = stack.env["NETSTERK_AMQP_URI"]
    amqp.rpc_call(uri, "intake", "upsert_network", "mechelen", "Mechelen", ["truancy"])
    stack.gateway(tmp_path)             # restarted: hands over what it stored before the kill
    status = wait_until(lambda: (s := amqp.rpc_call(uri, "intake", "mail_status", mail_id, timeout=5))
                        and s["status"] == "processed" and s, timeout=60, what="mail processed after restart")
    assert status["kind"] == "referral" and status["attempts"] == 1 and status["referral_ref"]
    wait_until(lambda: not (pending_dir(stack) / f"{mail_id}.eml").exists(), timeout=20,
               what="the gateway's copy removed after hand-over")

    # the sender retries the same message (same Message-ID): stored once, no second referral
    assert send(stack, raw)[0] == 250
    wait_until(lambda: not any(pending_dir(stack).glob("*.eml")), timeout=20, what="second hand-over")
    time.sleep(2)
    bodies = []
    with kombu.Consumer(connection, queues=[queue], accept=["json"],
                        callbacks=[lambda body, message: (bodies.append(body), message.ack())]):
        wait_until(lambda: bodies or connection.drain_events(timeout=0.5), timeout=20, what="the event")
        time.sleep(1)
        try:
            connection.drain_events(timeout=1)
        except TimeoutError:
            pass
    assert len(bodies) == 1 and bodies[0]["payload"]["draft"] is True
    assert amqp.rpc_call(uri, "intake", "mail_status", mail_id)["attempts"] == 1
    queue(connection.channel()).delete()
    connection.close()


def test_gateway_process_loads_neither_nameko_nor_eventlet():
    probe = ("import sys, services.intake.mail.gateway, services.intake.mail.commands;"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('nameko', 'eventlet', 'temporalio')))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
