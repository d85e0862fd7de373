# Service tests run nameko containers in-process: eventlet must patch before anything else loads.
# This conftest is only collected by the services test run (`pytest services`), never together
# with workflows/ (Temporal's asyncio worker breaks under eventlet).
# psycopg 3 must load before the patching, as in netsterk_ops/run_service.py (its module body
# subclasses queue.Queue[T], which eventlet's green Queue does not support).
import psycopg  # noqa: F401

import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402

import pytest  # noqa: E402

from netsterk.settings import get_settings  # noqa: E402
from netsterk.testing import rabbit_vhost  # noqa: E402


def _consume_polling_briefly(consume):
    """nameko's queue consumer notices a stop between two 1 s waits on the socket (kombu's
    safety_interval), so stopping a container took 2-3 s of every service test. Tests poll at
    0.1 s: the same code path, only the idle wait between checks is shorter."""
    def consume_briefly(self, *args, **kwargs):
        kwargs.setdefault("safety_interval", 0.1)
        return consume(self, *args, **kwargs)
    return consume_briefly


from nameko.messaging import QueueConsumer  # noqa: E402

QueueConsumer.consume = _consume_polling_briefly(QueueConsumer.consume)


@pytest.fixture(scope="session")
def amqp_uri():
    with rabbit_vhost("netsterk_svc") as uri:
        yield uri


@pytest.fixture
def settings_env(tmp_path, amqp_uri, monkeypatch):
    """Point settings at a temp var dir (SQLite files there) and the test vhost."""
    monkeypatch.setenv("NETSTERK_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("NETSTERK_AMQP_URI", amqp_uri)
    # intake's per-address rate limit off (tests send many requests); tests of it set their own
    monkeypatch.setenv("NETSTERK_INTAKE_RATE_LIMIT", "0")
    # notifications' digests (on by default) off: a test's mail holds only what it caused; the
    # digest tests call send_daily_digests / send_weekly_overviews themselves
    monkeypatch.setenv("NETSTERK_DIGESTS", "off")
    for key in [k for k in os.environ if k.endswith("_DATABASE_URL") and k.startswith("NETSTERK_")]:
        monkeypatch.delenv(key)
    get_settings.cache_clear()
    from netsterk import crypto
    crypto._fernet.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
    crypto._fernet.cache_clear()


@pytest.fixture
def run_service(settings_env):
    """Start a real nameko container of a service class on the test vhost; stopped after the test.

    Migrations of the service's own database are applied first, as the runner does."""
    from nameko.containers import ServiceContainer

    from netsterk.db import upgrade

    containers = []

    def start(service_cls, **extra_config):
        upgrade(service_cls.name)
        config = settings_env.nameko_config(service_cls.name)
        if "WEB_SERVER_ADDRESS" in config:
            from netsterk.testing import free_port
            config["WEB_SERVER_ADDRESS"] = f"127.0.0.1:{free_port()}"
        config.update(extra_config)
        container = ServiceContainer(service_cls, config)
        container.start()
        containers.append(container)
        return container

    yield start
    for container in reversed(containers):
        container.stop()
