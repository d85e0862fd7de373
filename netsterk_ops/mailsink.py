"""Mail sink for development and tests: `python -m netsterk_ops.mailsink`.

An SMTP server (aiosmtpd) on settings.smtp_host:smtp_port stores every message it receives as an
.eml file under settings.var_dir/"mailsink" (written to a temp file, then renamed), and a small
HTTP server on settings.mailsink_http_port shows them:

- `/`                  HTML list, newest first
- `/messages/<id>`     one message (headers and text body, links clickable)
- `/messages/<id>.eml` the raw message
- `/api/messages`      JSON list `[{id, from, to, subject, date, text, headers}]`, newest first
- `DELETE /api/messages` removes every stored message
"""
from __future__ import annotations

import email
import html
import json
import os
import re
import signal
import threading
import time
import uuid
from datetime import datetime, timezone
from email import policy
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

from netsterk.logging import configure_logging, get_logger
from netsterk.settings import get_settings

log = get_logger(__name__)

ID_PATTERN = re.compile(r"^[0-9]{20}-[0-9a-f]{12}$")
URL_PATTERN = re.compile(r"https?://[^\s<>\"']+")
ENVELOPE_FROM = "X-Mailsink-Envelope-From"
ENVELOPE_TO = "X-Mailsink-Envelope-To"


# --- storage ---------------------------------------------------------------------------------

