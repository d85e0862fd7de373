"""Benchmark: the message layer. N events through our path (an outbox row per event in the
service's database, relayed with publisher confirms by netsterk.db.relay_outbox, consumed by an
idempotent consumer that claims the message id in its own database and acks after the commit)
next to bare kombu on the same broker in the same run (persistent publish with confirms, consume
and ack). Never asserts on time.

    .venv/bin/python -m bench.bench_messages [--n 2000]
"""
from __future__ import annotations

import argparse
import os
import socket
import tempfile
import time

import kombu


def drain(connection, queue: kombu.Queue, n: int, on_message) -> float:
    """Consume n messages from `queue` (prefetch 100); seconds taken."""
    done = []

    def callback(body, message):
        on_message(body)
        message.ack()
        done.append(1)

    channel = connection.channel()
    channel.basic_qos(0, 100, False)
    start = time.perf_counter()
    with kombu.Consumer(channel, queues=[queue], accept=["json"], callbacks=[callback]):
        while len(done) < n:
            try:
                connection.drain_events(timeout=10)
            except socket.timeout:
                raise RuntimeError(f"only {len(done)} of {n} messages arrived")
    return time.perf_counter() - start


def run(n: int = 2000) -> list[dict]:
    os.environ.setdefault("NETSTERK_VAR_DIR", tempfile.mkdtemp(prefix="netsterk-bench-msg-"))
    from sqlalchemy.orm import sessionmaker

    from netsterk import amqp
    from netsterk.db import claim_message, make_engine, relay_outbox, session_scope, upgrade
    from netsterk.envelope import make_envelope
    from netsterk.settings import get_settings
    from netsterk.testing import rabbit_vhost
    from services.intake.models import Outbox
    from services.reporting.models import ProcessedMessage

    settings = get_settings()
    for service in ("intake", "reporting"):
        upgrade(service)
    producer_db = sessionmaker(make_engine(settings.database_url("intake")), expire_on_commit=False)
    consumer_db = sessionmaker(make_engine(settings.database_url("reporting")), expire_on_commit=False)
    envelopes = [make_envelope("bench_event", {"i": i, "referral_id": f"r-{i}"}, network="mechelen")
                 for i in range(n)]
    exchange = amqp.event_exchange("bench")

    with rabbit_vhost("netsterk_bench_msg") as uri, amqp.connect(uri) as connection:
        ours_q = kombu.Queue("bench-ours", exchange=exchange, routing_key="bench_event", durable=True)
        bare_q = kombu.Queue("bench-bare", exchange=exchange, routing_key="bare_event", durable=True)
        for queue in (ours_q, bare_q):
            queue(connection.channel()).declare()

        def ours(batch: list[dict]) -> tuple[float, float]:
            """outbox write (one transaction per event, as a service does), relay, idempotent consume"""
            start = time.perf_counter()
            for envelope in batch:
                with session_scope(producer_db) as session:
                    session.add(Outbox(message_id=envelope["message_id"], source="bench",
                                       event_type="bench_event", body=envelope))
            relayed = 0
            while relayed < len(batch):
                relayed += relay_outbox(producer_db, Outbox, connection, limit=500)

            def apply(body):
                with session_scope(consumer_db) as session:
                    claim_message(session, ProcessedMessage, body["message_id"], "bench.consumer")

            consumed = drain(connection, ours_q, len(batch), apply)
            return time.perf_counter() - start, consumed

        def bare(batch: list[dict]) -> float:
            """bare kombu: persistent publish with confirms, consume, ack"""
            start = time.perf_counter()
            producer = kombu.Producer(connection.channel())
            for envelope in batch:
                producer.publish(envelope, exchange=exchange, routing_key="bare_event",
                                 serializer="json", delivery_mode=2)
            drain(connection, bare_q, len(batch), lambda body: None)
            return time.perf_counter() - start

        warm = [make_envelope("bench_event", {"i": -i}, network="mechelen") for i in range(1, 51)]
        ours(warm), bare(warm)          # imports and first connections out of the measurement
        ours_s, consumed_s = ours(envelopes)
        bare_s = bare(envelopes)

    ours, bare = n / ours_s, n / bare_s
    return [
        {"name": "messages.outbox_consumer_rate", "value": round(ours, 1), "unit": "events/s",
         "baseline": {"name": "bare kombu publish(confirm)+consume", "value": round(bare, 1),
                      "ratio": round(ours / bare, 3), "aim_ratio": 0.5}},
        {"name": "messages.idempotent_consume_rate", "value": round(n / consumed_s, 1), "unit": "events/s",
         "baseline": None},
        {"name": "messages.n", "value": n, "unit": "events", "baseline": None},
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    for row in run(parser.parse_args().n):
        print(row)


if __name__ == "__main__":
    main()
