"""Run one nameko service: `python -m netsterk_ops.run_service intake`.

Applies the service's migrations (unless NETSTERK_MIGRATE_ON_START=0, where a Job migrates),
serves /metrics on NETSTERK_METRICS_PORT (not 0), then runs its container until SIGTERM/SIGINT.
Several replicas may start together: a migration that loses the race is retried."""
try:
    # psycopg 3 (PostgreSQL) must be imported before monkey patching: its module body subclasses
    # queue.Queue[T], which eventlet's green Queue does not support. Its queries then block the
    # process briefly (as SQLite's do) instead of yielding to other greenthreads.
    import psycopg  # noqa: F401
except ImportError:  # SQLite-only installation
    psycopg = None

import eventlet  # noqa: E402

eventlet.monkey_patch()

import importlib  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from netsterk import metrics  # noqa: E402
from netsterk.db import upgrade  # noqa: E402
from netsterk.logging import configure_logging, get_logger  # noqa: E402
from netsterk.nameko_support import EntrypointMetrics  # noqa: E402
from netsterk.settings import SERVICES, get_settings  # noqa: E402


def service_class(name: str):
    module = importlib.import_module(f"services.{name}.service")
    for value in vars(module).values():
        if isinstance(value, type) and getattr(value, "name", None) == name and value.__module__ == module.__name__:
            return value
    raise SystemExit(f"services.{name}.service defines no nameko service named {name!r}")


def instrumented(cls):
    """The service class with EntrypointMetrics added (a subclass: the service stays as is)."""
    return type(cls.__name__, (cls,), {"_entrypoint_metrics": EntrypointMetrics(),
                                       "__module__": cls.__module__})


def schema_is_current(name: str) -> bool:
    """The service's database is at the head revision of its migrations."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from netsterk.db import migrations_dir, service_engine

    config = Config()
    config.set_main_option("script_location", str(migrations_dir(name)))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    engine = service_engine(name)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads()) == heads
    finally:
        engine.dispose()


def wait_for_schema(name: str, log, timeout: float = 600.0) -> None:
    """Where a Job migrates (NETSTERK_MIGRATE_ON_START=0): start only on the current schema."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if schema_is_current(name):
                return
            reason = "behind"
        except Exception as exc:  # the database is not reachable yet
            reason = type(exc).__name__
        if time.monotonic() > deadline:
            raise SystemExit(f"{name}: the database schema is not current ({reason}); run "
                             f"`python -m netsterk_ops.cli migrate {name}`")
        log.info("waiting_for_migrations", reason=reason)
        time.sleep(5)


def migrate(name: str, log, attempts: int = 5) -> None:
    """Alembic upgrade to head; replicas racing on one database: the loser tries again."""
    for attempt in range(1, attempts + 1):
        try:
            upgrade(name)
            return
        except Exception as exc:
            if attempt == attempts:
                raise
            log.warning("migration_retry", attempt=attempt, error=type(exc).__name__)
            time.sleep(attempt)


def register_gauges(name: str) -> None:
    """A service may keep gauges read at scrape time in services/<name>/gauges.py (`collector()`)."""
    try:
        module = importlib.import_module(f"services.{name}.gauges")
    except ModuleNotFoundError as exc:
        if exc.name != f"services.{name}.gauges":
            raise
        return
    metrics.register_collector(module.collector())


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in SERVICES:
        raise SystemExit(f"usage: python -m netsterk_ops.run_service {{{'|'.join(SERVICES)}}}")
    name = argv[0]
    configure_logging(name)
    log = get_logger(__name__)
    settings = get_settings()
    if settings.migrate_on_start:
        migrate(name, log)
    else:
        wait_for_schema(name, log)
    if metrics.serve(name):
        register_gauges(name)
    runner = ServiceRunner(settings.nameko_config(name))
    runner.add_service(instrumented(service_class(name)))

    def shutdown(signum, _frame):
        log.info("service_stopping", signal=signum)
        eventlet.spawn(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    log.info("service_started", metrics_port=settings.metrics_port,
             config={k: v for k, v in settings.nameko_config(name).items() if k != "AMQP_URI"})
    runner.wait()


if __name__ == "__main__":
    main()
