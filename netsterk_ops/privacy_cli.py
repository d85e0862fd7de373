"""`netsterk keys ...` and `netsterk audit ...`: key rotation of the field encryption and the
audit log's chain check, run by an operator against the services' databases (settings give the
URLs and the keyring, as for the services themselves).

    netsterk keys status          which keys are in the ring, how many values each still needs
    netsterk keys rotate          add a new primary key, re-encrypt every encrypted column
    netsterk keys reencrypt       re-encrypt with the current primary key (after a new key was
                                  put first in NETSTERK_FIELD_KEY)
    netsterk keys retire          drop the old keys, once nothing needs them any more
    netsterk audit verify         recompute every audit chain (from the anchor of its last archive);
                                  exit 1 when one is broken
    netsterk audit verify --archive FILE
                                  recompute the chain in an archive file (and match it with the
                                  database's anchor when that is reachable)
    netsterk audit archive [--before DATE] [--output FILE]
                                  move the entries older than DATE (default: the retention period,
                                  settings.audit_retention_months) to a JSON-lines file (0600, written
                                  atomically) and remove them; the chain stays verifiable
"""
from __future__ import annotations

import importlib
import json
import os
import sys

import sqlalchemy as sa

from netsterk.settings import SERVICES, get_settings

# the modules that declare each service's tables (a service's Base collects them)
MODEL_MODULES = {
    "intake": ("services.intake.models", "services.intake.mail.models"),
    "matching": ("services.matching.models",),
    "notifications": ("services.notifications.models",),
    "reporting": ("services.reporting.models",),
    "portal": ("services.portal.models",),
}
AUDITED = ("intake",)


def _metadata(service: str):
    modules = [importlib.import_module(name) for name in MODEL_MODULES[service]]
    return modules[0].Base.metadata


def encrypted_columns(service: str) -> dict[str, tuple[list[str], list[str]]]:
    """{table: ([primary key columns], [encrypted columns])} of one service."""
    from netsterk.crypto import EncryptedText

    found = {}
    for table in _metadata(service).sorted_tables:
        columns = [c.name for c in table.columns if isinstance(c.type, EncryptedText)]
        if columns:
            found[table.name] = ([c.name for c in table.primary_key.columns], columns)
    return found


def _engine(service: str):
    from netsterk.db import make_engine

    return make_engine(get_settings().database_url(service))


def _exists(service: str) -> bool:
    """False for a SQLite file that was never created (do not create an empty one)."""
    url = get_settings().database_url(service)
    if url.startswith("sqlite:///"):
        from pathlib import Path
        return Path(url.removeprefix("sqlite:///")).exists()
    return True


