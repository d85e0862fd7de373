"""A message that kills its consumer before the ack is not redelivered without end: after
settings.delivery_limit deliveries it waits in `<consumer>.dlq` with the reason, and the messages
behind it are handled. Real broker (a throw-away vhost), a real nameko process killed for real."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import kombu

from netsterk import amqp
from netsterk.settings import REPO_ROOT
from netsterk.testing import rabbit_vhost, wait_until

LIMIT = 3
QUEUE = amqp.event_queue_name("crashsource", "poked", "crashtest", "on_poked")


def start_service(uri: str) -> subprocess.Popen:
    env = {**os.environ, "NETSTERK_DELIVERY_LIMIT": str(LIMIT), "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([sys.executable, "-m", "nameko", "run", "--broker", uri,
                             "tests.data.services.crashing"], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def queue_exists_named(connection, name: str) -> bool:
    channel = connection.channel()
    try:
        kombu.Queue(name, durable=True)(channel).queue_declare(passive=True)
        return True
    except Exception:
        return False
    finally:
        try:
            channel.close()
        except Exception:
            pass


def queue_exists(connection) -> bool:
    return queue_exists_named(connection, QUEUE)


def test_a_message_that_kills_its_consumer_ends_in_the_dead_letter_queue(tmp_path):
    with rabbit_vhost("netsterk_delivery_limit") as uri, amqp.connect(uri) as connection:
        process = start_service(uri)
        crashes = 0
        outputs = []
        try:
            wait_until(lambda: queue_exists(connection), timeout=60, what="the handler's queue")
            good = tmp_path / "good.txt"
            amqp.publish_event(connection, "crashsource", "poked", {"crash": True})
            amqp.publish_event(connection, "crashsource", "poked",
                               {"write_to": str(good), "mark": "handled"})
            parked = kombu.Queue("crashtest.on_poked.dlq", no_declare=True).bind(connection.channel())
            message = None
            deadline = time.monotonic() + 180
            while message is None and time.monotonic() < deadline:
                if process.poll() is not None:          # it died on the message: restart it
                    outputs.append(process.stdout.read())
                    assert process.returncode == 3, outputs[-1]
                    crashes += 1
                    assert crashes <= LIMIT, "redelivered beyond the delivery limit: " + "".join(outputs)
                    process = start_service(uri)
                if queue_exists_named(connection, "crashtest.on_poked.dlq"):
                    message = parked.get(no_ack=True, accept=["json"])
                time.sleep(0.2)
            assert message is not None, "the message never reached the dead-letter queue"
            assert crashes == LIMIT
            wait_until(good.exists, timeout=120, what="the message behind it handled")
            assert good.read_text() == "handled"
            time.sleep(1)
            assert process.poll() is None, "the service must survive once the message is parked"
            record = json.loads(message.body)
            assert record["consumer"] == "crashtest.on_poked"
            assert record["body"] == {"crash": True}
            assert "delivery limit" in record["error"]
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(20)
