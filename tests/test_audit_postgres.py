"""The audit log and the encrypted columns on PostgreSQL (the production database): migrations,
the append-only trigger, the chain under concurrent writers, no name in clear. In this process
(no eventlet: psycopg does not load under eventlet's patching)."""
import pytest
from sqlalchemy import text

from netsterk import audit, crypto
from netsterk.db import session_scope
from netsterk.settings import get_settings
from services.intake import privacy
from services.intake.models import AUDIT, Referral

COORDINATOR = {"username": "coord", "role": "coordinator", "network": "mechelen", "origin": "10.0.0.9"}


def valid(**overrides):
    data = {"network": "mechelen", "reporter_name": "An Peeters", "reporter_organisation": "School",
            "reporter_role": "zorg", "reporter_email": "an@school.example", "reporter_is_school": True,
            "first_name": "Sam", "last_name": "Janssens", "birth_date": "2011-03-02",
            "school_level": "secondary", "postcode": "2800", "languages": ["nl"], "categories": ["truancy"],
            "description": "Komt niet.", "school_efforts": "Gebeld.", "school_efforts_when": "4/11",
            "school_efforts_result": "Geen", "consent": "parents"}
    data.update(overrides)
    return data
def test_on_postgresql_entries_are_append_only_the_chain_holds_under_concurrency_and_no_name_is_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("NETSTERK_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    crypto.reset_cache()
    from concurrent.futures import ThreadPoolExecutor

    import psycopg
    from sqlalchemy.orm import sessionmaker

    from netsterk.db import make_engine, upgrade
    from netsterk.testing import postgres_database
    from services.intake import domain
    from services.intake.schemas import validate_referral

    with postgres_database() as url:
        upgrade("intake", url)
        engine = make_engine(url)
        factory = sessionmaker(engine, expire_on_commit=False)
        try:
            with session_scope(factory) as session:
                domain.upsert_network(session, "mechelen", "Mechelen", ["truancy", "motivation"])
                clean, errors = validate_referral(valid(first_name="Postgresia"), categories=["truancy", "motivation"])
                assert errors == {}
                referral = domain.submit_referral(session, clean)

            def read(n):
                with session_scope(factory) as session:
                    row = session.get(Referral, referral.id)
                    privacy.log_referral(session, COORDINATOR, "read", row, f"parallel read {n}", fields=["first_name"])
            with ThreadPoolExecutor(8) as pool:        # concurrent writers: the head row serialises them
                list(pool.map(read, range(40)))
            with session_scope(factory) as session:
                result = audit.verify(session, AUDIT)
            assert result["ok"] and result["entries"] == 40 and result["head_seq"] == 40

            with factory() as session:
                with pytest.raises(Exception, match="append-only"):
                    session.execute(text("UPDATE audit_entry SET actor = 'x' WHERE seq = 3"))
                session.rollback()
                with pytest.raises(Exception, match="append-only"):
                    session.execute(text("DELETE FROM audit_entry"))
                session.rollback()
            plain = url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(plain) as conn:
                dump = " ".join(str(row) for table in ("referral", "audit_entry", "outbox")
                                for row in conn.execute(f"SELECT * FROM {table}"))
            assert referral.ref in dump and "Postgresia" not in dump and "Janssens" not in dump
        finally:
            engine.dispose()
