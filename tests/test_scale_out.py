"""Several replicas on one machine: two of every nameko service, two bridges and two Temporal
workers (netsterk_ops.stack.Stack(replicas=2)), quorum queues on (NETSTERK_QUORUM_QUEUES=1),
every process serving its own /metrics. A batch of referrals goes through the real stack:
submitted over the intake API, triaged and matched through the portal API, accepted by the
partner through the link in the e-mail. Then:

- the work was shared: every replica handled some of it (its own /metrics says what);
- nothing happened twice: one workflow per referral, one partner e-mail per engagement, every
  event published once, reporting's counts exact.

The fast tests beside it check the pieces: quorum-capable entrypoints in every service, the
queue arguments, and outbox relays racing on one table (PostgreSQL and SQLite).
"""
from __future__ import annotations

import asyncio
import re
import threading
import urllib.parse
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from netsterk import amqp, metrics
from netsterk.settings import SERVICES, Settings
from netsterk.testing import RABBIT_API, create_postgres_database, free_port, free_port_range, rabbit_vhost, wait_until
from services.portal.testing import anonymous_post

REPLICAS = 2
BATCH = 20
COORDINATOR = ("coordinator", "netsterk-demo")
LAST_NAMES = ["Aerts", "Baert", "Claes", "De Smet", "Dubois", "Goossens", "Hermans", "Jacobs",
              "Lambert", "Maes", "Martens", "Mertens", "Michiels", "Peeters", "Pauwels",
              "Segers", "Thys", "Vermeulen", "Willems", "Wouters"]


def vhost_of(amqp_uri: str) -> str:
    return urllib.parse.urlparse(amqp_uri.replace("pyamqp://", "amqp://")).path.lstrip("/")


def rabbit_queue(vhost: str, name: str) -> dict:
    response = requests.get(f"{RABBIT_API}/api/queues/{urllib.parse.quote(vhost, safe='')}/"
                            f"{urllib.parse.quote(name, safe='')}", auth=("guest", "guest"), timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def scaled_stack(tmp_path_factory):
    from netsterk_ops import demo
    from netsterk_ops.stack import Stack

    var_dir = tmp_path_factory.mktemp("var-scale")
    with rabbit_vhost("netsterk_scale") as amqp_uri:
        env = {
            "NETSTERK_VAR_DIR": str(var_dir),
            "NETSTERK_DIGESTS": "off",   # on by default; a test sink holds only what the test caused
            "NETSTERK_AMQP_URI": amqp_uri,
            "NETSTERK_QUORUM_QUEUES": "1",
            "NETSTERK_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
            "NETSTERK_TEMPORAL_TASK_QUEUE": "referrals-scale",
            "NETSTERK_PORTAL_PORT": str(free_port()),
            "NETSTERK_INTAKE_PORT": str(free_port()),
            "NETSTERK_INTAKE_RATE_LIMIT": "0",   # load from one address on purpose (issue 10's limit off)
            "NETSTERK_REPORTING_PORT": str(free_port()),
            "NETSTERK_MAILSINK_HTTP_PORT": str(free_port()),
            "NETSTERK_SMTP_PORT": str(free_port()),
            "NETSTERK_METRICS_PORT": str(free_port_range(3 + REPLICAS * (len(SERVICES) + 2))),
            "NETSTERK_LOG_LEVEL": "INFO",
        }
        drops = []
        for service in SERVICES:  # the replicas share real PostgreSQL databases, as in production
            url, drop = create_postgres_database()
            drops.append(drop)
            env[f"NETSTERK_{service.upper()}_DATABASE_URL"] = url
        settings = Settings(**{k.removeprefix("NETSTERK_").lower(): v for k, v in env.items()})
        stack = Stack(settings, env, echo=False, temporal_ui=False, replicas=REPLICAS)
        try:
            stack.start()
            stack.wait_ready(timeout=240)
            # every replica is up: its /metrics answers and it consumes its queues
            for name, port in stack.metrics_ports.items():
                wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/metrics", timeout=3).ok,
                           timeout=120, what=f"/metrics of {name}")
            vhost = vhost_of(amqp_uri)
            for service in (*SERVICES, "workflow_bridge"):
                wait_until(lambda: rabbit_queue(vhost, f"rpc-{service}")["consumers"] == REPLICAS,
                           timeout=120, what=f"{REPLICAS} consumers on rpc-{service}")
            demo.seed(lambda service, method, *a, **kw: amqp.rpc_call(
                amqp_uri, service, method, *a, timeout=30, **kw))
            # 20 referrals ranked at once would outrun the demo's monthly places (accepts are
            # refused when an offer is full, tested elsewhere): room enough for this batch
            roomy = [dict(org, offers=[dict(o, capacity=100) for o in org["offers"]])
                     for org in demo.ORGANISATIONS]
            amqp.rpc_call(amqp_uri, "matching", "import_directory", demo.NETWORK["code"], roomy, timeout=30)
            yield settings, stack
        except BaseException:
            dump_logs(stack)
            raise
        finally:
            stack.stop()
            for drop in drops:
                drop()


