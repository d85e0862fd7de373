import socket

import pytest

from netsterk.settings import Settings
from netsterk.testing import free_port, rabbit_vhost


def free_port_base(count: int) -> int:
    """A base port with `count` free ports after it (each process's /metrics: base + its index)."""
    for _ in range(50):
        base = free_port()
        if base + count >= 65000:
            continue
        try:
            for port in range(base, base + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no range of free ports")


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory):
    """The whole system as `make run` starts it (same process manager), on a throw-away vhost,
    free ports and a temporary data folder; the demo network seeded."""
    from netsterk import amqp
    from netsterk_ops import demo
    from netsterk_ops.stack import Stack

    var_dir = tmp_path_factory.mktemp("var")
    with rabbit_vhost("netsterk_e2e") as amqp_uri:
        temporal_port = free_port()
        env = {
            "NETSTERK_VAR_DIR": str(var_dir),
            "NETSTERK_DIGESTS": "off",   # on by default; a test sink holds only what the test caused
            "NETSTERK_AMQP_URI": amqp_uri,
            "NETSTERK_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
            "NETSTERK_TEMPORAL_TASK_QUEUE": "referrals-e2e",
            "NETSTERK_PORTAL_PORT": str(free_port()),
            "NETSTERK_INTAKE_PORT": str(free_port()),
            "NETSTERK_REPORTING_PORT": str(free_port()),
            "NETSTERK_MAILSINK_HTTP_PORT": str(free_port()),
            "NETSTERK_SMTP_PORT": str(free_port()),
            "NETSTERK_INTAKE_SMTP_PORT": str(free_port()),
            "NETSTERK_LOG_LEVEL": "INFO",
            # every process serves /metrics (issue 10: no personal data in metrics)
            "NETSTERK_METRICS_PORT": str(free_port_base(16)),
        }
        settings = Settings(**{k.removeprefix("NETSTERK_").lower(): v for k, v in env.items()})
        stack = Stack(settings, env, echo=False, temporal_ui=False)
        try:
            stack.start()
            stack.wait_ready(timeout=180)
            demo.seed(lambda service, method, *a, **kw: amqp.rpc_call(
                amqp_uri, service, method, *a, timeout=30, **kw))
            yield settings, stack
        except BaseException:
            for log in sorted((var_dir / "log").glob("*.log")):
                print(f"----- {log.name} (tail)\n" + "".join(log.read_text().splitlines(True)[-40:]))
            raise
        finally:
            stack.stop()
