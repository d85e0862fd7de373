"""netsterk.probe against real sockets on the loopback interface."""
import socket

import pytest

from netsterk import probe
from netsterk.settings import Settings


@pytest.fixture
def connected_port():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    yield port
    for sock in (client, accepted, server):
        sock.close()


def test_endpoint_ports_come_from_settings():
    settings = Settings(amqp_uri="pyamqp://u:p@rabbit:5673/vh", temporal_address="temporal:7234")
    assert probe.endpoint_port("amqp", settings) == 5673
    assert probe.endpoint_port("temporal", settings) == 7234
    assert probe.endpoint_port("amqp", Settings(amqp_uri="amqps://u:p@rabbit/")) == 5671
    with pytest.raises(ValueError, match="unknown endpoint 'redis'"):
        probe.endpoint_port("redis", settings)


def test_established_connection_is_seen(connected_port):
    assert connected_port in probe.established_remote_ports()


def test_exit_codes(connected_port, monkeypatch, capsys):
    monkeypatch.setenv("NETSTERK_AMQP_URI", f"pyamqp://guest:guest@127.0.0.1:{connected_port}/")
    monkeypatch.setattr(probe, "get_settings", Settings)
    assert probe.main(["connected", "amqp"]) == 0

    unused = socket.socket()
    unused.bind(("127.0.0.1", 0))
    free_port = unused.getsockname()[1]
    unused.close()
    monkeypatch.setenv("NETSTERK_TEMPORAL_ADDRESS", f"127.0.0.1:{free_port}")
    assert probe.main(["connected", "amqp", "temporal"]) == 1
    assert f"temporal:{free_port}" in capsys.readouterr().err
    assert probe.main(["status"]) == 2