class MailStore:
    """Messages as <id>.eml files; ids sort by arrival time."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def save(self, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> str:
        """Store one message durably: temp file, fsync, rename. Returns its id."""
        message_id = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
        prefix = (f"{ENVELOPE_FROM}: {mail_from}\r\n"
                  f"{ENVELOPE_TO}: {', '.join(rcpt_tos)}\r\n").encode("utf-8")
        temp = self.directory / f".{message_id}.tmp"
        with open(temp, "wb") as handle:
            handle.write(prefix + raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.directory / f"{message_id}.eml")
        self._sync_directory()
        return message_id

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def ids(self) -> list[str]:
        """Stored message ids, newest first."""
        return sorted((p.stem for p in self.directory.glob("*.eml") if ID_PATTERN.match(p.stem)),
                      reverse=True)

    def raw(self, message_id: str) -> bytes | None:
        if not ID_PATTERN.match(message_id):
            return None
        path = self.directory / f"{message_id}.eml"
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def get(self, message_id: str) -> dict | None:
        raw = self.raw(message_id)
        return None if raw is None else parse_message(message_id, raw)

    def all(self) -> list[dict]:
        messages = []
        for message_id in self.ids():
            message = self.get(message_id)
            if message is not None:
                messages.append(message)
        return messages

    def clear(self) -> int:
        with self._lock:
            removed = 0
            for path in self.directory.glob("*.eml"):
                path.unlink(missing_ok=True)
                removed += 1
            return removed


# --- parsing ---------------------------------------------------------------------------------

class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li", "tr", "h1", "h2", "h3"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    lines = [" ".join(line.split()) for line in "".join(extractor.parts).splitlines()]
    return "\n".join(line for line in lines if line).strip()


def _body_text(message) -> str:
    part = message.get_body(preferencelist=("plain",))
    if part is not None:
        return part.get_content()
    part = message.get_body(preferencelist=("html",))
    if part is not None:
        return html_to_text(part.get_content())
    return ""


def _addresses(values: list[str]) -> list[str]:
    return [address for _name, address in getaddresses(values) if address]


def parse_message(message_id: str, raw: bytes) -> dict:
    message = email.message_from_bytes(raw, policy=policy.default)
    envelope_to = message.get(ENVELOPE_TO)
    to = ([a.strip() for a in str(envelope_to).split(",") if a.strip()] if envelope_to
          else _addresses(message.get_all("To", []) + message.get_all("Cc", [])))
    sender = _addresses([str(message.get("From", ""))])
    try:
        date = parsedate_to_datetime(str(message["Date"])).isoformat()
    except (TypeError, ValueError):
        date = datetime.fromtimestamp(int(message_id.split("-")[0]) / 1e9, timezone.utc).isoformat()
    try:
        text = _body_text(message)
    except (LookupError, ValueError) as exc:
        text = f"[body could not be decoded: {exc}]"
    headers = {}
    for key, value in message.items():
        if key in (ENVELOPE_FROM, ENVELOPE_TO):
            continue
        headers[key] = f"{headers[key]}, {value}" if key in headers else str(value)
    return {
        "id": message_id,
        "from": sender[0] if sender else str(message.get(ENVELOPE_FROM, "")),
        "to": to,
        "subject": str(message.get("Subject", "")),
        "date": date,
        "text": text,
        "headers": headers,
    }


# --- SMTP ------------------------------------------------------------------------------------

class StoreHandler:
    """aiosmtpd handler: store first, then say 250."""

    def __init__(self, store: MailStore):
        self.store = store

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        try:
            message_id = self.store.save(raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        except OSError as exc:
            log.error("mail_store_failed", error=str(exc))
            return "451 Requested action aborted: could not store the message"
        log.info("mail_received", mail_id=message_id, recipients=len(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


# --- HTTP ------------------------------------------------------------------------------------

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left}}
pre{{white-space:pre-wrap;background:#f6f6f6;padding:1em}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def linkify(text: str) -> str:
    """HTML-escape text and make its URLs clickable."""
    out, last = [], 0
    for match in URL_PATTERN.finditer(text):
        out.append(html.escape(text[last:match.start()]))
        url = match.group(0)
        out.append(f'<a href="{html.escape(url)}">{html.escape(url)}</a>')
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def render_list(messages: list[dict]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(m['date'])}</td><td>{html.escape(m['from'])}</td>"
        f"<td>{html.escape(', '.join(m['to']))}</td><td>{html.escape(m['subject'])}</td>"
        f"<td><a href=\"/messages/{m['id']}\">open</a></td></tr>"
        for m in messages
    )
    body = (f"<p>{len(messages)} message(s)</p><table><tr><th>Date</th><th>From</th><th>To</th>"
            f"<th>Subject</th><th></th></tr>{rows}</table>")
    return PAGE.format(title="Mail sink", body=body)


def render_message(message: dict) -> str:
    headers = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                      for k, v in message["headers"].items())
    body = (f'<p><a href="/">&larr; all messages</a> · <a href="/messages/{message["id"]}.eml">raw</a></p>'
            f"<table>{headers}</table><pre>{linkify(message['text'])}</pre>")
    return PAGE.format(title=html.escape(message["subject"] or "(no subject)"), body=body)


def make_handler(store: MailStore):
    class Handler(BaseHTTPRequestHandler):
        server_version = "NetsterkMailSink/1.0"

        def log_message(self, format, *args):  # noqa: A002 - stdlib signature
            log.debug("mailsink_http", request=self.requestline)

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, data) -> None:
            self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"),
                       "application/json; charset=utf-8")

        def _html(self, status: int, markup: str) -> None:
            self._send(status, markup.encode("utf-8"), "text/html; charset=utf-8")

        def _not_found(self) -> None:
            if self.path.startswith("/api/"):
                self._json(404, {"error": "not found"})
            else:
                self._html(404, PAGE.format(title="Not found", body='<a href="/">back</a>'))

        def do_GET(self):  # noqa: N802 - stdlib naming
            path = self.path.split("?", 1)[0]
            if path == "/":
                return self._html(200, render_list(store.all()))
            if path == "/api/messages":
                return self._json(200, store.all())
            if path.startswith("/api/messages/"):
                message = store.get(path.removeprefix("/api/messages/"))
                return self._json(200, message) if message else self._not_found()
            if path.startswith("/messages/") and path.endswith(".eml"):
                raw = store.raw(path.removeprefix("/messages/").removesuffix(".eml"))
                return self._send(200, raw, "message/rfc822") if raw else self._not_found()
            if path.startswith("/messages/"):
                message = store.get(path.removeprefix("/messages/"))
                return self._html(200, render_message(message)) if message else self._not_found()
            return self._not_found()

        do_HEAD = do_GET

        def do_DELETE(self):  # noqa: N802 - stdlib naming
            if self.path.split("?", 1)[0] == "/api/messages":
                removed = store.clear()
                log.info("mailsink_cleared", removed=removed)
                return self._json(200, {"deleted": removed})
            return self._not_found()

    return Handler


# --- process ---------------------------------------------------------------------------------

class MailSink:
    """The SMTP controller and the HTTP server together; start() and stop()."""

    def __init__(self, directory: Path, smtp_host: str, smtp_port: int, http_host: str, http_port: int):
        self.store = MailStore(directory)
        self.controller = Controller(StoreHandler(self.store), hostname=smtp_host, port=smtp_port,
                                     enable_SMTPUTF8=True, decode_data=False)
        self.http = ThreadingHTTPServer((http_host, http_port), make_handler(self.store))
        self.http.daemon_threads = True
        self._http_thread = threading.Thread(target=self.http.serve_forever, name="mailsink-http",
                                             daemon=True)

    def start(self) -> None:
        self.controller.start()
        self._http_thread.start()

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.controller.stop()


def main() -> None:
    configure_logging("mailsink")
    settings = get_settings()
    sink = MailSink(settings.var_dir / "mailsink", settings.smtp_host, settings.smtp_port,
                    settings.host, settings.mailsink_http_port)
    stopping = threading.Event()

    def shutdown(signum, _frame):
        log.info("mailsink_stopping", signal=signum)
        stopping.set()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    sink.start()
    log.info("mailsink_started", smtp=f"{settings.smtp_host}:{settings.smtp_port}",
             http=settings.mailsink_url)
    stopping.wait()
    sink.stop()
    log.info("mailsink_stopped")


if __name__ == "__main__":
    main()
