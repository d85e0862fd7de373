"""Run one nameko service: `python -m netsterk_ops.run_service intake`.

Applies the service's migrations, then runs its container until SIGTERM/SIGINT."""
import eventlet

eventlet.monkey_patch()

import importlib  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from netsterk.db import upgrade  # noqa: E402
from netsterk.logging import configure_logging, get_logger  # noqa: E402
from netsterk.settings import SERVICES, get_settings  # noqa: E402


def service_class(name: str):
    module = importlib.import_module(f"services.{name}.service")
    for value in vars(module).values():
        if isinstance(value, type) and getattr(value, "name", None) == name and value.__module__ == module.__name__:
            return value
    raise SystemExit(f"services.{name}.service defines no nameko service named {name!r}")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in SERVICES:
        raise SystemExit(f"usage: python -m netsterk_ops.run_service {{{'|'.join(SERVICES)}}}")
    name = argv[0]
    configure_logging(name)
    log = get_logger(__name__)
    settings = get_settings()
    upgrade(name)
    runner = ServiceRunner(settings.nameko_config(name))
    runner.add_service(service_class(name))

    def shutdown(signum, _frame):
        log.info("service_stopping", signal=signum)
        eventlet.spawn(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    log.info("service_started", config={k: v for k, v in settings.nameko_config(name).items() if k != "AMQP_URI"})
    runner.wait()


if __name__ == "__main__":
    main()
