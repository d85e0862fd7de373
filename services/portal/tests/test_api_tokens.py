"""Personal API tokens (services/portal/api_tokens.py) and the API's credentials (web.api_user):
a token is stored hashed and shown once, acts with the role and network of its user, and every
way it stops working has its own clear answer; passwords (HTTP Basic) are refused. The session's
idle timeout (auth / web.session_user)."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from netsterk.db import make_engine, session_scope, upgrade, utcnow
from netsterk.i18n import both
from netsterk.settings import get_settings
from services.portal import api_tokens, auth, security, web
from services.portal.access import Refused
from services.portal.models import ApiToken, User
from services.portal.testing import aged_session


@pytest.fixture
def portal(tmp_path, settings_env):
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    upgrade("portal", url)
    factory = sessionmaker(make_engine(url), expire_on_commit=False)
    with session_scope(factory) as session:
        auth.upsert_user(session, "api-coordinator", "first-password-1", "coordinator", "mechelen")
    return SimpleNamespace(db=factory)


def request(headers=None, cookies=None, path="/api/v1/tasks", method="GET") -> Request:
    builder = EnvironBuilder(method=method, path=path, headers=headers or {})
    for name, value in (cookies or {}).items():
        builder.headers.add("Cookie", f"{name}={value}")
    return Request(builder.get_environ())


def make(portal, name="script", days=30) -> str:
    with session_scope(portal.db) as session:
        _row, raw = api_tokens.create(session, session.get(User, "api-coordinator"), name, days)
    return raw


def refusal(portal, raw: str) -> str:
    with pytest.raises(Refused) as refused:
        web.api_user(portal, request({"Authorization": f"Bearer {raw}"}))
    assert refused.value.status == 401
    return refused.value.message


def test_a_token_is_stored_hashed_and_acts_as_its_user(portal):
    raw = make(portal)
    assert raw.startswith("nst_") and len(raw) > 40
    with session_scope(portal.db) as session:
        row = session.scalars(select(ApiToken)).one()
        assert row.token_hash == api_tokens.token_hash(raw) and raw not in (row.token_hash, row.id, row.name)
        assert (row.network, row.role) == ("mechelen", "coordinator") and row.last_used_at is None
    user = web.api_user(portal, request({"Authorization": f"Bearer {raw}"}))
    assert (user.username, user.network, user.role) == ("api-coordinator", "mechelen", "coordinator")
    with session_scope(portal.db) as session:
        assert session.scalars(select(ApiToken)).one().last_used_at is not None


def test_every_way_a_token_stops_working_has_its_own_answer(portal):
    assert refusal(portal, "nst_not-a-token") == both("portal.api.token_unknown")
    assert refusal(portal, "garbage") == both("portal.api.token_unknown")
    revoked, expired, moved, inactive = (make(portal, n) for n in ("a", "b", "c", "d"))
    with session_scope(portal.db) as session:
        user = session.get(User, "api-coordinator")
        token_id = session.scalars(select(ApiToken.id).where(ApiToken.name == "a")).one()
        assert api_tokens.revoke(session, user, token_id).revoked_at is not None
        session.scalars(select(ApiToken).where(ApiToken.name == "b")).one().expires_at = utcnow() - timedelta(seconds=1)
    assert refusal(portal, revoked) == both("portal.api.token_revoked")
    assert refusal(portal, expired) == both("portal.api.token_expired")
    with session_scope(portal.db) as session:
        session.get(User, "api-coordinator").role = "analyst"
    assert refusal(portal, moved) == both("portal.api.token_role_changed")
    with session_scope(portal.db) as session:
        user = session.get(User, "api-coordinator")
        user.role, user.active = "coordinator", False
    assert refusal(portal, inactive) == both("portal.api.token_account_inactive")


def test_passwords_are_refused_with_the_way_to_a_token(portal):
    for header in ("Basic YXBpLWNvb3JkaW5hdG9yOmZpcnN0LXBhc3N3b3JkLTE=", "Token abc"):
        with pytest.raises(Refused) as refused:
            web.api_user(portal, request({"Authorization": header}))
        assert refused.value.status == 401
    assert "Bearer" in both("portal.api.basic_removed") and "/account/tokens" in both("portal.api.basic_removed")
    assert web.api_user(portal, request()) is None          # nothing sent: no user (401 by the handler)


def test_only_ones_own_token_can_be_revoked_and_names_and_validity_are_checked(portal):
    make(portal)
    with session_scope(portal.db) as session:
        auth.upsert_user(session, "other", "second-password-2", "coordinator", "mechelen")
        other = session.get(User, "other")
        token_id = session.scalars(select(ApiToken.id)).one()
        assert api_tokens.revoke(session, other, token_id) is None
        assert api_tokens.revoke(session, other, "no-such-token") is None
        for name, days, key in (("", 30, "portal.tokens.bad_name"), ("x" * 65, 30, "portal.tokens.bad_name"),
                                ("ok", 7, "portal.tokens.bad_validity"), ("ok", "soon", "portal.tokens.bad_validity")):
            with pytest.raises(api_tokens.TokenError) as error:
                api_tokens.create(session, other, name, days)
            assert str(error.value) == key
        for index in range(api_tokens.MAX_TOKENS):
            api_tokens.create(session, other, f"t{index}")
        with pytest.raises(api_tokens.TokenError):
            api_tokens.create(session, other, "one too many")
        row, _raw = api_tokens.create(session, session.get(User, "api-coordinator"), "  spaced   name ", None)
        assert row.name == "spaced name" and (row.expires_at - row.created_at).days == api_tokens.DEFAULT_VALIDITY


# --- the idle timeout of sessions ---------------------------------------------------------------

def test_a_session_idle_too_long_ends_and_an_active_one_moves_on(portal, monkeypatch):
    key = get_settings().session_key
    cookie = auth.sign_session(key, "api-coordinator", epoch=1)
    with session_scope(portal.db) as session:
        assert session.get(User, "api-coordinator").session_epoch == 0
        session.get(User, "api-coordinator").session_epoch = 1
    fresh = request(cookies={auth.SESSION_COOKIE: cookie}, path="/")
    assert web.session_user(portal, fresh).username == "api-coordinator"
    assert security.TOUCH_COOKIE not in fresh.environ            # just signed: not renewed yet
    # used two minutes ago: the same session with a new activity time (same absolute end)
    used = request(cookies={auth.SESSION_COOKIE: aged_session(key, cookie, 120)}, path="/")
    assert web.session_user(portal, used) is not None
    renewed, max_age = used.environ[security.TOUCH_COOKIE]
    assert auth.read_session_data(key, renewed)["exp"] == auth.read_session_data(key, cookie)["exp"]
    assert 0 < max_age <= auth.SESSION_MAX_AGE
    response = security.finish(used, Response("<p>x</p>", mimetype="text/html"))
    assert any(c.startswith(f"{auth.SESSION_COOKIE}={renewed};") and "HttpOnly" in c
               for c in response.headers.getlist("Set-Cookie"))
    # idle longer than the setting: no user, marked, the login says why and returns here
    idle = get_settings().portal_idle_minutes * 60
    stale = request(cookies={auth.SESSION_COOKIE: aged_session(key, cookie, idle + 5)}, path="/referrals/r-1")
    assert web.session_user(portal, stale) is None and stale.environ[web.IDLE_FLAG]
    page = web.referral_detail(portal, stale, referral_id="r-1")
    assert page.status_code == 303 and page.headers["Location"] == "/login?next=/referrals/r-1&expired=1"
    # a form sent after the session ended returns to its referral; other forms to the start page
    post = request(cookies={auth.SESSION_COOKIE: aged_session(key, cookie, idle + 5)}, method="POST",
                   path="/referrals/r-1/actions/triage")
    assert web.return_path(post) == "/referrals/r-1"
    assert web.return_path(request(method="POST", path="/admin/users")) == "/"
    monkeypatch.setenv("NETSTERK_PORTAL_IDLE_MINUTES", "240")
    get_settings.cache_clear()
    try:
        assert web.session_user(portal, request(cookies={auth.SESSION_COOKIE: aged_session(key, cookie, idle + 5)}))
    finally:
        monkeypatch.delenv("NETSTERK_PORTAL_IDLE_MINUTES")
        get_settings.cache_clear()


def test_idle_and_touch_rules():
    data = {"u": "x", "e": 0, "k": "session", "a": 1000, "exp": 9999}
    assert not auth.idle_expired(data, 60, now=1060) and auth.idle_expired(data, 60, now=1061)
    assert auth.idle_expired({"u": "x", "exp": 9999}, 60, now=0)        # an old cookie without activity
    assert auth.touched_session("k", data, now=1000 + auth.SESSION_TOUCH_EVERY - 1) is None
    renewed = auth.read_session_data("k", auth.touched_session("k", data, now=1100), now=1100)
    assert renewed["a"] == 1100 and renewed["exp"] == 9999 and renewed["u"] == "x"
