"""The contact point's SMTP receiver: `python -m services.intake.mail.gateway`.

An aiosmtpd process (no nameko, no eventlet). For every message it
1. refuses recipients that are not the contact point's (550), and data over the size limit (552);
2. writes the raw bytes and their SHA-256 durably (store.py) and only then answers 250;
   when that fails it answers 451 so the sender retries;
3. hands the message to intake over nameko RPC (`intake.mail_received`) from a background
   thread; the stored copy is removed only after intake confirmed it holds its own. Messages
   left by a crash or an unreachable intake are handed over after a restart (intake dedupes).
STARTTLS is offered when a certificate and key are configured."""
from __future__ import annotations

import asyncio
import base64
import signal
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from netsterk import amqp
from netsterk.logging import configure_logging, get_logger
from netsterk.settings import Settings, get_settings
from services.intake.mail.addresses import is_contact_point
from services.intake.mail.store import RawStore

log = get_logger(__name__)

HANDOVER_INTERVAL = 2.0


class GatewayHandler:
    def __init__(self, store: RawStore, settings: Settings, on_stored=None):
        self.store = store
        self.settings = settings
        self.on_stored = on_stored

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if not is_contact_point(address, self.settings):
            log.info("mail_recipient_refused")
            return "550 5.1.1 No such mailbox here"
        if len(envelope.rcpt_tos) >= 20:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or b""
        if len(raw) > self.settings.intake_mail_max_bytes:
            return "552 5.3.4 Message too big"
        loop = asyncio.get_running_loop()
        try:
            stored = await loop.run_in_executor(
                None, self.store.save, raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        except Exception as exc:
            log.error("mail_store_failed", error=type(exc).__name__)
            return "451 4.3.0 Could not store the message; please try again later"
        log.info("mail_stored", mail_id=stored.id, size=stored.size, sha256=stored.sha256[:16])
        if self.on_stored:
            self.on_stored()
        return f"250 2.0.0 OK stored as {stored.id}"


class Handover(threading.Thread):
    """Hands pending messages to intake, oldest first, until stopped."""

    def __init__(self, store: RawStore, settings: Settings):
        super().__init__(name="mail-handover", daemon=True)
        self.store = store
        self.settings = settings
        self.wake = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.hand_over_pending()
            except Exception as exc:  # broker or intake away: keep the files, try again
                log.warning("mail_handover_failed", error=f"{type(exc).__name__}: {exc}"[:300])
            self.wake.wait(HANDOVER_INTERVAL)
            self.wake.clear()

    def hand_over_pending(self) -> int:
        pending = self.store.pending()
        if not pending:
            return 0
        done = 0
        with amqp.connect(self.settings.amqp_uri) as connection:
            client = amqp.RpcClient(connection, timeout=self.settings.rpc_timeout, caller="mail-gateway")
            try:
                for mail_id in pending:
                    if self.stopping.is_set():
                        break
                    stored, raw = self.store.load(mail_id)
                    answer = client.call("intake", "mail_received", {
                        **stored.__dict__, "raw": base64.b64encode(raw).decode("ascii")})
                    if answer.get("id") != stored.id:
                        raise RuntimeError(f"intake answered for {answer.get('id')!r}")
                    self.store.done(mail_id)
                    log.info("mail_handed_over", mail_id=mail_id, status=answer.get("status"))
                    done += 1
            finally:
                client.close()
        return done

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    if not (settings.intake_smtp_tls_cert and settings.intake_smtp_tls_key):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(settings.intake_smtp_tls_cert), str(settings.intake_smtp_tls_key))
    return context


class GatewayController(Controller):
    def factory(self):
        return SMTP(self.handler, data_size_limit=self.handler.settings.intake_mail_max_bytes,
                    enable_SMTPUTF8=True, decode_data=False, tls_context=self.tls,
                    require_starttls=False, hostname="netsterk-gateway", ident="Netsterk mail gateway")


def start(settings: Settings, *, handover: bool = True) -> tuple[GatewayController, Handover | None]:
    store = RawStore(settings.intake_mail_dir or settings.var_dir / "mail-in")
    store.ensure()
    removed = store.clean_orphans()
    if removed:
        log.info("mail_store_orphans_removed", count=removed)
    worker = Handover(store, settings) if handover else None
    handler = GatewayHandler(store, settings, on_stored=worker.wake.set if worker else None)
    controller = GatewayController(handler, hostname=settings.host, port=settings.intake_smtp_port)
    controller.tls = tls_context(settings)
    controller.start()
    if worker:
        worker.start()
    log.info("mail_gateway_started", port=settings.intake_smtp_port, starttls=controller.tls is not None,
             pending=len(store.pending()))
    return controller, worker


def main() -> None:
    configure_logging("mail_gateway")
    settings = get_settings()
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    controller, worker = start(settings)
    stopping.wait()
    log.info("mail_gateway_stopping")
    if worker:
        worker.stop()
    controller.stop()


if __name__ == "__main__":
    main()
