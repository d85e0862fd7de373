"""nameko building blocks shared by every service. Imported by services only: it pulls in
nameko (and so eventlet), which must never load in the Temporal worker or the bridge."""
from __future__ import annotations

import json

import eventlet.semaphore
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import sessionmaker

from netsterk import amqp
from netsterk.db import claim_message, make_engine, relay_outbox, session_scope
from netsterk.envelope import EnvelopeError, validate_envelope
from netsterk.logging import context_from_envelope, get_logger, log_context
from netsterk.settings import get_settings

log = get_logger(__name__)


def database_url(config, service: str) -> str:
    """A container's DATABASE_URL (tests) or the service's URL from settings."""
    return config.get("DATABASE_URL") or get_settings().database_url(service)


class Database(DependencyProvider):
    """Gives a worker a sessionmaker bound to the service's own database."""

    def __init__(self, service: str):
        self.service = service
        self.engine = None
        self.factory = None

    def setup(self):
        self.engine = make_engine(database_url(self.container.config, self.service))
        self.factory = sessionmaker(self.engine, expire_on_commit=False)

    def stop(self):
        if self.engine is not None:
            self.engine.dispose()

    def get_dependency(self, worker_ctx):
        return self.factory


class OutboxRelay(Database):
    """Publishes a service's outbox rows after commit (call `flush()`), and from a timer.
    Has its own engine on the service's database (nameko providers cannot share one)."""

    def __init__(self, service: str, outbox_model):
        super().__init__(service)
        self.outbox_model = outbox_model
        self._lock = eventlet.semaphore.Semaphore()

    def flush(self) -> int:
        with self._lock:
            with amqp.connect(self.container.config["AMQP_URI"]) as connection:
                return relay_outbox(self.factory, self.outbox_model, connection)

    def get_dependency(self, worker_ctx):
        return self


def dead_letter(amqp_uri: str, consumer: str, body, error: BaseException | str) -> None:
    """Park a message that cannot be processed in `<consumer>.dlq`, with the reason, for replay."""
    queue = amqp.dead_letter_queue(consumer)
    with amqp.connect(amqp_uri) as connection:
        with connection.Producer() as producer:
            producer.publish(
                {"consumer": consumer, "error": str(error), "body": body},
                exchange=amqp.DEAD_LETTER_EXCHANGE, routing_key=queue.routing_key,
                serializer="json", delivery_mode=2, declare=[queue],
            )


def consume_once(service, *, consumer: str, body, apply, processed_model) -> None:
    """Validate an event envelope and apply it exactly once, in one transaction.

    `service` is the nameko service instance (needs `.db` and `.config`); `apply(session,
    envelope)` writes the effect. Invalid or failing messages go to the dead-letter queue."""
    amqp_uri = service.config["AMQP_URI"]
    try:
        envelope = validate_envelope(body)
    except EnvelopeError as exc:
        log.warning("message_rejected", consumer=consumer, error=str(exc))
        dead_letter(amqp_uri, consumer, body, exc)
        return
    with log_context(**context_from_envelope(envelope)):
        try:
            with session_scope(service.db) as session:
                if not claim_message(session, processed_model, envelope["message_id"], consumer):
                    log.info("duplicate_message_skipped", consumer=consumer,
                             message_id=envelope["message_id"])
                    return
                apply(session, envelope)
        except Exception as exc:
            log.exception("message_failed", consumer=consumer, message_id=envelope["message_id"])
            dead_letter(amqp_uri, consumer, body, exc)


def health_report(service_name: str, session_factory) -> dict:
    """The `health()` RPC answer: the service runs and its database answers."""
    from sqlalchemy import text

    with session_scope(session_factory) as session:
        session.execute(text("SELECT 1"))
    return {"service": service_name, "status": "ok"}


def http_health(service_name: str, session_factory):
    """`GET /health` of a web service: 200 with the health report, 503 when the database fails."""
    try:
        return json_response(health_report(service_name, session_factory))
    except Exception as exc:
        log.warning("health_check_failed", error=type(exc).__name__)
        return json_response({"service": service_name, "status": "down"}, status=503)


def json_response(data, status: int = 200):
    from werkzeug.wrappers import Response

    return Response(json.dumps(data, default=str, ensure_ascii=False), status=status,
                    mimetype="application/json")


def html_response(html: str, status: int = 200):
    from werkzeug.wrappers import Response

    return Response(html, status=status, mimetype="text/html")
