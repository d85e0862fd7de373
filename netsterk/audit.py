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

Retention: `archive` moves the entries older than a cutoff to a JSON-lines file (with the chain's
anchors) and removes them; an `audit_anchor` row (the last archived entry's seq and hash, MAC'd
with the key) lets `verify` start where the kept entries begin, and `verify_archive` checks a file.
The triggers let an entry be deleted only once an anchor covers it (`create_audit_anchor`).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import JSON, DateTime, Integer, String, delete, select, update
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
    anchor: type


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

    class AuditAnchor(base):
        """Where the kept chain starts after an archive: the last archived entry's seq and hash,
        MAC'd with the audit key (a forged anchor does not verify)."""
        __tablename__ = "audit_anchor"

        seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
        hash: Mapped[str] = mapped_column(String(64))
        first_seq: Mapped[int] = mapped_column(Integer)
        entries: Mapped[int] = mapped_column(Integer)
        archived_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
        file_digest: Mapped[str] = mapped_column(String(64))
        mac: Mapped[str] = mapped_column(String(64))

    models = AuditModels(AuditEntry, AuditHead, AuditAnchor)
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


def anchor_mac(values: dict, key: bytes | None = None) -> str:
    text = "|".join(str(values[k]) for k in ("seq", "hash", "first_seq", "entries", "file_digest"))
    return hmac.new(key or audit_key(), b"anchor|" + text.encode("utf-8"), hashlib.sha256).hexdigest()


def latest_anchor(session: Session, models: AuditModels):
    return session.scalars(select(models.anchor).order_by(models.anchor.seq.desc()).limit(1)).first()


def _check_rows(rows, key: bytes, state: dict, problems: list[dict]) -> None:
    """Continue a chain check over `rows` (entry objects or dicts); `state` holds prev, expected_seq,
    count, last_seq."""
    for row in rows:
        get = row.get if isinstance(row, dict) else (lambda name, _row=row: getattr(_row, name))
        seq = get("seq")
        state["count"] += 1
        if seq != state["expected_seq"]:
            problems.append({"seq": seq, "problem": f"expected entry {state['expected_seq']} here: "
                             "entries missing or renumbered"})
        if get("prev_hash") != state["prev"]:
            problems.append({"seq": seq, "problem": "does not link to the entry before it"})
        values = {name: get(name) for name in CHAINED}
        if isinstance(values["at"], str):
            values["at"] = datetime.fromisoformat(values["at"])
        if not hmac.compare_digest(chain_hash(get("prev_hash") or "", values, key), get("hash") or ""):
            problems.append({"seq": seq, "problem": "content does not match its hash (changed)"})
        state.update(prev=get("hash"), expected_seq=seq + 1, last_seq=seq)


def verify(session: Session, models: AuditModels, *, batch: int = 1000) -> dict:
    """Recompute the chain, from the anchor of the last archive when there is one.
    {ok, entries, head_seq, anchor_seq, problems: [{seq, problem}]} — a changed entry, a gap (an
    entry removed), a broken link, a forged anchor, or a head that does not match the last entry."""
    key = audit_key()
    problems: list[dict] = []
    anchor = latest_anchor(session, models)
    state = {"prev": GENESIS, "expected_seq": 1, "count": 0, "last_seq": 0}
    if anchor is not None:
        values = {k: getattr(anchor, k) for k in ("seq", "hash", "first_seq", "entries", "file_digest")}
        if not hmac.compare_digest(anchor_mac(values, key), anchor.mac or ""):
            problems.append({"seq": anchor.seq, "problem": "the archive anchor does not match its MAC (forged)"})
        state.update(prev=anchor.hash, expected_seq=anchor.seq + 1, last_seq=anchor.seq)
    last_id = state["last_seq"]
    while True:
        rows = list(session.scalars(select(models.entry).where(models.entry.seq > last_id)
                                    .order_by(models.entry.seq).limit(batch)))
        if not rows:
            break
        last_id = rows[-1].seq
        _check_rows(rows, key, state, problems)
    head = session.get(models.head, 1)
    head_seq = head.seq if head else 0
    if head is not None and (head.seq != state["last_seq"] or head.hash != state["prev"]):
        problems.append({"seq": head.seq, "problem": "the chain's head does not match the last entry "
                         "(entries removed at the end)"})
    return {"ok": not problems, "entries": state["count"], "head_seq": head_seq,
            "anchor_seq": anchor.seq if anchor is not None else 0, "problems": problems[:50]}


# --- retention: archive old entries to a file, keep the chain verifiable --------------------------

ARCHIVE_FORMAT = "netsterk-audit-archive"


class ArchiveError(RuntimeError):
    """The archive was not made (nothing was removed); the message says why."""


