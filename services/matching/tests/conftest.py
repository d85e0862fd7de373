"""Fixtures of matching's tests."""
import pytest
from sqlalchemy.orm import sessionmaker

from netsterk.db import make_engine, session_scope, upgrade
from netsterk_ops import demo
from services.matching import domain


@pytest.fixture
def factory(settings_env, tmp_path):
    """A migrated SQLite matching database holding the demo network's directory."""
    url = f"sqlite:///{tmp_path / 'matching.db'}"
    upgrade("matching", url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with session_scope(factory) as session:
        domain.import_directory(session, "mechelen", demo.ORGANISATIONS)
    yield factory
    engine.dispose()
