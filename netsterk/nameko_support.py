"""nameko building blocks shared by every service. Imported by services only: it pulls in
nameko (and so eventlet), which must never load in the Temporal worker or the bridge."""
from __future__ import annotations

import json
import time

import eventlet
import eventlet.semaphore
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer
from nameko.rpc import Rpc, RpcConsumer
from nameko.timer import Timer
from nameko.web.handlers import HttpRequestHandler
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from netsterk import amqp, metrics
from netsterk.db import claim_message, make_engine, relay_outbox, session_scope
from netsterk.envelope import EnvelopeError, validate_envelope
from netsterk.logging import context_from_envelope, get_logger, log_context
from netsterk.settings import get_settings

log = get_logger(__name__)


# --- entrypoints that can declare quorum queues ---------------------------------------------
# Services import `rpc` and `event_handler` from here instead of nameko. With the container
# config QUORUM_QUEUES (settings.quorum_queues, NETSTERK_QUORUM_QUEUES=1 on a RabbitMQ cluster)
# the durable shared queues become quorum queues, replicated on every node: `rpc-<service>` and
# the SERVICE_POOL event-handler queues. Exclusive / auto-delete queues (RPC reply queues,
# BROADCAST handlers) stay classic: RabbitMQ refuses them as quorum queues.

def make_quorum(queue, config) -> None:
    """Add x-queue-type=quorum to a nameko queue when the config asks and the queue allows."""
    if config.get("QUORUM_QUEUES") and queue.durable and not queue.auto_delete \
            and not queue.exclusive:
        queue.queue_arguments = {**(queue.queue_arguments or {}), **amqp.QUORUM_ARGUMENTS}


class QuorumRpcConsumer(RpcConsumer):
    def setup(self):
        declared = self.queue is not None
        super().setup()
        if not declared:
            make_quorum(self.queue, self.container.config)


class QuorumRpc(Rpc):
    rpc_consumer = QuorumRpcConsumer()


class ParkingQueueConsumer(QueueConsumer):
    """nameko's queue consumer, except that a message whose body cannot be decoded (not JSON)
    is parked in `<consumer>.dlq` with the reason before the ack; nameko's own (kombu's
    ConsumerMixin) only logs and acks it, and the message would be gone."""

    def queue_name_of(self, message) -> str | None:
        tag = message.delivery_info.get("consumer_tag")
        for consumer in list(self._consumers.values()):
            for queue_name, active_tag in getattr(consumer, "_active_tags", {}).items():
                if active_tag == tag:
                    return queue_name
        return None

    def on_decode_error(self, message, exc):
        queue_name = self.queue_name_of(message) or "unknown"
        consumer = queue_name.split("--", 1)[-1]     # evt-<source>-<type>--<service>.<method>
        body = message.body.decode("utf-8", errors="replace") if isinstance(message.body, bytes) else message.body
        log.warning("undecodable_message_dead_lettered", consumer=consumer, error=str(exc),
                    content_type=message.content_type)
        dead_letter(self.amqp_uri, consumer, body, f"undecodable message: {exc}")
        metrics.MESSAGES_CONSUMED.labels(consumer=consumer, outcome="dead_lettered").inc()
        message.ack()


class QuorumEventHandler(EventHandler):
    """nameko's event handler with quorum queues on request and a delivery limit: a message whose
    handler killed the process before the ack comes back at most settings.delivery_limit times,
    then waits in `<consumer>.dlq` with the reason (see amqp.redelivery_verdict)."""
    queue_consumer = ParkingQueueConsumer()

    def setup(self):
        super().setup()
        make_quorum(self.queue, self.container.config)

    def handle_message(self, body, message):
        if message.delivery_info.get("redelivered"):
            limit = get_settings().delivery_limit
            consumer = f"{self.container.service_name}.{self.method_name}"
            with amqp.connect(self.container.config["AMQP_URI"]) as connection:
                with connection.Producer() as producer:
                    verdict = amqp.redelivery_verdict(producer, message, self.queue.name, limit)
            if verdict != "process":
                if verdict == "limit":
                    log.error("delivery_limit_reached", consumer=consumer, limit=limit)
                    dead_letter(self.container.config["AMQP_URI"], consumer, body,
                                f"delivery limit: the consumer stopped {limit} times on this "
                                "message before it could finish")
                    metrics.MESSAGES_CONSUMED.labels(consumer=consumer, outcome="dead_lettered").inc()
                else:
                    log.warning("redelivered_message_requeued", consumer=consumer,
                                deliveries=amqp.deliveries_of(message))
                self.queue_consumer.ack_message(message)
                return
        super().handle_message(body, message)


rpc = QuorumRpc.decorator
event_handler = QuorumEventHandler.decorator