def _write_private(path: Path, lines) -> str:
    """Write `lines` to `path` atomically (a 0600 temporary file, fsync, rename); the SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            for line in lines:
                data = line.encode("utf-8") + b"\n"
                digest.update(data)
                handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            raise ArchiveError(f"{path} exists already; choose another file")
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return digest.hexdigest()


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def archive(session: Session, models: AuditModels, *, before: datetime, path: Path,
            service: str = "") -> dict:
    """Move the entries made before `before` to the JSON-lines file `path` (a header line with the
    chain's anchors `from` (where these entries link to) and `to` (the last one), then one entry
    a line), record the anchor and remove the entries — in the caller's transaction, after the
    file is on disk. Refuses a broken chain (it would hide the break) and an existing file.
    {archived, first_seq, last_seq, path}; archived 0 (and no file) when nothing is old enough."""
    checked = verify(session, models)
    if not checked["ok"]:
        raise ArchiveError("the audit chain is broken (run `netsterk audit verify`); nothing archived")
    if path.exists():
        raise ArchiveError(f"{path} exists already; choose another file")
    before = _utc(before)
    anchor = latest_anchor(session, models)
    start = {"seq": anchor.seq, "hash": anchor.hash} if anchor is not None else {"seq": 0, "hash": GENESIS}
    taken: list[dict] = []
    for row in session.scalars(select(models.entry).where(models.entry.seq > start["seq"])
                               .order_by(models.entry.seq)).yield_per(1000):
        if _utc(row.at) >= before:
            break
        taken.append(entry_dict(row))
    if not taken:
        return {"archived": 0, "first_seq": None, "last_seq": None, "path": None}
    end = {"seq": taken[-1]["seq"], "hash": taken[-1]["hash"]}
    now = utcnow()
    header = {"format": ARCHIVE_FORMAT, "version": 1, "service": service, "archived_at": now.isoformat(),
              "before": before.isoformat(), "entries": len(taken), "from": start, "to": end}
    dump = lambda value: json.dumps(value, sort_keys=True, ensure_ascii=False)  # noqa: E731
    digest = _write_private(path, [dump(header)] + [dump(entry) for entry in taken])
    values = {"seq": end["seq"], "hash": end["hash"], "first_seq": taken[0]["seq"],
              "entries": len(taken), "file_digest": digest}
    session.add(models.anchor(**values, archived_at=now, mac=anchor_mac(values)))
    session.flush()            # the anchor first: the trigger lets only anchored entries go
    session.execute(delete(models.entry).where(models.entry.seq <= end["seq"]))
    return {"archived": len(taken), "first_seq": taken[0]["seq"], "last_seq": end["seq"],
            "path": str(path), "file_digest": digest}


def verify_archive(path: Path, anchors=None) -> dict:
    """Recompute the chain in an archive file: every entry's hash, the links from the header's
    `from` anchor to its `to` anchor. With `anchors` ({seq: (hash, file_digest)} from the
    database) also that the database's anchor names this very file.
    {ok, entries, first_seq, last_seq, problems}."""
    problems: list[dict] = []
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            lines = handle.read().splitlines(keepends=True)
    except OSError as exc:
        raise ArchiveError(f"cannot read {path}: {exc.strerror}") from None
    for line in lines:
        digest.update(line)
    try:
        header = json.loads(lines[0]) if lines else {}
        entries = [json.loads(line) for line in lines[1:] if line.strip()]
    except (ValueError, UnicodeDecodeError):
        raise ArchiveError(f"{path} is not an audit archive (not JSON lines)") from None
    if header.get("format") != ARCHIVE_FORMAT or "from" not in header or "to" not in header:
        raise ArchiveError(f"{path} is not an audit archive (no {ARCHIVE_FORMAT} header)")
    state = {"prev": header["from"]["hash"], "expected_seq": header["from"]["seq"] + 1,
             "count": 0, "last_seq": header["from"]["seq"]}
    _check_rows(entries, audit_key(), state, problems)
    if state["count"] != header.get("entries"):
        problems.append({"seq": state["last_seq"], "problem": f"the header announces {header.get('entries')} "
                         f"entries, the file holds {state['count']}"})
    if (state["last_seq"], state["prev"]) != (header["to"]["seq"], header["to"]["hash"]):
        problems.append({"seq": state["last_seq"], "problem": "the last entry is not the header's `to` anchor "
                         "(entries removed at the end)"})
    if anchors is not None and header["to"]["seq"] in anchors:
        anchor_hash, file_digest = anchors[header["to"]["seq"]]
        if anchor_hash != header["to"]["hash"] or file_digest != digest.hexdigest():
            problems.append({"seq": header["to"]["seq"], "problem": "the database's anchor names another file "
                             "(this one was changed)"})
    return {"ok": not problems, "entries": state["count"], "first_seq": header["from"]["seq"] + 1,
            "last_seq": header["to"]["seq"], "problems": problems[:50]}


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


def create_audit_anchor(op) -> None:
    """For a service's Alembic migration after `create_audit_tables`: the `audit_anchor` table
    (append-only) and triggers that let an entry be deleted only once an anchor covers it (the
    archive), while every UPDATE and every other DELETE is still refused."""
    import sqlalchemy as sa

    op.create_table(
        "audit_anchor",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("first_seq", sa.Integer, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_digest", sa.String(64), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")
        op.execute("CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
                   "WHEN OLD.seq > (SELECT COALESCE(MAX(seq), 0) FROM audit_anchor) "
                   "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_anchor_no_{verb.lower()} BEFORE {verb} ON audit_anchor "
                       "BEGIN SELECT RAISE(ABORT, 'the audit anchors are append-only'); END")
    elif dialect == "postgresql":
        op.execute("CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$ BEGIN "
                   "IF TG_OP = 'DELETE' AND OLD.seq <= (SELECT COALESCE(MAX(seq), 0) FROM audit_anchor) "
                   "THEN RETURN OLD; END IF; "
                   "RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql")
        op.execute("CREATE OR REPLACE FUNCTION audit_anchor_append_only() RETURNS trigger AS $$ "
                   "BEGIN RAISE EXCEPTION 'the audit anchors are append-only'; END; $$ LANGUAGE plpgsql")
        op.execute("CREATE TRIGGER audit_anchor_append_only BEFORE UPDATE OR DELETE ON audit_anchor "
                   "FOR EACH ROW EXECUTE FUNCTION audit_anchor_append_only()")


def drop_audit_anchor(op) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_anchor_append_only ON audit_anchor")
        op.execute("DROP FUNCTION IF EXISTS audit_anchor_append_only()")
        op.execute(append_only_triggers("postgresql")[0])
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")
        op.execute(append_only_triggers("sqlite")[1])
    op.drop_table("audit_anchor")


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
