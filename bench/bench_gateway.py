"""Benchmark: the e-mail gateway on the real stack. N messages (the real-world mails of
../shared/mail-corpus, each made unique with a fresh Message-ID) are sent over SMTP by a few
concurrent clients to the contact point's gateway; measured are the rate at which the gateway
accepts them (250 after the durable store) and the rate at which intake has parsed and classified
all of them (status past `received`/`processing`, asked over `intake.mail_status`). Baseline in the
same run: a bare aiosmtpd server that answers 250 without storing, fed the same messages by the
same clients. Nothing may be lost: every accepted message must be parsed. Never asserts on time.

    .venv/bin/python -m bench.bench_gateway [--n 1000] [--clients 4]
"""
from __future__ import annotations

import argparse
import re
import smtplib
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from netsterk.settings import SHARED_DIR

CONTACT_POINT = "meldpunt@netsterk.example"
FINAL = {"received", "processing"}


def corpus() -> list[bytes]:
    folder = Path(SHARED_DIR) / "mail-corpus"
    return [p.read_bytes() for p in sorted(folder.glob("*.eml"))]


def acceptable(mails: list[bytes]) -> list[bytes]:
    """The corpus mails an SMTP server accepts at all: a few have lines over RFC 5321's limit
    (4.5.3.1.6), which aiosmtpd (the gateway's and the bare baseline's) answers with 500."""
    kept = []
    for raw in mails:
        try:
            bare_rate([unique(raw)], 1)
            kept.append(raw)
        except AssertionError:
            continue
    return kept


def unique(raw: bytes) -> bytes:
    """The same mail with a fresh Message-ID (else intake rightly keeps it once)."""
    message_id = f"<bench-{uuid.uuid4().hex}@bench.example.org>".encode()
    head, sep, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    head = re.sub(rb"(?im)^message-id:.*(\r?\n[ \t].*)*\r?\n?", b"", head)
    newline = b"\r\n" if b"\r\n" in raw[:2000] else b"\n"
    return b"Message-ID: " + message_id + newline + head + sep + body


def send_all(host: str, port: int, messages: list[bytes], clients: int) -> tuple[list[str], float]:
    """Send every message (one SMTP session per client, many messages each); the ids the
    server gave in its 250 answers, and the seconds it took."""
    chunks = [messages[i::clients] for i in range(clients)]

    def session(chunk: list[bytes]) -> list[str]:
        ids = []
        with smtplib.SMTP(host, port, timeout=120) as smtp:
            for raw in chunk:
                smtp.ehlo()
                smtp.mail("bench@school.example.org")
                code, _ = smtp.rcpt(CONTACT_POINT)
                assert code == 250, code
                code, text = smtp.data(raw)
                assert code == 250, (code, text)
                ids.append(text.decode().rsplit(" ", 1)[-1])
        return ids

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        ids = [i for part in pool.map(session, chunks) for i in part]
    return ids, time.monotonic() - started


def bare_rate(messages: list[bytes], clients: int) -> float:
    """The same sending against aiosmtpd that keeps nothing: what SMTP itself costs here."""
    from aiosmtpd.controller import Controller

    from netsterk.testing import free_port

    class Discard:
        async def handle_DATA(self, server, session, envelope):
            return "250 2.0.0 OK discarded"

    port = free_port()
    controller = Controller(Discard(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        _, seconds = send_all("127.0.0.1", port, messages, clients)
    finally:
        controller.stop()
    return len(messages) / seconds


def run(n: int = 1000, clients: int = 4) -> list[dict]:
    from netsterk import amqp
    from bench.bench_e2e import bench_stack

    mails = acceptable(corpus())
    print(f"gateway: {len(mails)} corpus mails an SMTP server accepts, sent round-robin")
    messages = [unique(mails[i % len(mails)]) for i in range(n)]
    bare = bare_rate(messages, clients)
    with bench_stack() as (settings, _stack):
        started = time.monotonic()
        ids, send_seconds = send_all(settings.host, settings.intake_smtp_port, messages, clients)
        pending = set(ids)
        kinds: dict[str, int] = {}
        deadline = time.monotonic() + max(600, n)
        broker = amqp.ThreadConnections(settings.amqp_uri, caller="bench")
        while pending and time.monotonic() < deadline:
            for mail_id in sorted(pending):   # oldest first: stop at the first one not done
                status = broker.call("intake", "mail_status", mail_id, timeout=60)
                if not status or status["status"] in FINAL:
                    break
                pending.discard(mail_id)
                kinds[status["status"]] = kinds.get(status["status"], 0) + 1
            if pending:
                time.sleep(0.2)
        parsed_seconds = time.monotonic() - started
        broker.reset()
    accepted = len(ids) / send_seconds
    parsed = (len(ids) - len(pending)) / parsed_seconds
    print(f"gateway: {n} mails, {clients} clients: accepted {accepted:.1f}/s (bare aiosmtpd "
          f"{bare:.1f}/s), parsed {parsed:.1f}/s, not parsed {len(pending)}; outcomes {kinds}")
    return [
        {"name": f"gateway: mails accepted over SMTP (250 after the durable store), {n} mails, "
                 f"{clients} clients", "value": round(accepted, 1), "unit": "mails/s",
         "baseline": {"name": "bare aiosmtpd answering 250 without storing, same clients",
                      "value": round(bare, 1), "ratio": round(accepted / bare, 2)}},
        {"name": "gateway: mails accepted and parsed by intake (stored, parsed, classified)",
         "value": round(parsed, 1), "unit": "mails/s", "baseline": None},
        {"name": "gateway: mails accepted but not parsed (lost)", "value": len(pending),
         "unit": "mails", "baseline": None},
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    for row in run(args.n, args.clients):
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
