"""The audit log of personal data: append-only and tamper-evident (a keyed hash chain).

Every read and change of personal data is one entry: who (actor), in which role, which record
(type, id, reference), which fields (names only), the action, when, why (the purpose) and from
where (client address or channel). The personal data itself is never written here.

Each service that holds personal data has its own two tables, made by `audit_models(Base)`:
`audit_entry` (the log) and `audit_head` (one row: the last sequence number and hash). An entry's
hash is HMAC-SHA256(audit key, previous hash + the entry's canonical JSON); the head row is
updated in the same transaction, which serialises writers (a row lock on PostgreSQL, the write
lock on SQLite), so the chain never forks. `verify(session, models)` recomputes the chain and
names the first entry that was changed, removed or inserted. Triggers refuse UPDATE and DELETE
on `audit_entry` (migrations: `create_audit_tables`), so tampering needs more than a stray query,
and even then `verify` finds it. The key lives outside the database (settings.audit_key or
`<var_dir>/audit.key`): whoever holds only the database cannot rebuild a valid chain.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import JSON, DateTime, Integer, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from netsterk.db import utcnow
from netsterk.settings import get_settings

GENESIS = "0" * 64
ACTIONS = ("create", "read", "update", "export", "erase", "anonymise", "disclose")
MAX_TEXT = 200


def audit_key() -> bytes:
    settings = get_settings()
    if settings.audit_key:
        return settings.audit_key.encode()
    path = settings.var_dir / "audit.key"
    if not path.exists():
        from netsterk.crypto import create_secret_file

        create_secret_file(path, (os.urandom(32).hex() + "\n").encode())
    return path.read_text().strip().encode()


@dataclass(frozen=True)
class AuditModels:
    entry: type
    head: type


_models: dict[int, AuditModels] = {}


def audit_models(base) -> AuditModels:
    """The audit tables on a service's declarative Base (once per Base)."""
    if id(base) in _models:
        return _models[id(base)]

    class AuditEntry(base):
        __tablename__ = "audit_entry"

        seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
        at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
        actor: Mapped[str] = mapped_column(String(MAX_TEXT))
        role: Mapped[str] = mapped_column(String(32))
        network: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
        record_type: Mapped[str] = mapped_column(String(32))
        record_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
        record_ref: Mapped[str | None] = mapped_column(String(32), nullable=True)
        action: Mapped[str] = mapped_column(String(16))
        fields: Mapped[list] = mapped_column(JSON, default=list)
        purpose: Mapped[str] = mapped_column(String(MAX_TEXT))
        origin: Mapped[str | None] = mapped_column(String(MAX_TEXT), nullable=True)
        prev_hash: Mapped[str] = mapped_column(String(64))
        hash: Mapped[str] = mapped_column(String(64))

    class AuditHead(base):
        __tablename__ = "audit_head"

        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        seq: Mapped[int] = mapped_column(Integer, default=0)
        hash: Mapped[str] = mapped_column(String(64), default=GENESIS)

    models = AuditModels(AuditEntry, AuditHead)
    _models[id(base)] = models
    return models


CHAINED = ("seq", "at", "actor", "role", "network", "record_type", "record_id", "record_ref",
           "action", "fields", "purpose", "origin")


