"""Counters for rate limits and sign-in throttling, shared by every process and instance of a
service: they live in the service's own database (table `rate_counter`; SQLite for `make run`,
PostgreSQL in production), so two replicas behind one address share one budget.

A counter is one row per key (a SHA-256 of bucket and client: no address is stored in clear) with
an anchored fixed window: the first hit starts the window, hits within `window` seconds count up,
the first hit after it starts a new window. Each hit is ONE statement (INSERT ... ON CONFLICT DO
UPDATE ... RETURNING), atomic on both databases (PostgreSQL locks the row, SQLite the file), so
concurrent hits from several processes never lose a count.

    verdict = hit(connection, table, key, limit=30, window=60)       # intake: 30 a minute
    verdict.allowed, verdict.retry_after

Sign-in throttling adds a lock: `hit(..., limit=5, window=900, lock=900)` locks the key for
`lock` seconds once it reached `limit`; `locked_for` says how long is left, `clear` forgets the key
(a successful sign-in). `purge` drops counters nobody needs any more.

Migrations create the table with `create_rate_counter_table(op)`; a service's models declare it
with `counter_table(Base.metadata)`.
"""
from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, case, delete, select, update

TABLE = "rate_counter"
_tables: dict[int, Table] = {}
_lock = threading.Lock()


def _columns() -> list[Column]:
    return [Column("key", String(64), primary_key=True),
            Column("window_start", Float, nullable=False),      # epoch seconds
            Column("hits", Integer, nullable=False),
            Column("locked_until", Float, nullable=True)]


def counter_table(metadata: MetaData | None = None) -> Table:
    """The `rate_counter` table on `metadata` (once per MetaData; a private one when None)."""
    metadata = metadata if metadata is not None else _private
    with _lock:
        if id(metadata) not in _tables:
            _tables[id(metadata)] = Table(TABLE, metadata, *_columns())
        return _tables[id(metadata)]


_private = MetaData()


def counter_key(bucket: str, client: str) -> str:
    return hashlib.sha256(f"{bucket}|{client}".encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    hits: int
    retry_after: int      # seconds to wait when not allowed (0 when allowed)


def _insert(dialect: str):
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        raise RuntimeError(f"rate counters need SQLite or PostgreSQL, not {dialect}")
    return insert


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


def hit(connection, table: Table, key: str, *, limit: int, window: float, lock: float = 0,
        now: float | None = None) -> Verdict:
    """Count one hit of `key` (in the caller's transaction) and say whether it is within `limit`
    hits per `window` seconds. With `lock`: the hit that reaches `limit` locks the key for `lock`
    seconds (see `locked_for`); the hit itself is still allowed (it was the limit-th)."""
    now = time.time() if now is None else now
    insert = _insert(connection.dialect.name)
    c = table.c
    expired = c.window_start <= now - window
    statement = insert(table).values(key=key, window_start=now, hits=1, locked_until=None)
    statement = statement.on_conflict_do_update(index_elements=[c.key], set_={
        "hits": case((expired, 1), else_=c.hits + 1),
        "window_start": case((expired, now), else_=c.window_start),
    }).returning(c.hits, c.window_start)
    hits, started = connection.execute(statement).one()
    if lock and hits >= limit:
        connection.execute(update(table).where(c.key == key).values(locked_until=now + lock))
        return Verdict(hits <= limit, hits, 0 if hits <= limit else _seconds(lock))
    if hits > limit:
        return Verdict(False, hits, _seconds(started + window - now))
    return Verdict(True, hits, 0)


def locked_for(connection, table: Table, key: str, *, now: float | None = None) -> int:
    """Seconds the key is still locked (0: free)."""
    now = time.time() if now is None else now
    until = connection.execute(select(table.c.locked_until).where(table.c.key == key)).scalar()
    return _seconds(until - now) if until is not None and until > now else 0


def clear(connection, table: Table, key: str) -> None:
    connection.execute(delete(table).where(table.c.key == key))


def purge(connection, table: Table, *, older_than: float, now: float | None = None) -> int:
    """Drop counters whose window started more than `older_than` seconds ago and that hold no lock."""
    now = time.time() if now is None else now
    c = table.c
    return connection.execute(delete(table).where(
        c.window_start < now - older_than,
        (c.locked_until.is_(None)) | (c.locked_until < now))).rowcount or 0


def create_rate_counter_table(op) -> None:
    """For a service's Alembic migration."""
    op.create_table(TABLE, *_columns())


def drop_rate_counter_table(op) -> None:
    op.drop_table(TABLE)
