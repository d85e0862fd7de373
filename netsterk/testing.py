"""Helpers for tests: a throw-away RabbitMQ vhost, free ports, waiting for things.

Real broker, no mocks: a vhost per test session keeps runs (and parallel runs) apart."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import uuid
from contextlib import contextmanager, suppress

import requests

RABBIT_HOST = os.environ.get("NETSTERK_TEST_RABBIT_HOST", "127.0.0.1")
RABBIT_API = os.environ.get("NETSTERK_TEST_RABBIT_API", f"http://{RABBIT_HOST}:15672")


def _api_available() -> bool:
    try:
        return requests.get(f"{RABBIT_API}/api/overview", auth=("guest", "guest"), timeout=2).ok
    except requests.RequestException:
        return False


def _ctl(*args: str) -> None:
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([ctl, *args], check=True, capture_output=True, timeout=60)


def create_vhost(name: str) -> None:
    if _api_available():
        quoted = urllib.parse.quote(name, safe="")
        requests.put(f"{RABBIT_API}/api/vhosts/{quoted}", auth=("guest", "guest"), timeout=10).raise_for_status()
        requests.put(f"{RABBIT_API}/api/permissions/{quoted}/guest", auth=("guest", "guest"), timeout=10,
                     json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    else:
        _ctl("add_vhost", name)
        _ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")


def delete_vhost(name: str) -> None:
    if _api_available():
        requests.delete(f"{RABBIT_API}/api/vhosts/{urllib.parse.quote(name, safe='')}",
                        auth=("guest", "guest"), timeout=10)
    else:
        subprocess.run([shutil.which("rabbitmqctl") or "rabbitmqctl", "delete_vhost", name],
                       capture_output=True, timeout=60)


@contextmanager
def rabbit_vhost(prefix: str = "netsterk_test"):
    """Yield the AMQP URI of a fresh vhost; delete it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    create_vhost(name)
    try:
        yield f"pyamqp://guest:guest@{RABBIT_HOST}:5672/{name}"
    finally:
        delete_vhost(name)


def _ephemeral_floor() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_range(count: int = 1) -> int:
    """A base port with `count` free ports after it, chosen at random BELOW the kernel's ephemeral
    range: a port from that range can be taken by any outgoing connection (a broker client, a
    Temporal client) between the test picking it and the service binding it."""
    import random

    ceiling = min(_ephemeral_floor(), 65000) - count
    for _ in range(200):
        base = random.randrange(20000, max(ceiling, 20001))
        if all(_bindable(port) for port in range(base, base + count)):
            return base
    raise RuntimeError(f"no {count} free ports in a row below the ephemeral range")


def free_port() -> int:
    return free_port_range(1)


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.2, what: str = "condition"):
    """Poll `predicate` until it returns a truthy value; return it, or fail with `what`."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # the thing is not up yet
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}; last error: {last_error!r}")


TEST_PG = os.environ.get("NETSTERK_TEST_PG", "postgres@127.0.0.1:5432")


def create_postgres_database() -> tuple[str, "callable"]:
    """(SQLAlchemy URL, drop) of a new, empty database on the test PostgreSQL (trust auth)."""
    import psycopg

    name = f"netsterk_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"postgresql://{TEST_PG}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(f"postgresql://{TEST_PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    return f"postgresql+psycopg://{TEST_PG}/{name}", drop


@contextmanager
def postgres_database():
    """A throw-away PostgreSQL database for one test; dropped afterwards."""
    url, drop = create_postgres_database()
    try:
        yield url
    finally:
        drop()


@contextmanager
def database_of(kind: str, tmp_path, name: str):
    """A URL of an empty database for one test: `sqlite` (a file in tmp_path) or `postgresql`
    (a throw-away database), for tests that run on both."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / f'{name}.db'}"
    else:
        with postgres_database() as url:
            yield url


def source_address_adapter(address: str):
    """A requests transport adapter that connects from another loopback address (127.0.0.0/8),
    so a test client gets a rate-limit budget of its own. Mount it on a requests.Session."""
    from requests.adapters import HTTPAdapter

    class SourceAddress(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            kwargs["source_address"] = (address, 0)
            super().init_poolmanager(*args, **kwargs)

    return SourceAddress()


def erasure_event(referral_id: str, ref: str = "NS-2026-000042", network: str = "mechelen") -> dict:
    """An `intake.referral_erased` envelope as intake publishes it (references only)."""
    from netsterk.contracts import REFERRAL_ERASED
    from netsterk.envelope import make_envelope

    return make_envelope(REFERRAL_ERASED, {"referral_id": referral_id, "ref": ref, "network": network,
                                           "at": "2026-12-02T10:00:00+00:00"},
                         network=network, referral_ref=ref)


@contextmanager
def erasure_receipts(amqp_uri: str, service: str):
    """A queue bound to `<service>.erasure_confirmed`; yields take(count) -> the receipts, waited for."""
    import kombu

    from netsterk import amqp
    from netsterk.contracts import ERASURE_CONFIRMED

    name = f"test-receipts-{service}-{uuid.uuid4().hex[:6]}"
    with amqp.connect(amqp_uri) as connection:
        queue = kombu.Queue(name, exchange=amqp.event_exchange(service), routing_key=ERASURE_CONFIRMED)
        queue(connection.channel()).declare()
        received: list = []

        def take(count: int = 1, timeout: float = 30.0) -> list:
            with connection.SimpleQueue(name, no_ack=True) as simple:
                def enough():
                    with suppress(simple.Empty):
                        received.append(simple.get(block=True, timeout=0.5).payload)
                    return len(received) >= count
                wait_until(enough, timeout=timeout, what=f"{count} erasure receipt(s) of {service}")
            taken = received[:count]
            del received[:count]
            return taken
        try:
            yield take
        finally:
            queue(connection.channel()).delete()