def _tables_present(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def reencrypt(service: str, *, batch: int = 500, dry_run: bool = False) -> dict:
    """Re-encrypt every encrypted value of a service with the primary key; returns counts."""
    from netsterk.crypto import primary_decrypts, rotate_token

    counts = {"values": 0, "reencrypted": 0}
    if not _exists(service):
        return counts
    engine = _engine(service)
    try:
        present = _tables_present(engine)
        for table, (keys, columns) in encrypted_columns(service).items():
            if table not in present:
                continue
            q = lambda name: engine.dialect.identifier_preparer.quote(name)  # noqa: E731
            key_list = ", ".join(q(k) for k in keys)
            for column in columns:
                select_sql = sa.text(f"SELECT {key_list}, {q(column)} FROM {q(table)} "
                                     f"WHERE {q(column)} IS NOT NULL AND {q(column)} <> ''")
                where = " AND ".join(f"{q(k)} = :k{i}" for i, k in enumerate(keys))
                update_sql = sa.text(f"UPDATE {q(table)} SET {q(column)} = :value WHERE {where}")
                with engine.connect() as connection:
                    rows = connection.execute(select_sql).all()
                pending = []
                for row in rows:
                    counts["values"] += 1
                    token = row[-1]
                    if primary_decrypts(token):
                        continue
                    pending.append({"value": rotate_token(token),
                                    **{f"k{i}": row[i] for i in range(len(keys))}})
                counts["reencrypted"] += len(pending)
                if dry_run:
                    continue
                for start in range(0, len(pending), batch):
                    with engine.begin() as connection:
                        connection.execute(update_sql, pending[start:start + batch])
        if not dry_run and counts["reencrypted"] and service in AUDITED:
            _audit_rotation(engine, service, counts["reencrypted"])
    finally:
        engine.dispose()
    return counts


def _audit_rotation(engine, service: str, count: int) -> None:
    from sqlalchemy.orm import Session

    from netsterk import audit

    models = audit.audit_models(importlib.import_module(MODEL_MODULES[service][0]).Base)
    if "audit_entry" not in _tables_present(engine):
        return
    with Session(engine) as session, session.begin():
        audit.record(session, models, actor="netsterk keys", role="ops", action="update",
                     record_type="keyring", record_id=None, fields=["*encrypted columns*"],
                     purpose=f"key rotation: {count} values re-encrypted", origin="cli")


def still_needing_old_keys() -> dict[str, int]:
    return {s: c["reencrypted"] for s in SERVICES if (c := reencrypt(s, dry_run=True))["reencrypted"]}


def verify_audit(service: str) -> dict:
    from sqlalchemy.orm import Session

    from netsterk import audit

    if not _exists(service):
        return {"ok": True, "entries": 0, "head_seq": 0, "problems": [], "note": "no database"}
    engine = _engine(service)
    try:
        if "audit_entry" not in _tables_present(engine):
            return {"ok": True, "entries": 0, "head_seq": 0, "problems": [], "note": "no audit table"}
        models = audit.audit_models(importlib.import_module(MODEL_MODULES[service][0]).Base)
        with Session(engine) as session:
            return audit.verify(session, models)
    finally:
        engine.dispose()


# --- commands ------------------------------------------------------------------------------------

def cmd_keys(args) -> int:
    from netsterk import crypto

    try:
        if args.keys_action == "status":
            keys = crypto.load_keys()
            print(f"keyring: {'NETSTERK_FIELD_KEY' if crypto.keys_from_environment() else crypto.keyring_path()}")
            print("keys (primary first): " + ", ".join(crypto.key_id(k) for k in keys))
            for service, count in still_needing_old_keys().items():
                print(f"{service}: {count} values still encrypted with an older key")
            return 0
        if args.keys_action == "rotate":
            new = crypto.add_primary_key()
            print(f"new primary key {new} added to {crypto.keyring_path()}")
        if args.keys_action in ("rotate", "reencrypt"):
            total = 0
            for service in SERVICES:
                counts = reencrypt(service)
                total += counts["reencrypted"]
                print(f"{service}: {counts['values']} encrypted values, {counts['reencrypted']} re-encrypted")
            print(f"re-encrypted {total} values with key {crypto.key_id(crypto.load_keys()[0])}; "
                  "retire the old keys with `netsterk keys retire` once every replica runs with the new ring")
            return 0
        if args.keys_action == "retire":
            if get_settings().temporal_encrypt_payloads and not args.force:
                print("refused: Temporal keeps workflow histories immutable, their payloads stay encrypted "
                      "with the key of their day until Temporal deletes them (namespace retention after a "
                      "workflow closed; a referral's workflow runs until its retention timer). Retire an old "
                      "key only when no such history is kept any more, then add --force.", file=sys.stderr)
                return 1
            needing = still_needing_old_keys()
            if needing:
                print("refused: values still need an older key: " +
                      ", ".join(f"{s} {n}" for s, n in needing.items()) + "; run `netsterk keys reencrypt`",
                      file=sys.stderr)
                return 1
            print(f"retired {crypto.retire_old_keys()} old key(s)")
            return 0
    except crypto.KeyringError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 2


def retention_cutoff(now, months: int):
    """The moment `months` (of 365.25 / 12 days: a day's precision is plenty for a retention of
    years) before `now`."""
    from datetime import timedelta

    return now - timedelta(days=round(months * 365.25 / 12))


def archive_audit(service: str, before, output=None) -> dict:
    """Archive `service`'s audit entries made before `before` (netsterk.audit.archive)."""
    from pathlib import Path

    from netsterk import audit
    from netsterk.db import session_scope
    from sqlalchemy.orm import sessionmaker

    if not _exists(service):
        return {"archived": 0, "path": None, "note": "no database"}
    engine = _engine(service)
    try:
        if "audit_anchor" not in _tables_present(engine):
            raise audit.ArchiveError(f"{service}: the audit tables lack the anchor; run `netsterk migrate`")
        models = audit.audit_models(importlib.import_module(MODEL_MODULES[service][0]).Base)
        path = Path(output) if output else (get_settings().var_dir / "audit-archive" /
                                            f"{service}-audit-{before:%Y%m%d}-{os.getpid()}.jsonl")
        with session_scope(sessionmaker(engine)) as session:
            return audit.archive(session, models, before=before, path=path, service=service)
    finally:
        engine.dispose()


def verify_archive_file(path: str) -> dict:
    """An archive file's chain, and its anchor in the database of the service it names."""
    from sqlalchemy.orm import Session

    from netsterk import audit

    anchors = None
    try:
        with open(path, encoding="utf-8") as handle:
            service = json.loads(handle.readline() or "{}").get("service")
    except (OSError, ValueError):
        service = None
    if service in AUDITED and _exists(service):
        engine = _engine(service)
        try:
            if "audit_anchor" in _tables_present(engine):
                models = audit.audit_models(importlib.import_module(MODEL_MODULES[service][0]).Base)
                with Session(engine) as session:
                    anchors = {a.seq: (a.hash, a.file_digest) for a in session.scalars(sa.select(models.anchor))}
        finally:
            engine.dispose()
    return audit.verify_archive(path, anchors)


def _parse_date(text: str):
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"error: --before {text!r} is not a date (YYYY-MM-DD)") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def cmd_audit_archive(args) -> int:
    from datetime import datetime, timezone

    from netsterk import audit

    if args.before:
        before = _parse_date(args.before)
    else:
        before = retention_cutoff(datetime.now(timezone.utc), get_settings().audit_retention_months)
    try:
        for service in AUDITED:
            result = archive_audit(service, before, args.output)
            if result["archived"]:
                print(f"{service}: archived {result['archived']} entries "
                      f"({result['first_seq']}–{result['last_seq']}, before {before:%Y-%m-%d}) to {result['path']}")
            else:
                print(f"{service}: no entries before {before:%Y-%m-%d}")
    except audit.ArchiveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_audit(args) -> int:
    if args.archive:
        from netsterk import audit
        try:
            result = verify_archive_file(args.archive)
        except audit.ArchiveError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(result, indent=2, default=str))
        else:
            state = "intact" if result["ok"] else "BROKEN"
            print(f"{args.archive}: chain {state}, {result['entries']} entries "
                  f"({result['first_seq']}–{result['last_seq']})")
            for problem in result["problems"]:
                print(f"  entry {problem['seq']}: {problem['problem']}")
        return 0 if result["ok"] else 1
    results = {service: verify_audit(service) for service in AUDITED}
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        for service, result in results.items():
            state = "intact" if result["ok"] else "BROKEN"
            since = f" (kept from entry {result['anchor_seq'] + 1}, earlier ones archived)" \
                if result.get("anchor_seq") else ""
            print(f"{service}: chain {state}, {result['entries']} entries{since}")
            for problem in result["problems"]:
                print(f"  entry {problem['seq']}: {problem['problem']}")
    return 0 if all(r["ok"] for r in results.values()) else 1


