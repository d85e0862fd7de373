"""Benchmark: how fast intake validates and stores referrals (one write path: referral row +
outbox row in one transaction), and how fast the outbox relay publishes them with publisher
confirms to a real RabbitMQ. Prints figures and ratios against a baseline measured in the same
process (validation only; a plain publish without confirms). Never asserts on time.

    .venv/bin/python -m bench.bench_intake [--n 500]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import kombu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="netsterk-bench-")
    os.environ["NETSTERK_VAR_DIR"] = tmp

    from sqlalchemy.orm import sessionmaker

    from netsterk import amqp
    from netsterk.db import make_engine, relay_outbox, session_scope, upgrade
    from netsterk.envelope import make_envelope
    from netsterk.settings import get_settings
    from netsterk.testing import rabbit_vhost
    from services.intake import domain
    from services.intake.models import Outbox
    from services.intake.schemas import validate_referral
    from services.intake.tests.test_schemas import valid

    settings = get_settings()
    upgrade("intake")
    engine = make_engine(settings.database_url("intake"))
    factory = sessionmaker(engine, expire_on_commit=False)
    categories = ["truancy", "motivation", "home_situation"]
    with session_scope(factory) as session:
        domain.upsert_network(session, "mechelen", "Mechelen", categories)

    start = time.perf_counter()
    for _ in range(args.n):
        validate_referral(valid(), categories=categories)
    validate_s = time.perf_counter() - start

    start = time.perf_counter()
    for _ in range(args.n):
        with session_scope(factory) as session:
            clean, _errors = validate_referral(valid(), categories=categories)
            domain.submit_referral(session, clean)
    store_s = time.perf_counter() - start

    with rabbit_vhost("netsterk_bench") as uri, amqp.connect(uri) as connection:
        start = time.perf_counter()
        published = relay_outbox(factory, Outbox, connection, limit=args.n)
        relay_s = time.perf_counter() - start
        channel = connection.channel()
        producer = kombu.Producer(channel)
        exchange = amqp.event_exchange("bench")
        exchange(channel).declare()
        body = make_envelope("referral_submitted", {"x": 1})
        start = time.perf_counter()
        for _ in range(args.n):
            producer.publish(body, exchange=exchange, routing_key="x", serializer="json")
        plain_s = time.perf_counter() - start

    print(f"referrals: {args.n} (SQLite at {tmp})")
    print(f"validate only (baseline)      {args.n / validate_s:10.0f} /s")
    print(f"validate + store + outbox     {args.n / store_s:10.0f} /s   "
          f"ratio to baseline {store_s / validate_s:6.1f}x slower")
    print(f"relay {published} with confirms    {published / relay_s:10.0f} /s")
    print(f"publish only (baseline)       {args.n / plain_s:10.0f} /s   "
          f"ratio relay/plain {relay_s / plain_s:6.1f}x slower")
    engine.dispose()


if __name__ == "__main__":
    main()
