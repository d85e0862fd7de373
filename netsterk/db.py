"""Database helpers: engines, sessions, Alembic migrations, and the outbox / processed-message
tables every service keeps in its own database."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import JSON, DateTime, Integer, String, create_engine, delete, event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from netsterk.settings import REPO_ROOT, get_settings


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            # WAL with synchronous=NORMAL: a commit survives any crash of the process (the
            # failures the outbox and the consumers are built for) without an fsync per commit;
            # a power cut may lose the last commits. FULL where that matters (or PostgreSQL).
            cursor.execute(f"PRAGMA synchronous={get_settings().sqlite_synchronous}")
            cursor.close()
        return engine
    return create_engine(url, pool_pre_ping=True)


def service_engine(service: str) -> Engine:
    return make_engine(get_settings().database_url(service))


@contextmanager
def session_scope(factory: sessionmaker):
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


# --- Alembic -------------------------------------------------------------------------------

def migrations_dir(service: str) -> Path:
    return REPO_ROOT / "services" / service / "migrations"


def upgrade(service: str, url: str | None = None) -> None:
    """Apply the service's Alembic migrations to its database (head)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir(service)))
    config.set_main_option("sqlalchemy.url", (url or get_settings().database_url(service)).replace("%", "%%"))
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def run_alembic_env(target_metadata) -> None:
    """Body of every service's migrations/env.py."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


# --- outbox and processed messages ----------------------------------------------------------

class OutboxMixin:
    """Outgoing events written in the same transaction as the state they announce."""
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    source: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class ProcessedMessageMixin:
    """Message ids a consumer already handled: the idempotency record."""
    __tablename__ = "processed_message"

    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(128), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def add_to_outbox(session: Session, outbox_model, source: str, envelope: dict) -> None:
    session.add(outbox_model(message_id=envelope["message_id"], source=source,
                             event_type=envelope["type"], body=envelope))


def relay_outbox(factory: sessionmaker, outbox_model, connection, limit: int = 100) -> int:
    """Publish unpublished outbox rows in order; mark them after the broker confirmed them.

    PostgreSQL (several replicas): the rows are taken with SELECT ... FOR UPDATE SKIP LOCKED, so
    another relay skips them until this one commits and no row is published by two relays.
    SQLite (the single-machine default) has one database-wide write lock: holding it while
    publishing would block every other writer of the process (an eventlet service stalls, and
    concurrent submits end in "database is locked"). There the rows are read without a write
    lock, published, and marked in one short write afterwards. Either way a crash between publish
    and mark publishes a row twice; consumers dedupe on message_id.
    """
    from netsterk.amqp import publish_event

    if factory.kw["bind"].dialect.name == "sqlite":
        with session_scope(factory) as session:
            rows = [(row.id, row.source, row.event_type, row.body) for row in session.scalars(
                select(outbox_model).where(outbox_model.published_at.is_(None))
                .order_by(outbox_model.id).limit(limit))]
        done = []
        try:
            for row_id, source, event_type, body in rows:
                publish_event(connection, source, event_type, body)
                done.append(row_id)
        finally:
            if done:
                with session_scope(factory) as session:
                    session.execute(update(outbox_model).where(outbox_model.id.in_(done)).values(
                        published_at=utcnow(), attempts=outbox_model.attempts + 1))
        return len(done)

    published = 0
    with session_scope(factory) as session:
        rows = session.scalars(
            select(outbox_model).where(outbox_model.published_at.is_(None))
            .order_by(outbox_model.id).limit(limit).with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.attempts += 1
            publish_event(connection, row.source, row.event_type, row.body)
            row.published_at = utcnow()
            session.flush()
            published += 1
    return published


def delete_rows(session: Session, model, *conditions) -> int:
    """Delete the rows of `model` that meet every condition (erasure); returns how many."""
    return session.execute(delete(model).where(*conditions)).rowcount or 0


def claim_message(session: Session, processed_model, message_id: str, consumer: str) -> bool:
    """Record that `consumer` handles `message_id` in the current transaction.

    Returns False when it was handled before (the caller then skips its effect)."""
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):   # one statement: insert unless it is there
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        table = processed_model.__table__
        inserted = session.execute(insert(table).values(
            message_id=message_id, consumer=consumer, processed_at=utcnow())
            .on_conflict_do_nothing().returning(table.c.message_id)).first()
        return inserted is not None   # (rowcount is -1 here with psycopg 3)
    if session.get(processed_model, (message_id, consumer)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(processed_model(message_id=message_id, consumer=consumer))
    except IntegrityError:
        return False
    return True


def create_outbox_table(op) -> None:
    """Alembic: the `outbox` table of OutboxMixin, for a service that publishes events."""
    import sqlalchemy as sa

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(36), nullable=False, unique=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False),
    )


def create_processed_message_table(op) -> None:
    """Alembic: the `processed_message` table of ProcessedMessageMixin, for a consumer."""
    import sqlalchemy as sa

    op.create_table(
        "processed_message",
        sa.Column("message_id", sa.String(200), primary_key=True),
        sa.Column("consumer", sa.String(128), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )
