"""`netsterk dlq list|show|replay` on the real broker (a throw-away vhost): both shapes of parked
messages (a consumer's `{consumer, error, body}` and a message RabbitMQ dead-lettered itself)
are listed, shown with their reason, and replayed to the queue they came from, once."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import kombu
import pytest

from netsterk import amqp
from netsterk.envelope import make_envelope
from netsterk.settings import REPO_ROOT
from netsterk.testing import rabbit_vhost
from netsterk_ops import dlq

CONSUMER = "portal.on_referral_state_changed"
EVENT_QUEUE = amqp.event_queue_name("referral_workflow", "referral_state_changed", "portal",
                                    "on_referral_state_changed")
RAW_QUEUE = "workflow_bridge.test_raw"


def netsterk(uri: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netsterk_ops.cli", "dlq", *argv], cwd=REPO_ROOT,
                          env={**os.environ, "NETSTERK_AMQP_URI": uri}, capture_output=True,
                          text=True, timeout=60)


def get_all(connection, name: str) -> list:
    queue = kombu.Queue(name, no_declare=True).bind(connection.channel())
    found = []
    while (message := queue.get(no_ack=True, accept=["json"])) is not None:
        found.append(json.loads(message.body))
    return found


@pytest.fixture
def parked():
    with rabbit_vhost("netsterk_dlq") as uri, amqp.connect(uri) as connection:
        channel = connection.channel()
        exchange = amqp.event_exchange("referral_workflow")
        kombu.Queue(EVENT_QUEUE, exchange=exchange, routing_key="referral_state_changed",
                    durable=True)(channel).declare()
        good = make_envelope("referral_state_changed", {"state": "triage"}, network="mechelen")
        other = make_envelope("referral_state_changed", {"state": "matching"}, network="mechelen")
        producer = kombu.Producer(channel)
        target = amqp.dead_letter_queue(CONSUMER)
        for envelope in (good, other):   # what netsterk.nameko_support.dead_letter writes
            producer.publish({"consumer": CONSUMER, "error": "OperationalError: database is locked",
                              "body": envelope}, exchange=amqp.DEAD_LETTER_EXCHANGE,
                             routing_key=target.routing_key, serializer="json", delivery_mode=2,
                             declare=[target])
        # a raw message RabbitMQ dead-letters itself (rejected without requeue)
        raw_dlq = amqp.dead_letter_queue(RAW_QUEUE)
        raw_dlq(channel).declare()
        raw_queue = kombu.Queue(RAW_QUEUE, durable=True, queue_arguments=amqp.dead_letter_arguments(RAW_QUEUE))
        raw_queue(channel).declare()
        poison = make_envelope("referral_submitted", {"referral_id": "r-1"}, network="mechelen")
        producer.publish(poison, exchange="", routing_key=RAW_QUEUE, serializer="json", delivery_mode=2)
        message = raw_queue.bind(channel).get(no_ack=False)
        message.reject(requeue=False)
        yield uri, connection, good, other, poison


def test_list_show_and_replay_both_shapes(parked):
    uri, connection, good, other, poison = parked
    from netsterk.testing import wait_until

    wait_until(lambda: {q["name"]: q["messages"] for q in dlq.list_dlqs(uri)}
               == {f"{CONSUMER}.dlq": 2, f"{RAW_QUEUE}.dlq": 1}, timeout=15, what="dlq counts")
    listed = netsterk(uri, "list")
    assert listed.returncode == 0, listed.stderr
    assert f"2  {CONSUMER}.dlq" in listed.stdout and f"1  {RAW_QUEUE}.dlq" in listed.stdout

    shown = netsterk(uri, "show", f"{CONSUMER}.dlq")
    assert shown.returncode == 0, shown.stderr
    assert f"message_id={good['message_id']}" in shown.stdout
    assert "database is locked" in shown.stdout and "body:" not in shown.stdout
    assert [p.message_id for p in dlq.show(uri, f"{CONSUMER}.dlq")] == [good["message_id"], other["message_id"]]

    # one message by id: back in the nameko event queue it came from, gone from the dlq
    replayed = netsterk(uri, "replay", f"{CONSUMER}.dlq", "--message-id", good["message_id"])
    assert replayed.returncode == 0, replayed.stderr
    assert f"-> {EVENT_QUEUE}" in replayed.stdout
    assert get_all(connection, EVENT_QUEUE) == [good]
    assert [p.message_id for p in dlq.show(uri, f"{CONSUMER}.dlq")] == [other["message_id"]]

    # the raw one goes back where x-death says it came from
    raw = dlq.show(uri, f"{RAW_QUEUE}.dlq")
    assert raw[0].death["queue"] == RAW_QUEUE and raw[0].body == poison
    assert [target for _, target in dlq.replay(uri, f"{RAW_QUEUE}.dlq", limit=None)] == [RAW_QUEUE]
    assert get_all(connection, RAW_QUEUE) == [poison]
    assert dlq.show(uri, f"{RAW_QUEUE}.dlq") == []

    # the rest, and clear errors for what is not there
    assert netsterk(uri, "replay", f"{CONSUMER}.dlq", "--all").returncode == 0
    assert get_all(connection, EVENT_QUEUE) == [other]
    missing = netsterk(uri, "replay", f"{CONSUMER}.dlq", "--message-id", "nope")
    assert missing.returncode == 1 and "no message 'nope'" in missing.stderr
    unknown = netsterk(uri, "show", "nothing.dlq")
    assert unknown.returncode == 1 and "no dead-letter queue 'nothing.dlq'" in unknown.stderr