def _at_text(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds")


def canonical(values: dict) -> bytes:
    data = {key: values.get(key) for key in CHAINED}
    data["at"] = _at_text(values["at"])
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(prev_hash: str, values: dict, key: bytes | None = None) -> str:
    return hmac.new(key or audit_key(), prev_hash.encode("ascii") + canonical(values),
                    hashlib.sha256).hexdigest()


def _short(value, limit: int = MAX_TEXT) -> str | None:
    return None if value is None else str(value)[:limit]


def record(session: Session, models: AuditModels, *, actor: str, role: str, action: str,
           record_type: str, record_id: str | None, fields, purpose: str,
           network: str | None = None, record_ref: str | None = None,
           origin: str | None = None, at: datetime | None = None):
    """Append one entry in the caller's transaction (it commits or rolls back with the change it
    records). `fields` are field *names*; never pass values."""
    if action not in ACTIONS:
        raise ValueError(f"audit action must be one of {', '.join(ACTIONS)}")
    if not purpose:
        raise ValueError("an audit entry needs a purpose")
    names = sorted({str(f)[:64] for f in (fields or [])})
    head_table = models.head
    bumped = session.execute(update(head_table).where(head_table.id == 1)
                             .values(seq=head_table.seq + 1).returning(head_table.seq, head_table.hash))
    row = bumped.first()
    if row is None:   # a database whose migration did not create the head row (metadata.create_all)
        try:
            with session.begin_nested():
                session.add(head_table(id=1, seq=1, hash=GENESIS))
            seq, prev = 1, GENESIS
        except IntegrityError:     # another writer created it meanwhile: take our turn after it
            return record(session, models, actor=actor, role=role, action=action, record_type=record_type,
                          record_id=record_id, fields=fields, purpose=purpose, network=network,
                          record_ref=record_ref, origin=origin, at=at)
    else:
        seq, prev = row
    values = {"seq": seq, "at": (at or utcnow()), "actor": _short(actor) or "unknown",
              "role": _short(role, 32) or "unknown", "network": _short(network, 64),
              "record_type": _short(record_type, 32), "record_id": _short(record_id, 64),
              "record_ref": _short(record_ref, 32), "action": action, "fields": names,
              "purpose": _short(purpose), "origin": _short(origin)}
    digest = chain_hash(prev, values)
    session.add(models.entry(**values, prev_hash=prev, hash=digest))
    session.execute(update(head_table).where(head_table.id == 1).values(hash=digest))
    return seq


def entry_dict(row) -> dict:
    return {key: getattr(row, key) for key in CHAINED} | {
        "at": row.at.isoformat() if row.at else None, "hash": row.hash, "prev_hash": row.prev_hash}


def listing(session: Session, models: AuditModels, *, network: str | None = None,
            record_id: str | None = None, limit: int = 200, before: int | None = None) -> list[dict]:
    query = select(models.entry)
    if network is not None:
        query = query.where(models.entry.network == network)
    if record_id is not None:
        query = query.where(models.entry.record_id == record_id)
    if before is not None:
        query = query.where(models.entry.seq < before)
    return [entry_dict(r) for r in session.scalars(query.order_by(models.entry.seq.desc()).limit(limit))]


def verify(session: Session, models: AuditModels, *, batch: int = 1000) -> dict:
    """Recompute the chain. {ok, entries, head_seq, problems: [{seq, problem}]} — a changed
    entry, a gap (an entry removed), a broken link, or a head that does not match the last entry."""
    key = audit_key()
    problems: list[dict] = []
    prev, expected_seq, count, last_seq = GENESIS, 1, 0, 0
    offset = 0
    while True:
        rows = list(session.scalars(select(models.entry).order_by(models.entry.seq)
                                    .offset(offset).limit(batch)))
        if not rows:
            break
        offset += len(rows)
        for row in rows:
            count += 1
            if row.seq != expected_seq:
                problems.append({"seq": row.seq, "problem": f"expected entry {expected_seq} here: "
                                 "entries missing or renumbered"})
            if row.prev_hash != prev:
                problems.append({"seq": row.seq, "problem": "does not link to the entry before it"})
            values = {key_: getattr(row, key_) for key_ in CHAINED}
            if not hmac.compare_digest(chain_hash(row.prev_hash, values, key), row.hash or ""):
                problems.append({"seq": row.seq, "problem": "content does not match its hash (changed)"})
            prev, expected_seq, last_seq = row.hash, row.seq + 1, row.seq
    head = session.get(models.head, 1)
    head_seq = head.seq if head else 0
    if head is not None and (head.seq != last_seq or head.hash != prev):
        problems.append({"seq": head.seq, "problem": "the chain's head does not match the last entry "
                         "(entries removed at the end)"})
    return {"ok": not problems, "entries": count, "head_seq": head_seq, "problems": problems[:50]}


# --- migrations: the two tables and the append-only triggers ------------------------------------

def create_audit_tables(op) -> None:
    """For a service's Alembic migration: audit_entry, audit_head, and triggers that refuse
    UPDATE / DELETE of entries (SQLite and PostgreSQL)."""
    import sqlalchemy as sa

    op.create_table(
        "audit_entry",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(MAX_TEXT), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("network", sa.String(64), index=True),
        sa.Column("record_type", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(64), index=True),
        sa.Column("record_ref", sa.String(32)),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("purpose", sa.String(MAX_TEXT), nullable=False),
        sa.Column("origin", sa.String(MAX_TEXT)),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    # the head row exists from the start: every writer locks it by its UPDATE (no insert race)
    op.execute(f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS}')")
    for statement in append_only_triggers(op.get_bind().dialect.name):
        op.execute(statement)


def append_only_triggers(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"CREATE TRIGGER audit_entry_no_{verb.lower()} BEFORE {verb} ON audit_entry "
                f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
                for verb in ("UPDATE", "DELETE")]
    if dialect == "postgresql":
        return ["CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql",
                "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
                "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"]
    return []


def drop_audit_tables(op) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS audit_entry_append_only()")
    op.drop_table("audit_head")
    op.drop_table("audit_entry")


# --- who is asking: the actor dict passed over RPC ----------------------------------------------

def actor_of(actor: dict | None, *, default_role: str = "system") -> dict:
    """Normalise an RPC caller's {username, role, network, origin, purpose}."""
    actor = actor if isinstance(actor, dict) else {}
    return {"username": _short(actor.get("username")) or "unknown",
            "role": _short(actor.get("role"), 32) or default_role,
            "network": _short(actor.get("network"), 64),
            "origin": _short(actor.get("origin")),
            "purpose": _short(actor.get("purpose"))}