def dump_logs(stack, lines: int = 30) -> None:
    for log in sorted(stack.log_dir.glob("*.log")):
        print(f"----- {log.name} (tail)\n" + "".join(log.read_text().splitlines(True)[-lines:]))


def scrape(stack) -> dict[str, list[tuple[str, dict, float]]]:
    return {name: metrics.parse(requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
            for name, port in stack.metrics_ports.items()}


def total(samples, name: str, **labels) -> float:
    return sum(value for sample, got, value in samples
               if sample == name and all(got.get(k) == v for k, v in labels.items()))


def referral_json(index: int) -> dict:
    return {
        "network": "mechelen", "reporter_name": "Lies Wouters",
        "reporter_organisation": "Sint-Romboutscollege", "reporter_role": "zorgcoördinator",
        "reporter_email": f"zorg{index}@school.example.org", "reporter_is_school": True,
        "first_name": "Noor", "last_name": LAST_NAMES[index % len(LAST_NAMES)],
        "birth_date": f"2010-0{1 + index % 9}-1{index % 10}", "school_level": "secondary",
        "postcode": "2800", "languages": ["nl"], "categories": ["truancy"],
        "description": "Komt sinds weken niet meer naar de les.",
        "school_efforts": "Twee telefoons en een brief naar de ouders.",
        "school_efforts_when": "3/11 en 5/11", "school_efforts_result": "Geen contact",
        "consent": "parents",
    }


def portal(settings, method: str, path: str, **kwargs):
    response = requests.request(method, f"{settings.portal_url}{path}", auth=COORDINATOR,
                                timeout=60, **kwargs)
    assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
    return response.json()


def wait_state(settings, referral_id: str, state: str) -> dict:
    return wait_until(lambda: (s := portal(settings, "GET", f"/api/v1/referrals/{referral_id}"))
                      ["state"] == state and s, timeout=120, what=f"{referral_id} in {state}")


def mails(settings) -> list[dict]:
    return requests.get(f"{settings.mailsink_url}/api/messages", timeout=10).json()


def process_one(settings, referral_id: str, ref: str) -> str:
    """Triage, choose the best offer, and accept as the partner through the e-mailed link."""
    portal(settings, "POST", f"/api/v1/referrals/{referral_id}/actions/triage",
           json={"decision": "accept", "reason": "school deed genoeg"})
    best = wait_state(settings, referral_id, "matching")["candidates"][0]
    portal(settings, "POST", f"/api/v1/referrals/{referral_id}/actions/choose_partner",
           json={"offer_ids": [best["offer_id"]]})
    mail = wait_until(lambda: next((m for m in mails(settings) if ref in m["subject"] and any(
        best["contact_email"] in to for to in m["to"])), None), timeout=120,
        what=f"the partner's e-mail for {ref}")
    link = re.search(r"https?://\S+/engagements/\S+", mail["text"]).group(0)
    accepted = anonymous_post(f"{link}/respond", data={"accept": "1", "reason": ""}, timeout=60)
    assert accepted.status_code == 200, accepted.text
    wait_state(settings, referral_id, "in_progress")
    return best["contact_email"]


async def referral_workflow_ids(settings) -> list[str]:
    from temporalio.client import Client

    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    return [w.id async for w in client.list_workflows("WorkflowType = 'ReferralWorkflow'")]


@pytest.mark.slow
def test_replicas_share_the_work_and_nothing_happens_twice(scaled_stack):
    try:
        drive_batch_and_check(*scaled_stack)
    except BaseException:
        dump_logs(scaled_stack[1])
        raise


def drive_batch_and_check(settings, stack) -> None:
    vhost = vhost_of(settings.amqp_uri)

    # quorum queues for our durable queues; competing consumers on them
    for queue in ("rpc-intake", "rpc-portal", "rpc-workflow_bridge",
                  "evt-intake-referral_submitted--reporting.on_referral_submitted",
                  "evt-intake-referral_submitted--workflow_bridge.start_referral",
                  "evt-referral_workflow-referral_state_changed--portal.on_referral_state_changed"):
        info = rabbit_queue(vhost, queue)
        assert info["type"] == "quorum", (queue, info["type"])
        assert info["consumers"] == REPLICAS, (queue, info["consumers"])
    before = amqp.rpc_call(settings.amqp_uri, "reporting", "counts", "mechelen")

    # 1. a batch of referrals over the intake API (a new connection each: the kernel spreads them)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda i: requests.post(
            f"{settings.intake_url}/api/v1/referrals", json=referral_json(i), timeout=60), range(BATCH)))
    assert [a.status_code for a in answers] == [201] * BATCH, [a.text for a in answers if a.status_code != 201]
    refs = [a.json()["ref"] for a in answers]
    assert len(set(refs)) == BATCH

    # 2. each lands once in the coordinator's inbox, in triage
    tasks = wait_until(lambda: len(t := {task["ref"]: task for task in portal(settings, "GET", "/api/v1/tasks")
                                         if task["ref"] in refs and task["state"] == "triage"}) == BATCH and t,
                       timeout=180, what="all referrals in triage")

    # 3. coordinator and partners act on all of them, a few at a time
    with ThreadPoolExecutor(4) as pool:
        partners = list(pool.map(lambda ref: process_one(settings, tasks[ref]["referral_id"], ref), refs))

    # --- nothing happened twice ---
    ids = asyncio.run(referral_workflow_ids(settings))
    assert sorted(ids) == sorted(f"referral-{tasks[ref]['referral_id']}" for ref in refs)

    sink = mails(settings)
    copies = Counter((tuple(m["to"]), m["subject"], m["text"]) for m in sink)
    assert not [key for key, n in copies.items() if n > 1], "an e-mail was sent twice"
    for ref, partner in zip(refs, partners):
        to_partner = [m for m in sink if ref in m["subject"] and any(partner in to for to in m["to"])]
        assert len(to_partner) == 1, (ref, [m["subject"] for m in to_partner])

    counts = wait_until(lambda: (c := amqp.rpc_call(settings.amqp_uri, "reporting", "counts", "mechelen"))
                        ["by_state"].get("in_progress", 0) == before["by_state"].get("in_progress", 0) + BATCH
                        and c, timeout=60, what="reporting counts")
    assert counts["total"] == before["total"] + BATCH
    assert counts["by_category"]["truancy"] == before["by_category"].get("truancy", 0) + BATCH

    # --- the work was shared, each replica's /metrics says so ---
    scraped = scrape(stack)
    by_process = defaultdict(dict)
    for name, samples in scraped.items():
        by_process[name] = {
            "http": total(samples, "netsterk_http_requests_total"),
            "rpc": total(samples, "netsterk_rpc_calls_total"),
            "events": total(samples, "netsterk_events_handled_total"),
            "published": total(samples, "netsterk_events_published_total"),
            "rpc_client": total(samples, "netsterk_rpc_client_calls_total"),
        }
    print("work per process:", dict(by_process))

    def per_replica(base: str, metric: str, **labels) -> list[float]:
        return [total(scraped[f"{base}.{i}"], metric, **labels) for i in range(1, REPLICAS + 1)]

    submits = per_replica("intake", "netsterk_http_requests_total", route="/api/v1/referrals",
                          method="POST", status="201")
    assert sum(submits) == BATCH and all(submits), submits
    published = per_replica("intake", "netsterk_events_published_total", source="intake",
                            event_type="referral_submitted")
    assert sum(published) == BATCH, published          # each outbox row relayed by one replica
    ranked = per_replica("matching", "netsterk_rpc_calls_total", method="rank_offers", outcome="ok")
    assert sum(ranked) >= BATCH and all(ranked), ranked
    sent = per_replica("notifications", "netsterk_rpc_calls_total", method="send_email", outcome="ok")
    assert sum(sent) >= 2 * BATCH and all(sent), sent
    mailed = per_replica("notifications", "netsterk_mails_total", outcome="sent")
    assert sum(mailed) == len(sink), (mailed, len(sink))
    for service in ("reporting", "portal"):
        handled = per_replica(service, "netsterk_events_handled_total", outcome="ok")
        assert all(handled), (service, handled)
        duplicates = per_replica(service, "netsterk_messages_consumed_total", outcome="duplicate")
        assert sum(duplicates) == 0, (service, duplicates)
    received = per_replica("reporting", "netsterk_messages_consumed_total",
                           consumer="reporting.on_referral_submitted", outcome="applied")
    assert sum(received) == BATCH, received
    starts = per_replica("bridge", "netsterk_workflow_starts_total", outcome="started")
    assert sum(starts) == BATCH and all(starts), starts
    updates = per_replica("bridge", "netsterk_workflow_updates_total", outcome="ok")
    assert sum(updates) >= 2 * BATCH and all(updates), updates
    print("split per replica:", {"intake submits": submits, "intake events published": published,
                                 "matching rank_offers": ranked, "notifications send_email": sent,
                                 "mails sent": mailed, "reporting submitted applied": received,
                                 "bridge workflow starts": starts, "bridge workflow updates": updates})
    # gauges read at scrape time: referrals per state and overdue (portal), queue depths (bridge)
    open_in_progress = per_replica("portal", "netsterk_referrals_open", network="mechelen",
                                   state="in_progress")
    assert all(n >= BATCH for n in open_in_progress), open_in_progress
    assert any(s == "netsterk_tasks_overdue" and labels.get("network") == "mechelen"
               for s, labels, _ in scraped["portal.1"])
    assert per_replica("bridge", "netsterk_queue_scrape_ok") == [1.0] * REPLICAS
    consumers = per_replica("bridge", "netsterk_queue_consumers", queue="rpc-intake")
    assert consumers == [float(REPLICAS)] * REPLICAS, consumers
    latency = per_replica("reporting", "netsterk_event_handler_seconds_count", event_type="referral_submitted")
    assert sum(latency) == BATCH, latency
    activity_work = [by_process[f"worker.{i}"]["published"] + by_process[f"worker.{i}"]["rpc_client"]
                     for i in range(1, REPLICAS + 1)]
    assert all(activity_work), activity_work
    for name, samples in scraped.items():   # labels carry no personal data and no ids
        for _sample, labels, _value in samples:
            for value in labels.values():
                assert "@" not in value and not re.search(r"NS-\d{4}|[0-9a-f]{8}-[0-9a-f]{4}", value), \
                    (name, labels)


