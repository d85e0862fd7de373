"""`netsterk reports ...`: operations on reporting's store (no nameko: runs from the CLI)."""
from __future__ import annotations

import json
import sys

from sqlalchemy.orm import sessionmaker


def cmd_rebuild(args) -> int:
    """Wipe the fact tables and cells, replay the event log; print what was replayed."""
    from netsterk.db import make_engine, session_scope, upgrade
    from netsterk.settings import get_settings
    from services.reporting import domain

    url = args.database_url or get_settings().database_url("reporting")
    upgrade("reporting", url)
    engine = make_engine(url)
    try:
        factory = sessionmaker(engine, expire_on_commit=False)
        with session_scope(factory) as session:
            before = domain.snapshot_cells(session)
            summary = domain.rebuild(session)
            after = domain.snapshot_cells(session)
            if args.check:
                session.rollback()
                if before != after:
                    changed = len(set(before.items()) ^ set(after.items()))
                    print(f"rebuild differs from the live store in {changed} cell(s); nothing changed",
                          file=sys.stderr)
                    return 1
    finally:
        engine.dispose()
    summary["same_as_before"] = before == after
    print(json.dumps(summary, indent=2) if args.json else
          f"replayed {summary['events']} events into {summary['cells']} cells "
          f"({', '.join(f'{k}: {v}' for k, v in summary['by_type'].items()) or 'no events'}); "
          f"{'same numbers as before' if summary['same_as_before'] else 'numbers changed'}")
    return 0


def add_commands(sub) -> None:
    reports = sub.add_parser("reports", help="reporting store: rebuild from the event log")
    commands = reports.add_subparsers(dest="reports_command", required=True)
    rebuild = commands.add_parser("rebuild", help="replay the event log into fresh fact tables")
    rebuild.add_argument("--check", action="store_true",
                         help="only compare with the live store; change nothing (exit 1 when different)")
    rebuild.add_argument("--json", action="store_true")
    rebuild.add_argument("--database-url", help="default: settings (NETSTERK_REPORTING_DATABASE_URL)")
    rebuild.set_defaults(func=cmd_rebuild)
