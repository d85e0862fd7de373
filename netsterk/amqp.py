"""kombu helpers that speak nameko's wire format, for processes that do not run nameko
(workflow activities, the bridge, the CLI, outbox relays).

- publish_event: a nameko event (exchange `<source>.events`, topic, durable; routing key = type),
  persistent, with publisher confirms.
- RpcClient: a nameko RPC call (exchange `nameko-rpc`, routing key `<service>.<method>`,
  body {"args", "kwargs"}, reply {"result", "error"}).
- serve_rpc: consume `rpc-<service>` and answer like a nameko service would.
- declare_dead_letter: a `<queue>.dlq` queue plus the arguments that route rejects there.
"""
from __future__ import annotations

import socket
import threading
import uuid
import kombu
from kombu import Connection, Exchange, Queue
from kombu.pools import producers

RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)
DEAD_LETTER_EXCHANGE = Exchange("netsterk.dlx", type="direct", durable=True)
QUORUM_ARGUMENTS = {"x-queue-type": "quorum"}


def durable_queue_arguments() -> dict:
    """Arguments of our durable shared queues: quorum queues when settings.quorum_queues
    (NETSTERK_QUORUM_QUEUES=1 on a RabbitMQ cluster), classic queues otherwise. Every process
    of one installation must agree: redeclaring a queue with another type is refused (406)."""
    from netsterk.settings import get_settings

    return dict(QUORUM_ARGUMENTS) if get_settings().quorum_queues else {}


class RemoteError(Exception):
    """An RPC call whose handler raised. `exc_type` is the remote exception's class name."""

    def __init__(self, exc_type: str, value: str, exc_args=None):
        super().__init__(f"{exc_type}: {value}")
        self.exc_type = exc_type
        self.value = value
        self.exc_args = exc_args or []


class RpcTimeout(Exception):
    """The called service did not answer within the timeout."""


class UnknownService(Exception):
    """No queue is bound for the called service: it never ran on this broker (vhost)."""


def event_exchange(source: str) -> Exchange:
    return Exchange(f"{source}.events", type="topic", durable=True, auto_delete=False)


def event_queue_name(source: str, event_type: str, consumer: str, method: str) -> str:
    """The SERVICE_POOL queue name nameko gives an @event_handler(source, event_type)."""
    return f"evt-{source}-{event_type}--{consumer}.{method}"


def management_api(amqp_uri: str) -> tuple[str, tuple[str, str], str]:
    """(base URL, auth, vhost) of the management API of the broker behind `amqp_uri`:
    NETSTERK_RABBIT_API, else port 15672 of the broker's host; the broker's credentials."""
    import os
    import urllib.parse

    parsed = urllib.parse.urlparse(amqp_uri.replace("pyamqp://", "amqp://"))
    vhost = urllib.parse.unquote(parsed.path[1:]) if len(parsed.path) > 1 else "/"
    base = os.environ.get("NETSTERK_RABBIT_API") or f"http://{parsed.hostname or '127.0.0.1'}:15672"
    auth = (urllib.parse.unquote(parsed.username or "guest"), urllib.parse.unquote(parsed.password or "guest"))
    return base.rstrip("/"), auth, vhost


def connect(uri: str) -> Connection:
    return Connection(uri, transport_options={"confirm_publish": True}, heartbeat=0)


def publish_event(connection: Connection, source: str, event_type: str, body: dict,
                  *, headers: dict | None = None) -> None:
    """Publish one nameko-compatible event; returns after the broker confirmed it."""
    from netsterk import metrics

    exchange = event_exchange(source)
    with producers[connection].acquire(block=True, timeout=10) as producer:
        producer.publish(
            body, exchange=exchange, routing_key=event_type, serializer="json",
            delivery_mode=2, declare=[exchange], retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
            headers=dict(headers or {}),
        )
    metrics.EVENTS_PUBLISHED.labels(source=source, event_type=event_type).inc()


def error_payload(exc: BaseException) -> dict:
    cls = type(exc)
    return {"exc_type": cls.__name__, "exc_path": f"{cls.__module__}.{cls.__name__}",
            "exc_args": [str(a) for a in exc.args], "value": str(exc)}