class EntrypointMetrics(DependencyProvider):
    """Counts and times every entrypoint call of a service for netsterk.metrics: HTTP requests
    (by URL rule and status), RPC calls, handled events and timer runs. netsterk_ops.run_service
    adds it to every service it runs; the service code does not name it."""

    def __init__(self):
        self.started: dict[int, float] = {}

    def get_dependency(self, worker_ctx):
        return self

    def worker_setup(self, worker_ctx):
        self.started[id(worker_ctx)] = time.monotonic()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        seconds = time.monotonic() - self.started.pop(id(worker_ctx), time.monotonic())
        entrypoint = worker_ctx.entrypoint
        service = self.container.service_name
        outcome = "error" if exc_info else "ok"
        if isinstance(entrypoint, HttpRequestHandler):
            status = getattr(result, "status_code", None)
            if status is None:
                status = 500 if exc_info else (result[0] if isinstance(result, tuple)
                                               and isinstance(result[0], int) else 200)
            request = worker_ctx.args[0] if worker_ctx.args else None
            method = getattr(request, "method", entrypoint.method)
            metrics.HTTP_REQUESTS.labels(service=service, method=method, route=entrypoint.url,
                                         status=str(status)).inc()
            metrics.HTTP_SECONDS.labels(service=service, route=entrypoint.url).observe(seconds)
        elif isinstance(entrypoint, Rpc):
            metrics.rpc_served(service, entrypoint.method_name, outcome, seconds)
        elif isinstance(entrypoint, EventHandler):
            metrics.EVENTS_HANDLED.labels(service=service, source=entrypoint.source_service,
                                          event_type=entrypoint.event_type, outcome=outcome).inc()
            metrics.EVENT_SECONDS.labels(service=service, event_type=entrypoint.event_type).observe(seconds)
        elif isinstance(entrypoint, Timer):
            metrics.TIMER_RUNS.labels(service=service, timer=entrypoint.method_name,
                                      outcome=outcome).inc()


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
        """Relay what is unpublished. Several replicas may flush at once: relay_outbox locks the
        rows it publishes, so each row is published by one of them."""
        with self._lock:
            with amqp.connect(self.container.config["AMQP_URI"]) as connection:
                published = relay_outbox(self.factory, self.outbox_model, connection)
            with session_scope(self.factory) as session:
                backlog = session.scalar(select(func.count()).select_from(self.outbox_model)
                                         .where(self.outbox_model.published_at.is_(None)))
            service = self.container.service_name
            metrics.OUTBOX_BACKLOG.labels(service=service).set(backlog or 0)
            if published:
                metrics.OUTBOX_PUBLISHED.labels(service=service).inc(published)
            return published

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


def consume_once(service, *, consumer: str, body, apply, processed_model) -> str:
    """Validate an event envelope and apply it exactly once, in one transaction.

    `service` is the nameko service instance (needs `.db` and `.config`); `apply(session,
    envelope)` writes the effect. Invalid or failing messages go to the dead-letter queue.
    Returns the outcome: applied, duplicate or dead_lettered."""
    amqp_uri = service.config["AMQP_URI"]
    try:
        envelope = validate_envelope(body)
    except EnvelopeError as exc:
        log.warning("message_rejected", consumer=consumer, error=str(exc))
        dead_letter(amqp_uri, consumer, body, exc)
        metrics.MESSAGES_CONSUMED.labels(consumer=consumer, outcome="dead_lettered").inc()
        return "dead_lettered"
    with log_context(**context_from_envelope(envelope)):
        waited, delay = 0.0, 0.5
        while True:
            try:
                with session_scope(service.db) as session:
                    if not claim_message(session, processed_model, envelope["message_id"], consumer):
                        log.info("duplicate_message_skipped", consumer=consumer,
                                 message_id=envelope["message_id"])
                        metrics.MESSAGES_CONSUMED.labels(consumer=consumer, outcome="duplicate").inc()
                        return "duplicate"
                    apply(session, envelope)
                metrics.MESSAGES_CONSUMED.labels(consumer=consumer, outcome="applied").inc()
                return "applied"
            except Exception as exc:
                # the database away for a moment (a restart, a failover): wait and try again,
                # the message stays unacked meanwhile; anything else is parked with its reason
                if database_unavailable(exc) and waited < get_settings().db_retry_seconds:
                    log.warning("database_unavailable_retrying", consumer=consumer,
                                message_id=envelope["message_id"], error=type(exc).__name__,
                                waited=round(waited, 1))
                    eventlet.sleep(delay)
                    waited += delay
                    delay = min(delay * 2, 5.0)
                    continue
                log.exception("message_failed", consumer=consumer, message_id=envelope["message_id"])
                dead_letter(amqp_uri, consumer, body, exc)
                metrics.MESSAGES_CONSUMED.labels(consumer=consumer, outcome="dead_lettered").inc()
                return "dead_lettered"


def erase_and_confirm(service, *, consumer: str, body, erase, processed_model) -> str:
    """The consumer of `intake.referral_erased` in every service: `erase(session, envelope)`
    wipes the service's copy once (consume_once) and returns what it removed ({store: count});
    then `<service>.erasure_confirmed` tells intake (netsterk/erasure.py). A repeated erasure
    message confirms again (intake records a receipt once); a receipt that cannot be published
    parks the erasure message in the dead-letter queue, whose replay confirms it."""
    from netsterk import erasure

    removed: dict = {}
    outcome = consume_once(service, consumer=consumer, body=body, processed_model=processed_model,
                           apply=lambda session, envelope: removed.update(erase(session, envelope) or {}))
    if outcome == "dead_lettered":
        return outcome
    amqp_uri = service.config["AMQP_URI"]
    try:
        with amqp.connect(amqp_uri) as connection:
            erasure.publish_receipt(connection, service.name, validate_envelope(body), removed)
    except Exception as exc:   # noqa: BLE001 - parked with the reason, nothing is lost
        log.exception("erasure_receipt_not_published", consumer=consumer)
        dead_letter(amqp_uri, consumer, body, f"erased, but the receipt could not be published: {exc}")
        return "dead_lettered"
    return outcome


def database_unavailable(exc: BaseException) -> bool:
    """A connection-level database error (server gone, refusing connections, connection cut),
    as opposed to a statement the database refused."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError):
        text = str(exc.orig if getattr(exc, "orig", None) is not None else exc).lower()
        return any(marker in text for marker in (
            "connection", "server closed", "terminating", "not accepting", "could not connect",
            "database is locked", "the database system is", "does not allow connections"))
    return False


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
