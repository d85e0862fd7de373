"""The shared library on its own: envelope, logging, kombu RPC/events in nameko's wire format
against the real broker, and the CLI's status exit code."""
import io
import json
import subprocess
import sys
import threading

import kombu
import pytest
import structlog

from netsterk import amqp
from netsterk.envelope import EnvelopeError, make_envelope, validate_envelope
from netsterk.logging import configure_logging, log_context
from netsterk.testing import free_port, rabbit_vhost


def test_envelope_round_trip_and_errors():
    envelope = make_envelope("referral_submitted", {"a": 1}, network="mechelen", referral_ref="NS-2026-000001")
    assert validate_envelope(envelope, expected_type="referral_submitted") is envelope
    assert envelope["version"] == 1 and envelope["message_id"] != envelope["correlation_id"]
    with pytest.raises(EnvelopeError, match="misses message_id"):
        validate_envelope({k: v for k, v in envelope.items() if k != "message_id"})
    with pytest.raises(EnvelopeError, match="JSON object"):
        validate_envelope("text")
    with pytest.raises(EnvelopeError, match="expected"):
        validate_envelope(envelope, expected_type="other")


def test_log_lines_carry_context_and_never_personal_data(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    configure_logging("intake", env="production", level="INFO")
    log = structlog.get_logger()
    with log_context(network="mechelen", referral_ref="NS-2026-000001", correlation_id="c-1"):
        log.info("referral_stored", first_name="Sam", email="an@example.org")
    log.info("outside")
    lines = [json.loads(line) for line in sys.stdout.getvalue().splitlines()]
    assert lines[0]["service"] == "intake" and lines[0]["network"] == "mechelen"
    assert lines[0]["referral_ref"] == "NS-2026-000001" and lines[0]["correlation_id"] == "c-1"
    assert lines[0]["first_name"] == "[redacted]" and lines[0]["email"] == "[redacted]"
    assert lines[1]["referral_ref"] is None and lines[1]["service"] == "intake"


def serve_once(uri, service, ready, handler):
    """A minimal nameko-compatible RPC server built on the shared helpers."""
    with amqp.connect(uri) as connection:
        channel = connection.channel()
        producer = kombu.Producer(channel)

        def on_request(body, message):
            try:
                result, error = handler(amqp.method_of(message), body["args"], body["kwargs"]), None
            except Exception as exc:
                result, error = None, amqp.error_payload(exc)
            amqp.reply(producer, message, result=result, error=error)
            message.ack()

        with kombu.Consumer(channel, queues=[amqp.rpc_server_queue(service)], callbacks=[on_request],
                            accept=["json"]):
            ready.set()
            connection.drain_events(timeout=10)


def test_rpc_client_and_server_speak_namekos_wire_format():
    def handler(method, args, kwargs):
        if method == "add":
            return args[0] + kwargs["b"]
        raise ValueError("no such thing")

    with rabbit_vhost() as uri:
        for method, expected in (("add", 5), ("boom", None)):
            ready = threading.Event()
            thread = threading.Thread(target=serve_once, args=(uri, "calc", ready, handler))
            thread.start()
            ready.wait(10)
            if expected is not None:
                assert amqp.rpc_call(uri, "calc", method, 2, b=3, timeout=10) == expected
            else:
                with pytest.raises(amqp.RemoteError) as info:
                    amqp.rpc_call(uri, "calc", method, timeout=10)
                assert info.value.exc_type == "ValueError" and "no such thing" in info.value.value
            thread.join(15)
        with pytest.raises(amqp.UnknownService):
            amqp.rpc_call(uri, "nobody", "health", timeout=5)


def test_status_exits_non_zero_when_parts_are_down(tmp_path):
    env = {"NETSTERK_AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:{free_port()}/",
           "NETSTERK_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}", "NETSTERK_SMTP_PORT": str(free_port()),
           "NETSTERK_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "netsterk_ops.cli", "status"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "rabbitmq" in result.stdout and "DOWN" in result.stdout
    assert "temporal" in result.stdout and "down:" in result.stderr


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_claim_message_is_true_once_per_message_and_consumer(backend, tmp_path):
    """The idempotency claim on both databases: True the first time, False after (a -1 rowcount
    from the driver once made every claim look like a duplicate on PostgreSQL)."""
    from sqlalchemy.orm import DeclarativeBase, sessionmaker

    from netsterk.db import ProcessedMessageMixin, claim_message, make_engine
    from netsterk.testing import postgres_database

    class Base(DeclarativeBase):
        pass

    class Processed(ProcessedMessageMixin, Base):
        pass

    def check(url):
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        factory = sessionmaker(engine)
        with factory.begin() as session:
            assert claim_message(session, Processed, "m-1", "svc.handler") is True
            assert claim_message(session, Processed, "m-1", "svc.handler") is False
            assert claim_message(session, Processed, "m-1", "svc.other") is True
        with factory.begin() as session:
            assert claim_message(session, Processed, "m-1", "svc.handler") is False
            assert claim_message(session, Processed, "m-2", "svc.handler") is True
        engine.dispose()

    if backend == "sqlite":
        check(f"sqlite:///{tmp_path / 'claims.db'}")
    else:
        with postgres_database() as url:
            check(url)


def test_queue_collector_reads_depths_and_consumers_of_the_vhost(monkeypatch):
    """Queue depths for /metrics from the real broker's management API; a reply queue of a
    client is left out (its name carries a uuid); an unreachable API gives scrape_ok 0."""
    import time as _time

    from prometheus_client import CollectorRegistry, generate_latest

    from netsterk import metrics

    def scrape(uri):
        registry = CollectorRegistry()
        registry.register(metrics.QueueCollector(uri))
        return metrics.parse(generate_latest(registry).decode())

    with rabbit_vhost("netsterk_queue_metrics") as uri, amqp.connect(uri) as connection:
        channel = connection.channel()
        queue = kombu.Queue("evt-test-depth", durable=True)(channel)
        queue.declare()
        producer = kombu.Producer(channel)
        for i in range(3):
            producer.publish({"i": i}, routing_key="evt-test-depth", serializer="json", delivery_mode=2)
        client = amqp.RpcClient(connection, caller="depthtest")     # a reply queue: not reported
        try:
            deadline = _time.monotonic() + 30   # the management API's figures lag a few seconds
            while True:
                samples = scrape(uri)
                depth = [v for n, labels, v in samples
                         if n == "netsterk_queue_messages" and labels["queue"] == "evt-test-depth"]
                if depth == [3.0] or _time.monotonic() > deadline:
                    break
                _time.sleep(1)
            assert depth == [3.0], samples
            assert ("netsterk_queue_scrape_ok", {}, 1.0) in samples
            assert not any(labels.get("queue", "").startswith("rpc.reply-") for _, labels, _ in samples)
        finally:
            client.close()
        monkeypatch.setenv("NETSTERK_RABBIT_API", f"http://127.0.0.1:{free_port()}")
        assert ("netsterk_queue_scrape_ok", {}, 0.0) in scrape(uri)
