"""No overbooking under concurrent accepts: many threads reserve the last places of one offer at
once, on a real PostgreSQL (production's database) and on SQLite (the embedded default)."""
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy.orm import sessionmaker

from netsterk.db import make_engine, session_scope, upgrade
from netsterk.testing import postgres_database
from netsterk_ops import demo
from services.matching import domain

THREADS = 24


@contextmanager
def sqlite(tmp_path):
    yield f"sqlite:///{tmp_path / 'matching.db'}"


def race(url: str, offer_id: str, capacity: int) -> tuple[list[str], list[str], int]:
    upgrade("matching", url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    directory = [dict(o, offers=[dict(x, capacity=capacity) if x["id"] == offer_id else x for x in o["offers"]])
                 for o in demo.ORGANISATIONS]
    with session_scope(factory) as session:
        domain.import_directory(session, "mechelen", directory)
    barrier = threading.Barrier(THREADS)
    reserved, refused, errors = [], [], []

    def accept(number: int):
        barrier.wait()
        try:
            with session_scope(factory) as session:
                domain.reserve_place(session, "mechelen", offer_id, f"referral-{number}")
            reserved.append(f"referral-{number}")
        except domain.NoFreePlace:
            refused.append(f"referral-{number}")
        except Exception as exc:  # a failure of the test itself, reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=accept, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with session_scope(factory) as session:
        [view] = [v for v in domain.offer_views(session, "mechelen") if v["offer_id"] == offer_id]
        counted = session.query(domain.Engagement).filter_by(offer_id=offer_id, counted=True).count()
    engine.dispose()
    assert counted == len(reserved)
    return reserved, refused, view["free_places"]


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_concurrent_accepts_never_overbook(database, tmp_path):
    with (postgres_database() if database == "postgresql" else sqlite(tmp_path)) as url:
        reserved, refused, free = race(url, "pros-naft-begeleiding", capacity=5)
    assert len(reserved) == 5 and len(refused) == THREADS - 5 and free == 0
