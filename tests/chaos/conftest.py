"""The stack the fault tests break and mend: its own (single replica, SQLite, its own Temporal dev
server and mail sink, a throw-away vhost), so a fault never reaches the other end-to-end tests.
Every fault test adds one row to RESULTS; the run ends with the table (`make chaos`)."""
from __future__ import annotations

import pytest

from netsterk.settings import Settings
from netsterk.testing import create_postgres_database, free_port, rabbit_vhost

RESULTS: list[dict] = []
COLUMNS = ("fault", "submitted", "complete", "duplicates", "lost")


@pytest.fixture(scope="session")
def chaos_stack(tmp_path_factory):
    from netsterk import amqp
    from netsterk_ops import demo
    from netsterk_ops.stack import Stack

    var_dir = tmp_path_factory.mktemp("var-chaos")
    # reporting runs on PostgreSQL (the others on SQLite): the database-outage fault needs a
    # server that can refuse connections
    reporting_url, drop_reporting = create_postgres_database()
    with rabbit_vhost("netsterk_chaos") as amqp_uri:
        env = {
            "NETSTERK_REPORTING_DATABASE_URL": reporting_url,
            "NETSTERK_VAR_DIR": str(var_dir),
            "NETSTERK_DIGESTS": "off",   # on by default; a test sink holds only what the test caused
            "NETSTERK_AMQP_URI": amqp_uri,
            "NETSTERK_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
            "NETSTERK_TEMPORAL_TASK_QUEUE": "referrals-chaos",
            "NETSTERK_PORTAL_PORT": str(free_port()),
            "NETSTERK_INTAKE_PORT": str(free_port()),
            "NETSTERK_INTAKE_RATE_LIMIT": "0",   # load from one address on purpose (issue 10's limit off)
            "NETSTERK_REPORTING_PORT": str(free_port()),
            "NETSTERK_MAILSINK_HTTP_PORT": str(free_port()),
            "NETSTERK_SMTP_PORT": str(free_port()),
            "NETSTERK_INTAKE_SMTP_PORT": str(free_port()),
            "NETSTERK_LOG_LEVEL": "INFO",
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
            drop_reporting()


def format_table(rows: list[dict]) -> str:
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS]
    line = lambda values: "  ".join(str(v).ljust(w) for v, w in zip(values, widths))  # noqa: E731
    return "\n".join([line(COLUMNS), line("-" * w for w in widths), *(line(r[c] for c in COLUMNS) for r in rows)])


def pytest_terminal_summary(terminalreporter):
    if RESULTS:
        terminalreporter.write_sep("=", "faults: every submitted referral once in every service")
        terminalreporter.write_line(format_table(RESULTS))
