"""The bridge as a real process over the real broker (a throw-away vhost) and a real Temporal
dev server; the workflow runs in an in-test worker whose state-change publisher is the real
activity (pointed at the test vhost) while e-mail and ranking are faked."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import kombu
import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from netsterk.amqp import RemoteError, connect, event_exchange, publish_event, rpc_call
from netsterk.contracts import (
    BRIDGE, ERASURE_CONFIRMED, INTAKE, REFERRAL_ERASED, REFERRAL_STATE_CHANGED, REFERRAL_SUBMITTED, WORKFLOW,
    workflow_id,
)
from netsterk.envelope import make_envelope
from netsterk.settings import REPO_ROOT
from netsterk.testing import free_port, rabbit_vhost, wait_until
from workflows.bridge import ERASED_QUEUE, EVENT_QUEUE
from workflows.codec import data_converter
from workflows.referral.activities import ReferralActivities
from workflows.referral.shared import EmailRequest
from workflows.referral.workflow import ReferralWorkflow
from workflows.tests.conftest import CANDIDATES, temporal_cli_path

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def amqp_uri():
    with rabbit_vhost("netsterk_wf") as uri:
        yield uri


class DevServer:
    """A Temporal dev server on a fixed port and SQLite file, so a test can stop and restart it."""

    def __init__(self, db):
        self.port, self.ui_port, self.db = free_port(), free_port(), db
        self.address = f"127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [temporal_cli_path(), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
             "--port", str(self.port), "--ui-port", str(self.ui_port), "--db-filename", str(self.db),
             "--log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: subprocess.run(
            [temporal_cli_path(), "operator", "cluster", "health", "--address", self.address],
            capture_output=True, text=True, timeout=10).stdout.strip().endswith("SERVING"),
            timeout=60, what="temporal dev server")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def temporal_server(tmp_path_factory):
    server = DevServer(tmp_path_factory.mktemp("temporal") / "temporal.db")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def temporal_address(temporal_server):
    return temporal_server.address


@pytest.fixture
def task_queue():
    return f"bridge-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def rpc_timeout():
    return "20"


@pytest.fixture
def bridge_process(amqp_uri, temporal_address, task_queue, tmp_path, rpc_timeout):
    env = dict(os.environ, NETSTERK_AMQP_URI=amqp_uri, NETSTERK_TEMPORAL_ADDRESS=temporal_address,
               NETSTERK_TEMPORAL_TASK_QUEUE=task_queue, NETSTERK_VAR_DIR=str(tmp_path),
               NETSTERK_RPC_TIMEOUT=rpc_timeout)
    log_file = open(tmp_path / "bridge.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "workflows.bridge"], cwd=REPO_ROOT, env=env,
                               stdout=log_file, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: rpc_call(amqp_uri, BRIDGE, "health", timeout=5), timeout=60,
                   what="bridge rpc health")
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        log_file.close()


def submitted(referral_id: str, **payload) -> dict:
    body = {"referral_id": referral_id, "ref": "MEC-2026-0042", "network": "mechelen",
            "channel": "web", "categories": ["truancy"], "postcode": "2800", "age": 15,
            "school_level": "secondary", "languages": ["nl"], "urgency": "normal",
            "school_efforts_done": True, "reporter_lang": "nl",
            "submitted_at": "2026-11-24T09:00:00+00:00"}
    body.update(payload)
    return make_envelope(REFERRAL_SUBMITTED, body, network="mechelen", referral_ref="MEC-2026-0042")


def publish(amqp_uri: str, body, **kwargs) -> None:
    with connect(amqp_uri) as connection:
        if kwargs:   # raw message (wrong content type)
            with connection.Producer() as producer:
                producer.publish(body, exchange=event_exchange(INTAKE), routing_key=REFERRAL_SUBMITTED,
                                 declare=[event_exchange(INTAKE)], **kwargs)
        else:
            publish_event(connection, INTAKE, REFERRAL_SUBMITTED, body)


def drain(amqp_uri: str, queue_name: str) -> list:
    bodies = []
    with connect(amqp_uri) as connection:
        with connection.SimpleQueue(queue_name, no_ack=True) as queue:
            while True:
                try:
                    message = queue.get(block=True, timeout=0.5)
                except queue.Empty:
                    return bodies
                bodies.append(message.payload if message.content_type == "application/json"
                              else message.body)


async def call(amqp_uri, method, *args):
    return await asyncio.to_thread(rpc_call, amqp_uri, BRIDGE, method, *args, timeout=20)


async def state_reached(amqp_uri: str, referral_id: str, state: str, *, tries: int = 200,
                        pause: float = 0.1) -> dict | None:
    """The bridge's snapshot once the referral is in `state` (the workflow may not exist yet:
    the bridge answers RemoteError meanwhile), or the last snapshot seen after `tries`."""
    snap = None
    for _ in range(tries):
        with contextlib.suppress(RemoteError):
            snap = await call(amqp_uri, "get_referral", referral_id)
            if snap["state"] == state:
                return snap
        await asyncio.sleep(pause)
    return snap


async def test_bridge_starts_once_serves_rpc_and_dead_letters(amqp_uri, temporal_address, task_queue,
                                                              bridge_process):
    emails: list[EmailRequest] = []

    @activity.defn(name="rank_offers")
    async def rank_offers(request: dict) -> list:
        return [dict(c) for c in CANDIDATES]

    @activity.defn(name="send_email")
    async def send_email(request: EmailRequest) -> dict:
        emails.append(request)
        return {"status": "sent", "mail_id": str(len(emails))}

    real = ReferralActivities(amqp_uri=amqp_uri)
    # a queue on the workflow's event exchange, to see the real published state changes
    changes_queue = f"test-state-changes-{uuid.uuid4().hex[:6]}"
    with connect(amqp_uri) as connection:
        kombu.Queue(changes_queue, exchange=event_exchange(WORKFLOW),
                    routing_key=REFERRAL_STATE_CHANGED, durable=True)(connection.channel()).declare()

    client = await Client.connect(temporal_address, data_converter=data_converter())
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with Worker(client, task_queue=task_queue, workflows=[ReferralWorkflow],
                          activities=[rank_offers, send_email, real.publish_state_change,
                                      real.publish_workflow_event],
                          activity_executor=executor):
            referral_id = uuid.uuid4().hex
            envelope = submitted(referral_id)
            await asyncio.to_thread(publish, amqp_uri, envelope)
            await asyncio.to_thread(publish, amqp_uri, envelope)                      # redelivery
            again = dict(envelope, message_id=str(uuid.uuid4()))                       # re-sent
            await asyncio.to_thread(publish, amqp_uri, again)

            async def snapshot_in_triage():
                try:
                    snap = await call(amqp_uri, "get_referral", referral_id)
                except RemoteError:
                    return None
                return snap if snap["state"] == "triage" else None

            snap = None
            for _ in range(200):
                snap = await snapshot_in_triage()
                if snap:
                    break
                await asyncio.sleep(0.1)
            assert snap is not None, "the workflow never reached triage"
            assert snap["referral_id"] == referral_id and snap["allowed_actions"][0] == "triage"
            assert snap["history"][0]["to_state"] == "triage"

            # every copy was acked, and still exactly one workflow exists
            await asyncio.sleep(1.0)
            with connect(amqp_uri) as connection:
                _, waiting, _ = connection.channel().queue_declare(EVENT_QUEUE, passive=True)
            assert waiting == 0
            runs = [w async for w in client.list_workflows(f'WorkflowId = "{workflow_id(referral_id)}"')]
            assert len(runs) == 1

            with pytest.raises(RemoteError) as info:
                await call(amqp_uri, "act", referral_id, "fly_away", {})
            assert info.value.exc_type == "InvalidAction" and "unknown action" in info.value.value
            with pytest.raises(RemoteError) as info:
                await call(amqp_uri, "act", referral_id, "close", {"by": "c", "outcome": "x"})
            assert info.value.exc_type == "InvalidAction"
            assert "close is not allowed in state 'triage'" in info.value.value
            with pytest.raises(RemoteError) as info:
                await call(amqp_uri, "act", referral_id, "triage", {"by": "c", "decision": "maybe"})
            assert info.value.exc_type == "InvalidAction" and "unknown decision" in info.value.value
            with pytest.raises(RemoteError) as info:
                await call(amqp_uri, "get_referral", "no-such-referral")
            assert info.value.exc_type == "UnknownReferral"
            with pytest.raises(RemoteError) as info:
                await call(amqp_uri, "act", "no-such-referral", "triage", {"by": "c", "decision": "accept"})
            assert info.value.exc_type == "UnknownReferral"

            snap = await call(amqp_uri, "act", referral_id, "triage", {"by": "coord-1", "decision": "accept"})
            assert snap["state"] == "matching"
            assert [c["offer_id"] for c in snap["candidates"]] == ["offer-a", "offer-b"]

            # the update id is the command id: a double click is applied once, both get the result
            extend = {"by": "coord-1", "deadline": "matching", "working_days": 2, "reason": "CLB"}
            first = await call(amqp_uri, "act", referral_id, "extend_deadline", extend, "cmd-1")
            again = await call(amqp_uri, "act", referral_id, "extend_deadline", extend, "cmd-1")
            assert first == again and len(again["log"]) == 1
            other = await call(amqp_uri, "act", referral_id, "extend_deadline", extend, "cmd-2")
            assert len(other["log"]) == 2
            with pytest.raises(RemoteError) as info:
                await call(amqp_uri, "act", referral_id, "extend_deadline", extend, "bad id!")
            assert info.value.exc_type == "InvalidAction" and "command_id" in info.value.value

            # a second referral: a question through a link, then merged into the first
            second_id = uuid.uuid4().hex
            await asyncio.to_thread(publish, amqp_uri, submitted(second_id))
            await state_reached(amqp_uri, second_id, "triage")
            await call(amqp_uri, "act", second_id, "ask_information",
                       {"by": "coord-1", "question": "Welke klas?"}, "cmd-q")
            for _ in range(100):
                link = next((e.link_path for e in emails if e.template == "information_request"), None)
                if link:
                    break
                await asyncio.sleep(0.1)
            token = link.rsplit("/", 1)[1]
            question = await call(amqp_uri, "get_question", second_id, token)
            assert question["question"] == "Welke klas?" and question["ref"] == "MEC-2026-0042"
            with pytest.raises(RemoteError) as info:
                await call(amqp_uri, "get_question", second_id, "guess")
            assert info.value.exc_type == "InvalidAction"
            await call(amqp_uri, "act", second_id, "answer_information",
                       {"by": "reporter", "answer": "4B", "token": token}, "cmd-a")
            with pytest.raises(RemoteError) as info:
                await call(amqp_uri, "act", second_id, "mark_duplicate",
                           {"by": "coord-1", "target_referral_id": "no-such-referral"})
            assert info.value.value == "target referral no-such-referral does not exist"
            merged = await call(amqp_uri, "act", second_id, "mark_duplicate",
                                {"by": "coord-1", "target_referral_id": referral_id, "reason": "dubbel"})
            assert merged["state"] == "merged"
            for _ in range(100):
                target = await call(amqp_uri, "get_referral", referral_id)
                if target["linked_duplicates"]:
                    break
                await asyncio.sleep(0.1)
            assert target["linked_duplicates"][0]["referral_id"] == second_id

            # an e-mail draft, then intake's completion of it (the same referral, draft: false)
            draft_id = uuid.uuid4().hex
            draft = submitted(draft_id, draft=True, categories=[], postcode=None, age=None,
                              school_level=None, school_efforts_done=False, channel="email")
            await asyncio.to_thread(publish, amqp_uri, draft)
            await state_reached(amqp_uri, draft_id, "draft")
            completed = submitted(draft_id, categories=["motivation"], age=16)
            await asyncio.to_thread(publish, amqp_uri, completed)
            await asyncio.to_thread(publish, amqp_uri, completed)        # redelivered: completes once
            for _ in range(200):
                snap = await call(amqp_uri, "get_referral", draft_id)
                if snap["state"] == "triage":
                    break
                await asyncio.sleep(0.1)
            assert snap["state"] == "triage" and snap["categories"] == ["motivation"]
            assert [h["to_state"] for h in snap["history"]] == ["draft", "triage"]

    # the real activity published both moves with deterministic message ids
    changes = await asyncio.to_thread(drain, amqp_uri, changes_queue)
    ours = [c for c in changes if c["payload"]["referral_id"] == referral_id]
    assert [c["message_id"] for c in ours] == [f"{workflow_id(referral_id)}:1",
                                               f"{workflow_id(referral_id)}:2"]
    changes = ours
    assert changes[1]["payload"]["to_state"] == "matching"
    assert changes[1]["payload"]["urgency"] == "normal" and changes[1]["payload"]["revision"] >= 2
    assert changes[1]["correlation_id"] == envelope["correlation_id"]
    assert changes[1]["type"] == REFERRAL_STATE_CHANGED

    # invalid messages are dead-lettered, not lost
    await asyncio.to_thread(publish, amqp_uri, {"hello": "world"})
    await asyncio.to_thread(publish, amqp_uri, submitted(uuid.uuid4().hex, categories="truancy"))
    await asyncio.to_thread(publish, amqp_uri, b"not json", content_type="text/plain",
                            content_encoding="utf-8")

    def three_dead() -> list:
        with connect(amqp_uri) as connection:
            _, count, _ = connection.channel().queue_declare(f"{EVENT_QUEUE}.dlq", passive=True)
        return count >= 3
    await asyncio.to_thread(wait_until, three_dead, timeout=20, what="three dead letters")
    dead = await asyncio.to_thread(drain, amqp_uri, f"{EVENT_QUEUE}.dlq")
    by_body = {json.dumps(d["body"], sort_keys=True): d["error"] for d in dead}
    assert "envelope misses" in by_body[json.dumps({"hello": "world"})]
    assert any(isinstance(d["body"], dict) and d["body"].get("payload", {}).get("categories") == "truancy"
               and "categories must be a list of strings" in d["error"] for d in dead)
    assert any(d["body"] == "not json" and d["error"].startswith("undecodable message") for d in dead)

    # a burst of them: each dead letter's publish confirm is awaited while more deliveries arrive
    # (they once nested inside that wait, took its ack, and the bridge hung for ever)
    def burst(n: int) -> None:
        with connect(amqp_uri) as connection:
            producer = kombu.Producer(connection.channel())
            for number in range(n):
                producer.publish({"burst": number}, exchange=event_exchange(INTAKE),
                                 routing_key=REFERRAL_SUBMITTED, serializer="json", delivery_mode=2)
    await asyncio.to_thread(burst, 300)

    def parked_burst() -> bool:
        with connect(amqp_uri) as connection:
            _, count, _ = connection.channel().queue_declare(f"{EVENT_QUEUE}.dlq", passive=True)
        return count >= 300
    await asyncio.to_thread(wait_until, parked_burst, timeout=60, what="300 dead letters of a burst")
    assert (await call(amqp_uri, "health"))["status"] == "ok"
    assert len(await asyncio.to_thread(drain, amqp_uri, f"{EVENT_QUEUE}.dlq")) == 300

    # SIGTERM stops the bridge cleanly
    bridge_process.terminate()
    assert await asyncio.to_thread(bridge_process.wait, 20) == 0


async def test_worker_process_runs_a_referral_and_stops_on_sigterm(amqp_uri, temporal_address,
                                                                   task_queue, tmp_path):
    """`python -m workflows.worker` with its real activities: the start move is published on the
    real broker (e-mail and ranking RPCs wait for their services, which are not part of this test)."""
    changes_queue = f"test-worker-changes-{uuid.uuid4().hex[:6]}"
    with connect(amqp_uri) as connection:
        kombu.Queue(changes_queue, exchange=event_exchange(WORKFLOW),
                    routing_key=REFERRAL_STATE_CHANGED, durable=True)(connection.channel()).declare()
    env = dict(os.environ, NETSTERK_AMQP_URI=amqp_uri, NETSTERK_TEMPORAL_ADDRESS=temporal_address,
               NETSTERK_TEMPORAL_TASK_QUEUE=task_queue, NETSTERK_VAR_DIR=str(tmp_path),
               NETSTERK_RPC_TIMEOUT="2")
    with open(tmp_path / "worker.log", "w") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "workflows.worker"], cwd=REPO_ROOT,
                                   env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            client = await Client.connect(temporal_address, data_converter=data_converter())
            referral_id = uuid.uuid4().hex
            from workflows.referral.shared import ReferralInput
            referral = ReferralInput.from_event(submitted(referral_id))
            handle = await client.start_workflow(ReferralWorkflow.run, referral,
                                                 id=workflow_id(referral_id), task_queue=task_queue)
            snap = None
            for _ in range(200):
                snap = await handle.query(ReferralWorkflow.snapshot)
                if snap["state"] == "triage":
                    break
                await asyncio.sleep(0.1)
            assert snap["state"] == "triage"
            changes = await asyncio.to_thread(drain, amqp_uri, changes_queue)
            assert [c["message_id"] for c in changes] == [f"{workflow_id(referral_id)}:1"]
            assert changes[0]["payload"]["fhir_status"] == "received"
        finally:
            process.terminate()
            code = await asyncio.to_thread(process.wait, 30)
    assert code == 0, (tmp_path / "worker.log").read_text()[-2000:]


@pytest.mark.parametrize("rpc_timeout", ["3"])
async def test_start_waits_while_temporal_is_down_and_refusals_are_dead_lettered(
        amqp_uri, temporal_server, task_queue, bridge_process, tmp_path, rpc_timeout):
    """Temporal stops: the event goes round the retry queue (never lost, never dead-lettered)
    and starts the workflow once Temporal is back. A start Temporal refuses is dead-lettered
    with the reason."""
    await asyncio.to_thread(drain, amqp_uri, f"{EVENT_QUEUE}.dlq")
    await asyncio.to_thread(temporal_server.stop)
    referral_id = uuid.uuid4().hex
    await asyncio.to_thread(publish, amqp_uri, submitted(referral_id))
    log_path = tmp_path / "bridge.log"
    await asyncio.to_thread(wait_until, lambda: log_path.read_text().count("retrying later") >= 2,
                            timeout=60, what="two retries while Temporal is down")
    await asyncio.to_thread(temporal_server.start)

    @activity.defn(name="send_email")
    async def send_email(request: EmailRequest) -> dict:
        return {"status": "sent", "mail_id": "1"}

    real = ReferralActivities(amqp_uri=amqp_uri)
    client = await Client.connect(temporal_server.address, data_converter=data_converter())
    with ThreadPoolExecutor(max_workers=2) as executor:
        async with Worker(client, task_queue=task_queue, workflows=[ReferralWorkflow],
                          activities=[send_email, real.publish_state_change, real.publish_workflow_event],
                          activity_executor=executor):
            snap = await state_reached(amqp_uri, referral_id, "triage", tries=300, pause=0.2)
            assert snap and snap["state"] == "triage"
    parked = await asyncio.to_thread(drain, amqp_uri, f"{EVENT_QUEUE}.dlq")
    assert not [d for d in parked if isinstance(d.get("body"), dict)
                and d["body"].get("payload", {}).get("referral_id") == referral_id], parked

    # an id longer than Temporal allows: refused, so dead-lettered with Temporal's reason
    await asyncio.to_thread(publish, amqp_uri, submitted("x" * 1100))
    def parked():
        return drain(amqp_uri, f"{EVENT_QUEUE}.dlq") or None
    [dead] = await asyncio.to_thread(wait_until, parked, timeout=30, what="the refused start")
    assert dead["error"].startswith("temporal refused the start") and dead["body"]["payload"]["referral_id"] == "x" * 1100


def bound_queue(amqp_uri: str, source: str, event_type: str) -> str:
    name = f"test-{event_type}-{uuid.uuid4().hex[:6]}"
    with connect(amqp_uri) as connection:
        kombu.Queue(name, exchange=event_exchange(source), routing_key=event_type,
                    durable=True)(connection.channel()).declare()
    return name


async def test_erasure_deletes_the_workflow_and_its_history_and_confirms(
        amqp_uri, temporal_address, task_queue, bridge_process):
    """`intake.referral_erased`: the bridge deletes the (running) workflow with its history in
    Temporal, then confirms with `workflow_bridge.erasure_confirmed`; a repeat confirms again
    (nothing left), an erasure without a referral id is dead-lettered."""
    from temporalio.service import RPCError, RPCStatusCode

    receipts = bound_queue(amqp_uri, BRIDGE, ERASURE_CONFIRMED)

    @activity.defn(name="send_email")
    async def send_email(request: EmailRequest) -> dict:
        return {"status": "sent", "mail_id": "1"}

    real = ReferralActivities(amqp_uri=amqp_uri)
    client = await Client.connect(temporal_address, data_converter=data_converter())
    with ThreadPoolExecutor(max_workers=2) as executor:
        async with Worker(client, task_queue=task_queue, workflows=[ReferralWorkflow],
                          activities=[send_email, real.publish_state_change, real.publish_workflow_event],
                          activity_executor=executor):
            referral_id = uuid.uuid4().hex
            await asyncio.to_thread(publish, amqp_uri, submitted(referral_id))
            await state_reached(amqp_uri, referral_id, "triage")
            handle = client.get_workflow_handle(workflow_id(referral_id))
            assert (await handle.describe()).status.name == "RUNNING"

            erased = make_envelope(REFERRAL_ERASED, {"referral_id": referral_id, "ref": "MEC-2026-0042",
                                                     "network": "mechelen", "at": "2026-12-02T10:00:00+00:00"},
                                   network="mechelen", referral_ref="MEC-2026-0042")

            def publish_erased(body):
                with connect(amqp_uri) as connection:
                    publish_event(connection, INTAKE, REFERRAL_ERASED, body)

            await asyncio.to_thread(publish_erased, erased)
            [receipt] = await asyncio.to_thread(wait_until, lambda: drain(amqp_uri, receipts) or None,
                                                timeout=60, what="the bridge's erasure receipt")
            assert receipt["message_id"] == f"{erased['message_id']}:{BRIDGE}"
            assert receipt["payload"] == {"referral_id": referral_id, "ref": "MEC-2026-0042",
                                          "network": "mechelen", "service": BRIDGE,
                                          "removed": {"temporal_execution": 1}}
            with pytest.raises(RPCError) as gone:
                await handle.describe()
            assert gone.value.status == RPCStatusCode.NOT_FOUND
            with pytest.raises(RemoteError) as unknown:
                await call(amqp_uri, "get_referral", referral_id)
            assert unknown.value.exc_type == "UnknownReferral"

            await asyncio.to_thread(publish_erased, erased)                      # redelivered
            [again] = await asyncio.to_thread(wait_until, lambda: drain(amqp_uri, receipts) or None,
                                              timeout=60, what="the repeated receipt")
            assert again["payload"]["removed"] == {"temporal_execution": 0}

    await asyncio.to_thread(drain, amqp_uri, f"{ERASED_QUEUE}.dlq")
    await asyncio.to_thread(publish_erased, make_envelope(REFERRAL_ERASED, {"ref": "MEC-2026-0042"}))
    [dead] = await asyncio.to_thread(wait_until, lambda: drain(amqp_uri, f"{ERASED_QUEUE}.dlq") or None,
                                     timeout=30, what="the invalid erasure parked")
    assert dead["consumer"] == f"{BRIDGE}.erase_referral" and "referral_id" in dead["error"]
