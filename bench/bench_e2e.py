"""Benchmark: end to end on the real stack (netsterk_ops.stack.Stack, as `make run` starts it, on a
throw-away vhost, free ports and a temporary data folder): N referrals submitted over the intake
API by a few concurrent clients; a coordinator (threads on the portal API) triages each referral
as soon as it can and picks its best-ranked offer; measured until the partner's engagement request
(intake -> outbox -> RabbitMQ -> bridge -> Temporal -> worker -> matching -> portal action ->
bridge -> workflow update -> notifications -> SMTP) is a file in the mail sink. Sustained rate (referrals whose mail arrived / seconds from the
first submit to the last mail) and p50/p99 of submit -> mail. Nothing may be lost: every
referral's mail must arrive. Never asserts on time.

    .venv/bin/python -m bench.bench_e2e [--n 1000] [--clients 1]
"""
from __future__ import annotations

import argparse
import re
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from email.parser import BytesHeaderParser
from pathlib import Path


REF = re.compile(r"NS-\d{4}-\d{6}")
AIM_RATE, AIM_P99 = 100.0, 1.0


def letters(index: int) -> str:
    """A distinct name per index (Ba, Be, ... Baba, ...): one young person per referral."""
    syllables = [c + v for c in "BDKLMNPRSTVW" for v in "aeiou"]
    word = ""
    while True:
        word += syllables[index % len(syllables)]
        index //= len(syllables)
        if not index:
            return word.capitalize()


def referral(index: int) -> dict:
    return {
        "network": "mechelen", "reporter_name": "Lies Wouters",
        "reporter_organisation": "Sint-Romboutscollege", "reporter_role": "zorgcoördinator",
        "reporter_email": f"zorg{index % 50}@school.example.org", "reporter_is_school": True,
        "first_name": "Noor", "last_name": f"Van {letters(index)}",
        "birth_date": f"20{10 + index % 6}-0{1 + index % 9}-1{index % 10}",
        "school_level": "secondary", "postcode": "2800", "languages": ["nl"], "categories": ["truancy"],
        "description": "Komt sinds weken niet meer naar de les.",
        "school_efforts": "Twee telefoons en een brief naar de ouders.",
        "school_efforts_when": "3/11 en 5/11", "school_efforts_result": "Geen contact", "consent": "parents",
    }


@contextmanager
def bench_stack(var_dir: Path | None = None):
    from netsterk import amqp
    from netsterk.settings import Settings
    from netsterk.testing import free_port, rabbit_vhost
    from netsterk_ops import demo
    from netsterk_ops.stack import Stack

    var_dir = var_dir or Path(tempfile.mkdtemp(prefix="netsterk-bench-e2e-"))
    with rabbit_vhost("netsterk_bench_e2e") as amqp_uri:
        env = {"NETSTERK_VAR_DIR": str(var_dir), "NETSTERK_AMQP_URI": amqp_uri,
               "NETSTERK_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
               "NETSTERK_TEMPORAL_TASK_QUEUE": "referrals-bench", "NETSTERK_LOG_LEVEL": "WARNING",
               "NETSTERK_INTAKE_RATE_LIMIT": "0"}   # load from one address on purpose
        for name in ("PORTAL_PORT", "INTAKE_PORT", "REPORTING_PORT", "MAILSINK_HTTP_PORT", "SMTP_PORT",
                     "INTAKE_SMTP_PORT"):
            env[f"NETSTERK_{name}"] = str(free_port())
        settings = Settings(**{k.removeprefix("NETSTERK_").lower(): v for k, v in env.items()})
        stack = Stack(settings, env, echo=False, temporal_ui=False)
        try:
            stack.start()
            stack.wait_ready(timeout=180)
            demo.seed(lambda service, method, *a, **kw: amqp.rpc_call(amqp_uri, service, method, *a,
                                                                       timeout=30, **kw))
            yield settings, stack
        finally:
            stack.stop()


