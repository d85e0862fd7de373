"""Every service's Alembic migrations on a real PostgreSQL (production's database), up and down,
and intake's write path (reference counter with UPDATE ... RETURNING) on it."""

import pytest
from sqlalchemy import inspect

from netsterk.db import make_engine, migrations_dir, upgrade
from netsterk.settings import SERVICES
from netsterk.testing import postgres_database



def downgrade_to_base(service, url):
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir(service)))
    config.set_main_option("sqlalchemy.url", url)
    command.downgrade(config, "base")


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_up_down_up_on_postgresql(service):
    with postgres_database() as url:
        upgrade(service, url)
        engine = make_engine(url)
        tables = set(inspect(engine).get_table_names())
        assert "alembic_version" in tables and len(tables) > 1
        downgrade_to_base(service, url)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(service, url)
        assert set(inspect(engine).get_table_names()) == tables
        engine.dispose()


def test_intake_write_path_on_postgresql():
    from sqlalchemy.orm import sessionmaker

    from netsterk.db import session_scope
    from services.intake import domain
    from services.intake.schemas import validate_referral
    from services.intake.tests.test_schemas import valid

    with postgres_database() as url:
        upgrade("intake", url)
        engine = make_engine(url)
        factory = sessionmaker(engine, expire_on_commit=False)
        with session_scope(factory) as session:
            domain.upsert_network(session, "mechelen", "Mechelen", ["truancy"])
        refs = []
        for _ in range(2):
            with session_scope(factory) as session:
                clean, errors = validate_referral(valid(), categories=["truancy"])
                assert errors == {}
                refs.append(domain.submit_referral(session, clean).ref)
        assert refs[1][-6:] == "000002" and refs[0][:8] == refs[1][:8]
        with engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT first_name FROM referral").scalars().all()
        assert stored and all("Sam" not in value for value in stored)
        engine.dispose()


CONSUMERS = ("intake", "matching", "notifications", "reporting", "portal")


@pytest.mark.parametrize("service", CONSUMERS)
def test_long_workflow_message_ids_fit_the_idempotency_table(service):
    """Workflow events have deterministic ids like `referral-<uuid>:engagement:<offer>:<status>`,
    longer than a uuid: every consumer's processed_message must hold them on PostgreSQL."""
    with postgres_database() as url:
        upgrade(service, url)
        engine = make_engine(url)
        assert "processed_message" in inspect(engine).get_table_names()
        long_id = "referral-" + "x" * 36 + ":engagement:arktos-naft-traject-op-maat-2026:accepted"
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO processed_message (message_id, consumer, processed_at) "
                                 "VALUES (%(m)s, 'c', now())", {"m": long_id})
            assert conn.exec_driver_sql("SELECT count(*) FROM processed_message").scalar() == 1
        engine.dispose()