def add_commands(sub) -> None:
    keys = sub.add_parser("keys", help="field encryption keys: status, rotate (re-encrypt), retire")
    keys_sub = keys.add_subparsers(dest="keys_action", required=True)
    for action, text in (("status", "the keys in the ring and what still needs an old one"),
                         ("rotate", "add a new primary key and re-encrypt every encrypted column"),
                         ("reencrypt", "re-encrypt every encrypted column with the primary key"),
                         ("retire", "drop the old keys once nothing needs them")):
        command = keys_sub.add_parser(action, help=text)
        command.set_defaults(func=cmd_keys)
        if action == "retire":
            command.add_argument("--force", action="store_true",
                                 help="no Temporal history encrypted with an old key is kept any more")
    audit = sub.add_parser("audit", help="the audit log of personal data")
    audit_sub = audit.add_subparsers(dest="audit_action", required=True)
    verify = audit_sub.add_parser("verify", help="recompute the hash chain; exit 1 when it was tampered with")
    verify.add_argument("--json", action="store_true")
    verify.add_argument("--archive", metavar="FILE", help="verify an archive file instead of the databases")
    verify.set_defaults(func=cmd_audit)
    archive = audit_sub.add_parser("archive", help="move old entries to an archive file (retention); "
                                   "the chain stays verifiable")
    archive.add_argument("--before", metavar="DATE", help="archive entries made before this date "
                         "(default: today minus settings.audit_retention_months)")
    archive.add_argument("--output", metavar="FILE", help="the archive file (default var/audit-archive/...)")
    archive.set_defaults(func=cmd_audit_archive)
