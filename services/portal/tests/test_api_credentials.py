"""HTTP Basic for the JSON API: a verified user/password pair is remembered briefly (one argon2
check per minute, not per call), never for a wrong password, and a new password ends it at once."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy.orm import sessionmaker
from werkzeug.datastructures import Authorization

from netsterk.db import make_engine, session_scope, upgrade
from services.portal import auth, web


@pytest.fixture
def portal(tmp_path, settings_env):
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    upgrade("portal", url)
    factory = sessionmaker(make_engine(url), expire_on_commit=False)
    with session_scope(factory) as session:
        auth.upsert_user(session, "api-coordinator", "first-password-1", "coordinator", "mechelen")
    web._verified.clear()
    return SimpleNamespace(db=factory)


def call(service, username, password):
    request = SimpleNamespace(authorization=Authorization("basic", {"username": username, "password": password}),
                              remote_addr="127.0.0.1", cookies={})
    return web.api_user(service, request)


def test_a_verified_pair_is_checked_once_then_remembered(portal, monkeypatch):
    checks = []
    real = auth.authenticate
    monkeypatch.setattr(auth, "authenticate", lambda *a: checks.append(a[1]) or real(*a))
    for _ in range(5):
        assert call(portal, "api-coordinator", "first-password-1").username == "api-coordinator"
    assert checks == ["api-coordinator"]
    assert call(portal, "api-coordinator", "wrong-password") is None   # never remembered
    assert call(portal, "api-coordinator", "wrong-password") is None
    assert checks.count("api-coordinator") == 3


def test_a_new_password_ends_the_remembered_pair(portal):
    assert call(portal, "api-coordinator", "first-password-1") is not None
    with session_scope(portal.db) as session:
        auth.upsert_user(session, "api-coordinator", "second-password-2", "coordinator", "mechelen")
    assert call(portal, "api-coordinator", "first-password-1") is None
    assert call(portal, "api-coordinator", "second-password-2") is not None
