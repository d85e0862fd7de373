"""Benchmark: scale-out. Do two instances share the work, and how much faster are they?

1. Competing consumers: reporting (a real service process, `netsterk_ops.run_service`) with one
   and then two replicas on the same queues (PostgreSQL, a throw-away vhost). M referral_submitted
   events are published; measured from the first publish until all M facts are in reporting's
   database. Each replica's share comes from its own /metrics.
2. Workflow workers: one and then two worker processes (bench/bare_worker.py) polling the same
   task queue of one Temporal dev server; M workflows of A activities each started at once,
   measured until the last result; each activity returns its worker's pid, giving the shares.

Printed and returned as rows: the rate with two next to the rate with one (ratio). On this 2-core
machine the broker, the database and the Temporal server share the same cores, so two instances
cannot double the rate; the shares show that the work is split. Never asserts on time.

    .venv/bin/python -m bench.bench_scaleout [--events 2000] [--workflows 200]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections import Counter
from pathlib import Path

import requests

from netsterk.settings import REPO_ROOT

PYTHON = sys.executable
CONSUMER = "reporting.on_referral_submitted"


def _env(**values) -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1",
            "NETSTERK_LOG_LEVEL": "WARNING", **values}


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


# --- 1. competing consumers ------------------------------------------------------------------

def submitted(index: int) -> dict:
    from netsterk.envelope import make_envelope

    return make_envelope("referral_submitted", {
        "referral_id": str(uuid.uuid4()), "ref": f"NS-2026-{index:06d}", "network": "mechelen",
        "channel": "web", "categories": ["truancy"], "postcode": "2800", "age": 12 + index % 8,
        "school_level": "secondary", "languages": ["nl"], "urgency": "normal",
        "school_efforts_done": True, "reporter_lang": "nl",
        "submitted_at": "2026-11-24T08:00:00+00:00"}, network="mechelen",
        referral_ref=f"NS-2026-{index:06d}")


def queue_consumers(amqp_uri: str, queue: str) -> int:
    from netsterk.testing import RABBIT_API

    vhost = urllib.parse.urlparse(amqp_uri.replace("pyamqp://", "amqp://")).path.lstrip("/")
    response = requests.get(f"{RABBIT_API}/api/queues/{urllib.parse.quote(vhost, safe='')}/"
                            f"{urllib.parse.quote(queue, safe='')}", auth=("guest", "guest"), timeout=10)
    return response.json().get("consumers", 0) if response.ok else 0


def consumed_by(port: int) -> int:
    from netsterk import metrics

    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return int(sum(value for name, labels, value in metrics.parse(text)
                   if name == "netsterk_messages_consumed_total"
                   and labels.get("consumer") == CONSUMER and labels.get("outcome") == "applied"))


def consumers_rate(replicas: int, events: int) -> tuple[float, list[int]]:
    import psycopg

    from netsterk import amqp
    from netsterk.testing import create_postgres_database, free_port, rabbit_vhost, wait_until

    url, drop = create_postgres_database()
    metrics_ports = [free_port() for _ in range(replicas)]
    try:
        with rabbit_vhost("netsterk_bench_scale") as amqp_uri:
            web_port = free_port()
            processes = [subprocess.Popen(
                [PYTHON, "-m", "netsterk_ops.run_service", "reporting"], cwd=REPO_ROOT,
                env=_env(NETSTERK_AMQP_URI=amqp_uri, NETSTERK_REPORTING_DATABASE_URL=url,
                         NETSTERK_REPORTING_PORT=str(web_port), NETSTERK_METRICS_PORT=str(port),
                         NETSTERK_VAR_DIR=tempfile.mkdtemp(prefix="netsterk-bench-scale-")),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for port in metrics_ports]
            try:
                queue = amqp.event_queue_name("intake", "referral_submitted", "reporting",
                                              "on_referral_submitted")
                wait_until(lambda: queue_consumers(amqp_uri, queue) == replicas, timeout=180,
                           what=f"{replicas} reporting consumers")
                bodies = [submitted(i) for i in range(events)]
                plain = url.replace("postgresql+psycopg://", "postgresql://")
                with psycopg.connect(plain, autocommit=True) as db, amqp.connect(amqp_uri) as connection:
                    started = time.monotonic()
                    for body in bodies:
                        amqp.publish_event(connection, "intake", "referral_submitted", body)
                    count = lambda: db.execute("SELECT count(*) FROM referral_fact").fetchone()[0]  # noqa: E731
                    wait_until(lambda: count() >= events, timeout=max(600, events), interval=0.2,
                               what="every fact stored")
                    seconds = time.monotonic() - started
                shares = [consumed_by(port) for port in metrics_ports]
            finally:
                _stop(processes)
    finally:
        drop()
    return events / seconds, shares


# --- 2. workflow workers ---------------------------------------------------------------------

async def _drive(address: str, queue: str, workflows: int, activities: int) -> tuple[float, list[int]]:
    from temporalio.client import Client

    client = await Client.connect(address)
    started = time.monotonic()
    handles = await asyncio.gather(*(client.start_workflow(
        "BenchSharedWorkflow", activities, id=f"bench-scale-{uuid.uuid4().hex}", task_queue=queue)
        for _ in range(workflows)))
    results = await asyncio.gather(*(handle.result() for handle in handles))
    return workflows / (time.monotonic() - started), [pid for pids in results for pid in pids]


def workers_rate(address: str, replicas: int, workflows: int, activities: int) -> tuple[float, list[int]]:
    queue = f"bench-scale-{replicas}-{uuid.uuid4().hex[:8]}"
    processes = [subprocess.Popen([PYTHON, "-m", "bench.bare_worker", address, queue], cwd=REPO_ROOT,
                                  env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for _ in range(replicas)]
    try:
        for process in processes:
            line = process.stdout.readline()
            assert "worker ready" in line, line
        asyncio.run(_drive(address, queue, 4, activities))          # warm up every worker
        rate, pids = asyncio.run(_drive(address, queue, workflows, activities))
    finally:
        _stop(processes)
    by_worker = Counter(pids)
    return rate, [by_worker.get(p.pid, 0) for p in processes]


def temporal_server(folder: Path) -> tuple[str, subprocess.Popen]:
    from netsterk.testing import free_port, wait_until
    from netsterk_ops.stack import TEMPORAL_SQLITE_PRAGMAS, _answers, temporal_binary

    port = free_port()
    process = subprocess.Popen([temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port",
                                str(port), "--headless", "--db-filename", str(folder / "temporal.db"),
                                "--log-level", "warn", *TEMPORAL_SQLITE_PRAGMAS], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: _answers("127.0.0.1", port), timeout=60, what="the Temporal dev server")
    return f"127.0.0.1:{port}", process


def run(events: int = 2000, workflows: int = 200, activities: int = 4) -> list[dict]:
    one_c, shares_1c = consumers_rate(1, events)
    two_c, shares_2c = consumers_rate(2, events)
    address, server = temporal_server(Path(tempfile.mkdtemp(prefix="netsterk-bench-temporal-")))
    try:
        one_w, shares_1w = workers_rate(address, 1, workflows, activities)
        two_w, shares_2w = workers_rate(address, 2, workflows, activities)
    finally:
        _stop([server])
    print(f"scale-out: reporting 1 replica {one_c:.1f} events/s {shares_1c}, 2 replicas "
          f"{two_c:.1f} events/s, per replica {shares_2c}; workers 1: {one_w:.2f} workflows/s, "
          f"2: {two_w:.2f} workflows/s, activities per worker {shares_2w}")
    return [
        {"name": f"scale-out: reporting, 2 replicas competing for {events} referral_submitted "
                 f"events (PostgreSQL); per replica {shares_2c}", "value": round(two_c, 1),
         "unit": "events/s", "baseline": {"name": "1 replica, same events", "value": round(one_c, 1),
                                          "ratio": round(two_c / one_c, 2)}},
        {"name": f"scale-out: 2 workflow workers on one task queue, {workflows} workflows of "
                 f"{activities} activities; activities per worker {shares_2w}",
         "value": round(two_w, 2), "unit": "workflows/s",
         "baseline": {"name": "1 worker, same workflows", "value": round(one_w, 2),
                      "ratio": round(two_w / one_w, 2)}},
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--workflows", type=int, default=200)
    args = parser.parse_args(argv)
    for row in run(args.events, args.workflows):
        print(row)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