# --- the pieces, fast ----------------------------------------------------------------------------

def test_every_service_uses_the_quorum_capable_entrypoints():
    """nameko's own rpc / event_handler would declare classic queues (and two RpcConsumers on one
    queue with different arguments): services import them from netsterk.nameko_support."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "services"
    for service in SERVICES:
        source = (root / service / "service.py").read_text()
        assert not re.search(r"^from nameko\.rpc import .*\brpc\b", source, re.M), service
        assert not re.search(r"^from nameko\.events import .*\bevent_handler\b", source, re.M), service
        assert re.search(r"^from netsterk\.nameko_support import .*\brpc\b", source, re.M), service


def test_queue_arguments_follow_the_setting(monkeypatch):
    from netsterk.settings import get_settings

    for value, expected in (("1", {"x-queue-type": "quorum"}), ("0", {})):
        monkeypatch.setenv("NETSTERK_QUORUM_QUEUES", value)
        get_settings.cache_clear()
        try:
            assert amqp.rpc_server_queue("intake").queue_arguments == expected
            assert amqp.dead_letter_queue("x.y").queue_arguments == expected
            arguments = amqp.dead_letter_arguments("x.y")
            assert arguments["x-dead-letter-routing-key"] == "x.y.dlq"
            assert arguments.get("x-queue-type") == expected.get("x-queue-type")
            assert Settings().nameko_config("matching")["QUORUM_QUEUES"] is (value == "1")
        finally:
            get_settings.cache_clear()




def test_racing_outbox_relays_publish_every_row_once(tmp_path):
    """Four relays (as four replicas' timers) on one PostgreSQL outbox table: every row reaches
    the broker exactly once, and more than one relay published."""
    import kombu
    from sqlalchemy.orm import DeclarativeBase, sessionmaker

    from netsterk.db import OutboxMixin, make_engine, relay_outbox, session_scope
    from netsterk.envelope import make_envelope

    class Base(DeclarativeBase):
        pass

    class Outbox(OutboxMixin, Base):
        pass

    rows, relays = 200, 4
    url, drop = create_postgres_database()
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        factory = sessionmaker(engine, expire_on_commit=False)
        with session_scope(factory) as session:
            for i in range(rows):
                envelope = make_envelope("outbox_row", {"n": i}, network="mechelen")
                session.add(Outbox(message_id=envelope["message_id"], source="scale_test",
                                   event_type="outbox_row", body=envelope))
        with rabbit_vhost("netsterk_outbox") as amqp_uri:
            queue = kombu.Queue("outbox-rows", exchange=amqp.event_exchange("scale_test"),
                                routing_key="outbox_row", durable=True)
            with amqp.connect(amqp_uri) as connection:
                queue(connection.channel()).declare()
            start = threading.Barrier(relays)
            published: list[int] = []

            def relay():
                mine = 0
                with amqp.connect(amqp_uri) as connection:
                    start.wait()
                    while True:
                        count = relay_outbox(factory, Outbox, connection, limit=5)
                        mine += count
                        with session_scope(factory) as session:
                            if not session.query(Outbox).filter(Outbox.published_at.is_(None)).count():
                                break
                published.append(mine)

            threads = [threading.Thread(target=relay) for _ in range(relays)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            assert sum(published) == rows, published
            assert len([p for p in published if p]) >= 2, published   # they did race
            seen = Counter()
            with amqp.connect(amqp_uri) as connection:
                with connection.SimpleQueue(queue, no_ack=True) as simple:
                    while True:
                        try:
                            message = simple.get(timeout=2)
                        except simple.Empty:
                            break
                        seen[message.payload["message_id"]] += 1
            assert len(seen) == rows and set(seen.values()) == {1}
    finally:
        engine.dispose()
        drop()


def test_a_service_process_reaches_postgresql():
    """run_service monkey-patches with eventlet; psycopg 3 must still load and answer there
    (it is imported first), or no service could use production's database."""
    import subprocess
    import sys

    url, drop = create_postgres_database()
    try:
        code = ("import netsterk_ops.run_service, eventlet.patcher, sqlalchemy\n"
                "assert eventlet.patcher.is_monkey_patched('socket')\n"
                "from netsterk.db import make_engine\n"
                f"engine = make_engine({url!r})\n"
                "with engine.connect() as c: print(c.execute(sqlalchemy.text('select 41 + 1')).scalar())\n")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stdout.strip() == "42", result.stderr
    finally:
        drop()
