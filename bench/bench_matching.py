"""Benchmark: ranking against a directory of 10,000 offers. Prints p50/p99 latency of
- the ranking in process (domain.rank_offers on a session: version check, exclusions, scoring,
  explanations of the returned candidates), and the pure scoring on the prepared index;
- `matching.rank_offers` through RabbitMQ RPC (a real nameko container on a throw-away vhost);
- a bare nameko RPC round trip (a method that returns at once) measured in the same run.
Never asserts on time. Aim (issue 5): in-process p99 < 10 ms; RPC p99 within 3 ms of the bare trip.

    .venv/bin/python -m bench.bench_matching [--offers 10000] [--n 300]
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def requests_for(n: int) -> list[dict]:
    rng = random.Random(7)
    categories = ["truancy", "motivation", "home_situation", "wellbeing", "learning", "leisure"]
    return [{"network": "mechelen", "categories": rng.sample(categories, rng.randint(1, 2)),
             "postcode": rng.choice(["2800", "2801", "2811", "2812"]), "age": rng.randint(6, 20),
             "school_level": rng.choice(["primary", "secondary", "special_needs"]),
             "languages": rng.sample(["nl", "ar", "fr", "tr", "ro"], rng.randint(1, 2)),
             "urgency": rng.choice(["normal", "urgent"]), "exclude_organisation_ids": []}
            for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--offers", type=int, default=10000)
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="netsterk-bench-")
    os.environ["NETSTERK_VAR_DIR"] = tmp

    from nameko.containers import ServiceContainer
    from nameko.rpc import rpc
    from nameko.standalone.rpc import ServiceRpcProxy
    from sqlalchemy.orm import sessionmaker

    from netsterk.db import make_engine, session_scope, upgrade
    from netsterk.settings import get_settings
    from netsterk.testing import rabbit_vhost
    from netsterk_ops import demo
    from services.matching import domain, ranking
    from services.matching.service import MatchingService

    class Bare:
        name = "bench_bare"

        @rpc
        def ping(self, request):
            return None

    settings = get_settings()
    upgrade("matching")
    engine = make_engine(settings.database_url("matching"))
    factory = sessionmaker(engine, expire_on_commit=False)
    seed_count = sum(len(o["offers"]) for o in demo.ORGANISATIONS)
    start = time.perf_counter()
    with session_scope(factory) as session:
        domain.import_directory(session, "mechelen", demo.ORGANISATIONS)
        domain.import_directory(session, "mechelen", demo.extra_organisations(args.offers - seed_count))
    import_s = time.perf_counter() - start
    requests = requests_for(args.n)

    with session_scope(factory) as session:   # warm the prepared index once, as a running service does
        domain.rank_offers(session, requests[0])
        index, rules = domain.ranking_input(session, "mechelen")
    offers = len(index["offers"])
    pure, in_process, candidates = [], [], []
    for request in requests:
        from services.matching.schemas import validate_rank_request
        clean = validate_rank_request(request)
        t0 = time.perf_counter()
        ranking.rank(clean, index, rules)
        pure.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with session_scope(factory) as session:
            found = domain.rank_offers(session, request)
        in_process.append(time.perf_counter() - t0)
        candidates.append(len(found))

    with rabbit_vhost("netsterk_bench") as uri:
        config = {"AMQP_URI": uri, "serializer": "json", "DATABASE_URL": settings.database_url("matching")}
        containers = [ServiceContainer(MatchingService, config), ServiceContainer(Bare, config)]
        for container in containers:
            container.start()
        try:
            bare, over_rpc = [], []
            with ServiceRpcProxy("matching", {"AMQP_URI": uri}) as matching, \
                    ServiceRpcProxy("bench_bare", {"AMQP_URI": uri}) as bare_proxy:
                for request in requests[:20]:   # warm up connections and the service's index
                    matching.rank_offers(request)
                    bare_proxy.ping(request)
                for request in requests:        # interleaved: both see the same broker load
                    t0 = time.perf_counter()
                    bare_proxy.ping(request)
                    bare.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    matching.rank_offers(request)
                    over_rpc.append(time.perf_counter() - t0)
        finally:
            for container in containers:
                container.stop()
    engine.dispose()

    rows = [("pure scoring on the prepared index", pure), ("rank_offers in process (session)", in_process),
            ("bare nameko RPC round trip", bare), ("matching.rank_offers over RPC", over_rpc)]
    print(f"offers: {offers} active in the index ({args.offers} imported in {import_s:.1f} s, SQLite at {tmp})")
    print(f"requests: {args.n}, candidates per answer: median {statistics.median(candidates):.0f}")
    print(f"{'':38} {'p50 ms':>8} {'p99 ms':>8}")
    for name, samples in rows:
        p50, p99 = percentiles(samples)
        print(f"{name:38} {p50:8.2f} {p99:8.2f}")
    rpc50, rpc99 = percentiles(over_rpc)
    bare50, bare99 = percentiles(bare)
    print(f"RPC above the bare round trip: p50 +{rpc50 - bare50:.2f} ms, p99 +{rpc99 - bare99:.2f} ms")


if __name__ == "__main__":
    main()
