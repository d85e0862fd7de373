"""The mail sink as a real process: SMTP in, .eml files on disk, HTML and JSON out."""
from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from netsterk.testing import free_port, wait_until

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def sink(tmp_path):
    ports = {"smtp": free_port(), "http": free_port()}
    env = dict(os.environ, NETSTERK_VAR_DIR=str(tmp_path), NETSTERK_SMTP_PORT=str(ports["smtp"]),
               NETSTERK_MAILSINK_HTTP_PORT=str(ports["http"]), NETSTERK_HOST="127.0.0.1",
               NETSTERK_SMTP_HOST="127.0.0.1")
    processes = []

    def start():
        with open(tmp_path / "mailsink.log", "ab") as output:
            process = subprocess.Popen([sys.executable, "-m", "netsterk_ops.mailsink"], cwd=REPO,
                                       env=env, stdout=output, stderr=subprocess.STDOUT)
        processes.append(process)
        url = f"http://127.0.0.1:{ports['http']}"
        wait_until(lambda: requests.get(f"{url}/api/messages", timeout=1).ok, timeout=30,
                   what="mail sink HTTP")
        return process, url

    yield start, ports, tmp_path
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def send(port: int, subject: str, body: str, to: str = "school@example.org") -> None:
    message = EmailMessage()
    message["From"] = "Meldpunt <meldpunt@netsterk.example>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)


def stop(process) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=20)


def test_receives_stores_and_shows_utf8_mail(sink):
    start, ports, var_dir = sink
    process, url = start()
    subject = "Melding MCH-2026-0001 ontvangen — één vraag"
    body = "Beste collega,\nWe hebben uw melding goed ontvangen. Bekijk: https://portal.example/r/1?x=ü\nGroetjes"
    send(ports["smtp"], subject, body)
    send(ports["smtp"], "Tweede bericht", "Nog een bericht", to="coordinator@example.org")

    messages = requests.get(f"{url}/api/messages", timeout=5).json()
    assert [m["subject"] for m in messages] == ["Tweede bericht", subject]
    first = messages[1]
    assert first["from"] == "meldpunt@netsterk.example"
    assert first["to"] == ["school@example.org"]
    assert "één vraag" in first["subject"]
    assert "https://portal.example/r/1?x=ü" in first["text"]
    assert first["headers"]["Subject"] == subject
    assert first["date"][:4].isdigit()

    stored = sorted((var_dir / "mailsink").glob("*.eml"))
    assert len(stored) == 2
    assert not list((var_dir / "mailsink").glob("*.tmp"))

    listing = requests.get(f"{url}/", timeout=5)
    assert listing.status_code == 200
    assert "één vraag" in listing.text
    assert f'href="/messages/{first["id"]}"' in listing.text
    assert listing.text.index("Tweede bericht") < listing.text.index("één vraag")

    page = requests.get(f"{url}/messages/{first['id']}", timeout=5)
    assert page.status_code == 200
    assert '<a href="https://portal.example/r/1?x=ü">' in page.text
    assert "school@example.org" in page.text

    raw = requests.get(f"{url}/messages/{first['id']}.eml", timeout=5)
    assert raw.status_code == 200 and b"Subject:" in raw.content
    assert requests.get(f"{url}/messages/../../etc/passwd", timeout=5).status_code == 404
    assert stop(process) == 0


def test_messages_survive_a_restart_and_delete_clears(sink):
    start, ports, _ = sink
    process, url = start()
    send(ports["smtp"], "Blijft bewaard", "<b>niet</b> html maar tekst")
    assert stop(process) == 0

    process, url = start()
    messages = requests.get(f"{url}/api/messages", timeout=5).json()
    assert [m["subject"] for m in messages] == ["Blijft bewaard"]

    deleted = requests.delete(f"{url}/api/messages", timeout=5)
    assert deleted.json() == {"deleted": 1}
    assert requests.get(f"{url}/api/messages", timeout=5).json() == []
    assert stop(process) == 0


def test_html_only_mail_is_shown_as_text(sink):
    start, ports, _ = sink
    process, url = start()
    message = EmailMessage()
    message["From"] = "partner@example.org"
    message["To"] = "meldpunt@netsterk.example"
    message["Subject"] = "HTML"
    message.set_content("<html><body><p>Hallo <b>wereld</b></p><script>x()</script></body></html>",
                        subtype="html")
    with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=10) as smtp:
        smtp.send_message(message)
    [stored] = requests.get(f"{url}/api/messages", timeout=5).json()
    assert stored["text"] == "Hallo wereld"
    assert stop(process) == 0
