"""consume_once against a real PostgreSQL that goes away for a few seconds: the handler waits
and applies the event once when the database is back; nothing is dead-lettered. And a statement
the database refuses is parked at once (not retried)."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import eventlet
import psycopg
import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from netsterk import amqp
from netsterk.db import ProcessedMessageMixin, make_engine
from netsterk.envelope import make_envelope
from netsterk.nameko_support import consume_once, database_unavailable
from netsterk.testing import TEST_PG, postgres_database


class Base(DeclarativeBase):
    pass


class Processed(ProcessedMessageMixin, Base):
    pass


class Effect(Base):
    __tablename__ = "effect"
    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)


def block_connections(name: str, allowed: bool) -> None:
    with psycopg.connect(f"postgresql://{TEST_PG}/postgres", autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))


def dead_letters(uri: str, consumer: str) -> int:
    with amqp.connect(uri) as connection:
        queue = amqp.dead_letter_queue(consumer)(connection.channel())
        return queue.queue_declare(passive=False).message_count


@pytest.fixture
def pg_service(amqp_uri):
    with postgres_database() as url:
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        yield SimpleNamespace(db=sessionmaker(engine, expire_on_commit=False),
                              config={"AMQP_URI": amqp_uri}), url.rsplit("/", 1)[1], engine
        engine.dispose()


def test_an_event_waits_for_a_database_that_is_briefly_away(pg_service, amqp_uri):
    service, name, engine = pg_service
    consumer = "test.pg_outage"
    envelope = make_envelope("thing_happened", {"n": 1}, network="mechelen")
    apply = lambda session, env: session.add(Effect(message_id=env["message_id"]))  # noqa: E731
    with service.db() as session:   # a pooled connection that the outage will cut
        session.execute(select(Effect)).all()
    block_connections(name, allowed=False)
    threading.Timer(4.0, block_connections, args=(name, True)).start()
    started = time.monotonic()
    consume_once(service, consumer=consumer, body=envelope, apply=apply, processed_model=Processed)
    assert time.monotonic() - started >= 3.0, "it must have waited for the database"
    consume_once(service, consumer=consumer, body=envelope, apply=apply, processed_model=Processed)
    with service.db() as session:
        assert session.scalars(select(Effect.message_id)).all() == [envelope["message_id"]]
    assert dead_letters(amqp_uri, consumer) == 0


def test_a_refused_statement_is_parked_not_retried(pg_service, amqp_uri):
    service, _, _ = pg_service
    consumer = "test.pg_refused"

    def apply(session, env):
        session.add(Effect(message_id="x" * 300))   # longer than the column allows
        session.flush()

    started = time.monotonic()
    consume_once(service, consumer=consumer, body=make_envelope("thing_happened", {}, network="m"),
                 apply=apply, processed_model=Processed)
    assert time.monotonic() - started < 5
    assert dead_letters(amqp_uri, consumer) == 1


def test_database_unavailable_tells_connection_errors_from_refusals():
    from sqlalchemy.exc import IntegrityError, OperationalError

    assert database_unavailable(OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly")))
    assert not database_unavailable(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not database_unavailable(ValueError("no"))


def test_erase_and_confirm_parks_the_erasure_when_its_receipt_cannot_be_published(tmp_path, amqp_uri,
                                                                                  monkeypatch):
    """The wipe is committed, but the receipt does not reach the broker: the erasure message waits
    in the dead-letter queue with the reason; replaying it wipes nothing more and confirms."""
    from netsterk import erasure
    from netsterk.nameko_support import erase_and_confirm
    from netsterk.testing import erasure_event, erasure_receipts

    engine = make_engine(f"sqlite:///{tmp_path / 'svc.db'}")
    Base.metadata.create_all(engine)
    service = SimpleNamespace(db=sessionmaker(engine, expire_on_commit=False), config={"AMQP_URI": amqp_uri},
                              name="portal")
    wiped = []

    def erase(session, envelope):
        wiped.append(envelope["message_id"])
        return {"effect": 1}

    consumer = "portal.test_erasure"
    event = erasure_event("r-9")
    before = dead_letters(amqp_uri, consumer)

    def broken(*args, **kwargs):
        raise ConnectionError("broker gone")
    with monkeypatch.context() as patch:
        patch.setattr(erasure, "publish_receipt", broken)
        assert erase_and_confirm(service, consumer=consumer, body=event, erase=erase,
                                 processed_model=Processed) == "dead_lettered"
    assert wiped == [event["message_id"]] and dead_letters(amqp_uri, consumer) == before + 1
    with erasure_receipts(amqp_uri, "portal") as take:      # the replay from the dead-letter queue
        assert erase_and_confirm(service, consumer=consumer, body=event, erase=erase,
                                 processed_model=Processed) == "duplicate"
        [receipt] = take(1)
    assert wiped == [event["message_id"]] and receipt["payload"]["removed"] == {}
    assert receipt["message_id"] == f"{event['message_id']}:portal"
    engine.dispose()