class RpcClient:
    """Blocking nameko-compatible RPC client on its own channel; one per thread."""

    def __init__(self, connection: Connection, *, timeout: float = 30.0, caller: str = "client"):
        self.connection = connection
        self.timeout = timeout
        self.routing_key = str(uuid.uuid4())
        self.queue = Queue(f"rpc.reply-{caller}-{self.routing_key}", exchange=RPC_EXCHANGE,
                           routing_key=self.routing_key, exclusive=True, auto_delete=True)
        self._replies: dict[str, dict] = {}
        self._channel = connection.channel()
        self._consumer = kombu.Consumer(self._channel, queues=[self.queue], accept=["json"],
                                        callbacks=[self._on_reply], no_ack=True)
        self._consumer.consume()

    def _on_reply(self, body, message):
        self._replies[message.properties.get("correlation_id")] = body

    def call(self, service: str, method: str, *args, **kwargs):
        from netsterk import metrics

        outcome = "error"
        try:
            result = self._call(service, method, *args, **kwargs)
            outcome = "ok"
            return result
        except RemoteError:
            outcome = "remote_error"
            raise
        finally:
            metrics.RPC_CLIENT_CALLS.labels(service=service, method=method, outcome=outcome).inc()

    def _call(self, service: str, method: str, *args, **kwargs):
        correlation_id = str(uuid.uuid4())
        producer = kombu.Producer(self._channel)
        try:
            producer.publish(
                {"args": list(args), "kwargs": kwargs}, exchange=RPC_EXCHANGE,
                routing_key=f"{service}.{method}", serializer="json", mandatory=True,
                reply_to=self.routing_key, correlation_id=correlation_id, declare=[RPC_EXCHANGE],
            )
        except Exception as exc:  # kombu raises on basic.return with confirms
            if "NO_ROUTE" in str(exc) or "312" in str(exc):
                raise UnknownService(service) from exc
            raise
        waited = 0.0
        while correlation_id not in self._replies:
            try:
                self.connection.drain_events(timeout=0.5)
            except socket.timeout:
                waited += 0.5
                if waited >= self.timeout:
                    raise RpcTimeout(f"{service}.{method} did not answer in {self.timeout}s")
        reply = self._replies.pop(correlation_id)
        if reply.get("error"):
            err = reply["error"]
            raise RemoteError(err.get("exc_type", "Error"), err.get("value", ""), err.get("exc_args"))
        return reply.get("result")

    def close(self):
        try:
            self._consumer.cancel()
            self._channel.close()
        except Exception:
            pass


def rpc_call(uri: str, service: str, method: str, *args, timeout: float = 30.0, **kwargs):
    """One-shot RPC call on a fresh connection (CLI, tests, activities)."""
    with connect(uri) as connection:
        client = RpcClient(connection, timeout=timeout)
        try:
            return client.call(service, method, *args, **kwargs)
        finally:
            client.close()


class ThreadConnections:
    """One open connection (and RPC reply queue) per thread, for callers that make many calls from
    a thread pool: the workflow activities. A fresh connection per call costs a TCP and AMQP
    handshake on both sides (py-spy: most of `send_email`'s time). A connection that failed is
    dropped, so the next call (the activity's retry) opens a new one."""

    def __init__(self, uri: str, *, caller: str = "client"):
        self.uri = uri
        self.caller = caller
        self._local = threading.local()

    def _open(self):
        state = getattr(self._local, "state", None)
        if state is None:
            connection = connect(self.uri)
            state = (connection, RpcClient(connection, caller=self.caller))
            self._local.state = state
        return state

    def reset(self) -> None:
        state = getattr(self._local, "state", None)
        self._local.state = None
        if state is not None:
            connection, client = state
            client.close()
            try:
                connection.release()
            except Exception:
                pass

    def call(self, service: str, method: str, *args, timeout: float = 30.0, **kwargs):
        try:
            _, client = self._open()
            client.timeout = timeout
            return client.call(service, method, *args, **kwargs)
        except (RemoteError, UnknownService):
            raise  # an answer (or no such service): the connection is fine
        except BaseException:
            self.reset()  # a timeout's late reply or a broken connection: start clean
            raise

    def publish(self, source: str, event_type: str, body: dict, *, headers: dict | None = None) -> None:
        try:
            connection, _ = self._open()
            publish_event(connection, source, event_type, body, headers=headers)
        except BaseException:
            self.reset()
            raise