class SinkWatcher(threading.Thread):
    """Notes when each referral's first mail became a file in the sink (file mtime), and when its
    first mail to someone else than the reporter and the coordinator did: the partner's
    engagement request."""

    def __init__(self, directory: Path, *, not_partner: tuple[str, ...] = ("@school.example.org",)):
        super().__init__(daemon=True)
        self.directory = directory
        self.arrived: dict[str, float] = {}
        self.partner: dict[str, float] = {}
        self.not_partner = not_partner
        self.seen: set[str] = set()
        self.stop = threading.Event()

    def scan(self) -> None:
        if not self.directory.exists():
            return
        for path in self.directory.glob("*.eml"):
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            with open(path, "rb") as handle:
                headers = BytesHeaderParser().parse(handle)
            found = REF.search(str(headers.get("Subject", "")))
            if not found:
                continue
            ref, at = found.group(0), path.stat().st_mtime
            self.arrived.setdefault(ref, at)
            to = str(headers.get("To", "")).lower()
            if to and not any(marker in to for marker in self.not_partner):
                self.partner.setdefault(ref, at)

    def run(self) -> None:
        while not self.stop.wait(0.2):
            self.scan()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def drive(settings, n: int, clients: int, timeout: float, *, to_partner: bool = True,
          drivers: int = 8) -> dict:
    """Submit n referrals over the API; with to_partner, a coordinator (`drivers` threads on the
    portal API) triages each one as soon as it is in triage and picks its best-ranked offer, and
    a referral counts when the partner's engagement request is in the sink."""
    from bench.coordinator import Coordinator

    not_partner = ("@school.example.org", settings.coordinator_email.lower() or "\0")
    watcher = SinkWatcher(settings.var_dir / "mailsink", not_partner=not_partner)
    watcher.start()
    submitted: dict[str, float] = {}
    steering = ThreadPoolExecutor(drivers)
    steered: list = []

    coordinator = Coordinator(settings.portal_url, timeout=timeout)
    http = coordinator.http

    def one(index: int) -> None:
        at = time.time()
        response = http().post(f"{settings.intake_url}/api/v1/referrals", json=referral(index), timeout=120)
        if response.status_code != 201:
            raise RuntimeError(f"submit {index}: {response.status_code} {response.text[:200]}")
        submitted[response.json()["ref"]] = at
        if to_partner:
            steered.append(steering.submit(coordinator.to_partner, response.json()["id"]))

    arrived = watcher.partner if to_partner else watcher.arrived
    start = time.time()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(n)))
    submit_s = time.time() - start
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not set(submitted) <= set(arrived):
        time.sleep(0.5)
    steering.shutdown(wait=False, cancel_futures=True)
    failures = [f.exception() for f in steered if f.done() and not f.cancelled() and f.exception()]
    watcher.stop.set()
    watcher.join()
    watcher.scan()
    done = {ref: arrived[ref] - at for ref, at in submitted.items() if ref in arrived}
    last = max((arrived[ref] for ref in done), default=start)
    return {"n": n, "submit_s": submit_s, "arrived": len(done), "lost": n - len(done),
            "rate": len(done) / (last - start) if done else 0.0, "driver_errors": len(failures),
            "p50": percentile(list(done.values()), 0.5) if done else None,
            "p99": percentile(list(done.values()), 0.99) if done else None}


def run(n: int = 1000, clients: int = 1) -> list[dict]:
    """One client by default: intake on SQLite answers concurrent submits with `database is
    locked` after its 30 s busy timeout (see bench/README.md), which this figure must not hide."""
    with bench_stack() as (settings, _stack):
        drive(settings, 10, 2, 120)      # warm up: caches, connections, the first workflow tasks
        result = drive(settings, n, clients, timeout=max(300.0, n * 0.5))
    print(f"e2e: {n} referrals to the partner's e-mail: {result['rate']:.2f}/s, p50 {result['p50']}, "
          f"p99 {result['p99']}, lost {result['lost']}, driver errors {result['driver_errors']}")
    aim = lambda v: {"name": "issue 11 aim", "value": v}  # noqa: E731
    return [
        {"name": f"e2e.rate_{n}", "value": round(result["rate"], 2), "unit": "referrals/s", "baseline": aim(AIM_RATE)},
        {"name": f"e2e.p50_{n}", "value": round(result["p50"], 3), "unit": "s", "baseline": None},
        {"name": f"e2e.p99_{n}", "value": round(result["p99"], 3), "unit": "s", "baseline": aim(AIM_P99)},
        {"name": f"e2e.submit_rate_{n}", "value": round(n / result["submit_s"], 2), "unit": "referrals/s",
         "baseline": None},
        {"name": f"e2e.lost_{n}", "value": result["lost"], "unit": "referrals", "baseline": aim(0)},
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=1)
    args = parser.parse_args()
    for row in run(args.n, args.clients):
        print(row)


if __name__ == "__main__":
    main()
