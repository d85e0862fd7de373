"""`netsterk`: status, seed-demo, directory, migrate, run, urls, dlq."""
from __future__ import annotations

import argparse
import json
import os
import sys

from netsterk.settings import SERVICES, get_settings


def cmd_status(args) -> int:
    from netsterk_ops.health import run_checks

    checks = run_checks(get_settings())
    if args.json:
        print(json.dumps([c.__dict__ for c in checks], indent=2))
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            print(f"{c.name:<{width}}  {'up  ' if c.ok else 'DOWN'}  {c.detail}")
    down = [c.name for c in checks if not c.ok]
    if down and not args.json:
        print(f"\n{len(down)} part(s) down: {', '.join(down)}", file=sys.stderr)
    return 1 if down else 0


def cmd_seed_demo(args) -> int:
    return seed_demo(extra=args.extra)


def seed_demo(*, extra: int = 0) -> int:
    """Seed the demo network through the services' RPC; used by `seed-demo` and `netsterk run`."""
    from netsterk import amqp
    from netsterk_ops import demo

    settings = get_settings()

    def call(service, method, *a, **kw):
        return amqp.rpc_call(settings.amqp_uri, service, method, *a, timeout=settings.rpc_timeout, **kw)

    try:
        result = demo.seed(call, extra=extra)
    except Exception as exc:
        print(f"seed-demo failed: {type(exc).__name__}: {exc}\n"
              "Are the services running? (`netsterk status`)", file=sys.stderr)
        return 1
    print(f"Demo network {result['network']!r} seeded: {result['directory']}, {result['users']} users.")
    return 0


def cmd_directory(args) -> int:
    """`netsterk directory import|export`: the offer directory as HSDS 3.0 JSON or CSV."""
    from netsterk_ops.directory_cli import run

    return run(args, get_settings())


def cmd_migrate(args) -> int:
    from netsterk.db import upgrade

    unknown = [s for s in args.services if s not in SERVICES]
    if unknown:
        print(f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(SERVICES)}", file=sys.stderr)
        return 2
    for service in args.services or SERVICES:
        upgrade(service)
        print(f"{service}: migrated")
    return 0


def cmd_urls(args) -> int:
    from netsterk_ops.stack import urls

    print(urls(get_settings()))
    return 0


def cmd_run(args) -> int:
    from netsterk_ops.stack import run_forever

    return run_forever(seed=not args.no_seed)


def cmd_totp(args) -> int:
    """Print the current 6-digit code (RFC 6238), for signing in to the demo portal."""
    from netsterk_ops.demo import DEMO_TOTP_SECRET
    from services.portal.auth import totp

    print(totp(args.key or DEMO_TOTP_SECRET))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="netsterk", description="Netsterk operations")
    sub = parser.add_subparsers(dest="command", required=True)
    status = sub.add_parser("status", help="health of broker, Temporal, every service and worker")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    seed = sub.add_parser("seed-demo", help="seed the demo network Mechelen (idempotent)")
    seed.add_argument("--extra", type=int, default=0, metavar="N",
                      help="also import N generated offers (scale tests)")
    seed.set_defaults(func=cmd_seed_demo)
    directory = sub.add_parser("directory", help="import or export a network's offer directory")
    directory_sub = directory.add_subparsers(dest="action", required=True)
    for action, text in (("import", "validate and import a file (nothing changes when a row is bad)"),
                         ("export", "write the directory to a file or stdout")):
        cmd = directory_sub.add_parser(action, help=text)
        cmd.add_argument("--network", required=True)
        cmd.add_argument("--format", choices=("hsds", "csv"), help="default: from the file name")
        if action == "import":
            cmd.add_argument("file")
        else:
            cmd.add_argument("--output", "-o", help="file (default: stdout)")
            cmd.add_argument("--public", action="store_true", help="HSDS without staff contacts")
        cmd.set_defaults(func=cmd_directory)
    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("services", nargs="*", help=f"some of {', '.join(SERVICES)} (default: all)")
    migrate.set_defaults(func=cmd_migrate)
    sub.add_parser("urls", help="where to look").set_defaults(func=cmd_urls)
    totp = sub.add_parser("totp", help="the current sign-in code (TOTP) of a key; default: the demo accounts' key")
    totp.add_argument("key", nargs="?", help="base32 key (default: netsterk_ops.demo.DEMO_TOTP_SECRET)")
    totp.set_defaults(func=cmd_totp)
    run = sub.add_parser("run", help="start the whole system on this machine (Ctrl-C stops it)")
    run.add_argument("--no-seed", action="store_true")
    run.set_defaults(func=cmd_run)
    from services.intake.mail.commands import add_commands as add_mail_commands
    add_mail_commands(sub)
    from services.reporting.commands import add_commands as add_reports_commands
    add_reports_commands(sub)
    from netsterk_ops.dlq import add_commands as add_dlq_commands
    add_dlq_commands(sub)
    from netsterk_ops.privacy_cli import add_commands as add_privacy_commands
    add_privacy_commands(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def run() -> None:
    """The console script: after a command that loaded the Temporal SDK (status), leave with
    os._exit once output is flushed (STACK.md: the SDK's crash at interpreter exit)."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if "temporalio" in sys.modules:
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