DELIVERIES_HEADER = "x-netsterk-deliveries"
REDELIVERY_EXCHANGE = Exchange("netsterk.redelivery", type="fanout", durable=True)
REDELIVERY_DELAY_MS = 2000


def redelivery_queue() -> Queue:
    """Counted copies wait here REDELIVERY_DELAY_MS, then return to their queue (the default
    exchange and their routing key, which is that queue's name). The wait keeps the copy from
    arriving before the original's ack has left: a consumer dying in between would otherwise see
    the uncounted original again."""
    return Queue("netsterk.redelivery", exchange=REDELIVERY_EXCHANGE, durable=True,
                 queue_arguments={"x-message-ttl": REDELIVERY_DELAY_MS, "x-dead-letter-exchange": "",
                                  **durable_queue_arguments()})


def redelivery_verdict(producer: kombu.Producer, message, queue_name: str, limit: int) -> str:
    """The delivery limit for classic queues (quorum queues count deliveries themselves, but a
    classic queue redelivers a message whose consumer died before the ack without end).

    A first delivery is processed ("process"). A redelivered one is counted: below the limit a copy
    carrying the count goes back to its queue after a short wait (redelivery_queue), confirmed
    ("requeued": ack the original, do not process it); at the limit the caller parks it in the
    dead-letter queue ("limit"). Messages that were merely in flight beside the culprit when the
    consumer died are counted too, and come back after the same wait.
    Only redeliveries pay anything; a crash between the copy and the ack leaves two copies, which
    the idempotent consumers absorb."""
    if not message.delivery_info.get("redelivered"):
        return "process"
    headers = dict(message.headers or {})
    deliveries = int(headers.get(DELIVERIES_HEADER, 1)) + 1
    if deliveries > limit:
        return "limit"
    headers[DELIVERIES_HEADER] = deliveries
    properties = {k: v for k, v in message.properties.items()
                  if k in ("reply_to", "correlation_id") and v}
    producer.publish(message.body, exchange=REDELIVERY_EXCHANGE, routing_key=queue_name,
                     headers=headers, delivery_mode=2, declare=[redelivery_queue()], content_type=message.content_type or "application/json",
                     content_encoding=message.content_encoding or "utf-8", **properties)
    return "requeued"


def deliveries_of(message) -> int:
    return int((message.headers or {}).get(DELIVERIES_HEADER, 1)) + (
        1 if message.delivery_info.get("redelivered") else 0)


def dead_letter_arguments(queue_name: str) -> dict:
    """Arguments of a durable queue that dead-letters to `<queue>.dlq` (quorum when configured)."""
    return {"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
            "x-dead-letter-routing-key": f"{queue_name}.dlq", **durable_queue_arguments()}


def dead_letter_queue(queue_name: str) -> Queue:
    return Queue(f"{queue_name}.dlq", exchange=DEAD_LETTER_EXCHANGE,
                 routing_key=f"{queue_name}.dlq", durable=True,
                 queue_arguments=durable_queue_arguments())


def rpc_server_queue(service: str) -> Queue:
    return Queue(f"rpc-{service}", exchange=RPC_EXCHANGE, routing_key=f"{service}.*", durable=True,
                 queue_arguments=durable_queue_arguments())


def reply(producer: kombu.Producer, message, *, result=None, error: dict | None = None) -> None:
    """Answer an RPC request the way a nameko service does (and count it for netsterk.metrics)."""
    from netsterk import metrics

    producer.publish({"result": result, "error": error}, exchange=RPC_EXCHANGE,
                     routing_key=message.properties["reply_to"], serializer="json",
                     correlation_id=message.properties.get("correlation_id"))
    service, _, method = message.delivery_info.get("routing_key", "").rpartition(".")
    metrics.rpc_served(service, method, "error" if error else "ok")


def method_of(message) -> str:
    return message.delivery_info["routing_key"].split(".")[-1]

