"""`netsterk mail ...`: parse one file with the gateway's parser; list and re-process the
quarantine (over intake's RPC). Never prints a traceback."""
from __future__ import annotations

import json
import sys

from netsterk.settings import get_settings


def _print_json(data) -> None:
    print(json.dumps(data, ensure_ascii=True, indent=2))


def cmd_parse(args) -> int:
    from services.intake.mail.addresses import own_domains
    from services.intake.mail.parse import parse_mail

    try:
        with open(args.file, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror or type(exc).__name__}", file=sys.stderr)
        return 2
    parsed = parse_mail(raw, own_domains=own_domains(get_settings()))
    _print_json(parsed.as_json())
    return 0


def _rpc(method: str, *args):
    from netsterk import amqp

    settings = get_settings()
    return amqp.rpc_call(settings.amqp_uri, "intake", method, *args, timeout=settings.rpc_timeout)


def cmd_quarantine_list(args) -> int:
    try:
        rows = _rpc("mail_quarantine")
    except Exception as exc:
        print(f"quarantine list failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        _print_json(rows)
    elif not rows:
        print("quarantine is empty")
    else:
        for row in rows:
            print(f"{row['id']}  {row['received_at']}  {row['sha256'][:12]}  {row['error']}")
    return 0


def cmd_quarantine_reprocess(args) -> int:
    try:
        result = _rpc("mail_reprocess", args.id)
    except Exception as exc:
        print(f"reprocess failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    _print_json(result)
    return 0 if result.get("status") != "quarantined" else 1


def add_commands(sub) -> None:
    """Adds the `mail` group to the `netsterk` CLI's subparsers."""
    mail = sub.add_parser("mail", help="the e-mail gateway: parse a file, the quarantine")
    group = mail.add_subparsers(dest="mail_command", required=True)
    parse = group.add_parser("parse", help="parse one raw message and print it as JSON")
    parse.add_argument("file")
    parse.set_defaults(func=cmd_parse)
    quarantine = group.add_parser("quarantine", help="messages that could not be processed")
    actions = quarantine.add_subparsers(dest="quarantine_command", required=True)
    listing = actions.add_parser("list", help="list quarantined messages")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_quarantine_list)
    again = actions.add_parser("reprocess", help="process a quarantined message again")
    again.add_argument("id")
    again.set_defaults(func=cmd_quarantine_reprocess)
