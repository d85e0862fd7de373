"""Personal API tokens: the JSON API's credentials (`Authorization: Bearer <token>`).

A user who signed in with their second factor makes a named token on /account/tokens; it is
shown once and stored as a SHA-256 hash (a token is 32 random bytes: a fast hash is enough, and
every API call costs one indexed lookup instead of a password hash). A token acts as its user
with the network and role the user had when it was made: a new role or network, a deactivated
account, revocation or the end of its validity ends it, each with its own clear answer (401)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from netsterk.db import utcnow
from services.portal.models import ApiToken, User

PREFIX = "nst_"
VALIDITY_DAYS = (30, 90, 365)
DEFAULT_VALIDITY = 90
MAX_TOKENS = 20                 # live tokens per user
NAME_LENGTH = 64
TOUCH_EVERY = timedelta(minutes=1)   # last use is written at most this often


class TokenError(ValueError):
    """A token that cannot be made (the message is a catalogue key)."""


class TokenRefused(Exception):
    """A token that does not (or no longer) open the API; `key` is the catalogue message."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _aware(moment):
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def state(token: ApiToken) -> str:
    """"active", "revoked" or "expired"."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if _aware(token.expires_at) <= utcnow() else "active"


def live(session: Session, username: str) -> list[ApiToken]:
    return [t for t in listing(session, username) if state(t) == "active"]


def listing(session: Session, username: str) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.username == username)
                                .order_by(ApiToken.created_at.desc())))


def create(session: Session, user: User, name: str, days: int | str | None = None) -> tuple[ApiToken, str]:
    """A new token of `user`: (row, the token itself, to show once)."""
    name = " ".join((name or "").split())
    if not name or len(name) > NAME_LENGTH:
        raise TokenError("portal.tokens.bad_name")
    try:
        days = int(days) if days not in (None, "") else DEFAULT_VALIDITY
    except (TypeError, ValueError):
        raise TokenError("portal.tokens.bad_validity") from None
    if days not in VALIDITY_DAYS:
        raise TokenError("portal.tokens.bad_validity")
    if len(live(session, user.username)) >= MAX_TOKENS:
        raise TokenError("portal.tokens.too_many")
    token_id = secrets.token_hex(8)
    raw = f"{PREFIX}{secrets.token_urlsafe(32)}"
    row = ApiToken(id=token_id, token_hash=token_hash(raw), username=user.username, name=name,
                   network=user.network, role=user.role, created_at=utcnow(),
                   expires_at=utcnow() + timedelta(days=days))
    session.add(row)
    session.flush()
    return row, raw


def revoke(session: Session, user: User, token_id: str) -> ApiToken | None:
    """The user's own token, revoked (again: unchanged); None when it is not theirs."""
    row = session.get(ApiToken, token_id or "")
    if row is None or row.username != user.username:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    session.flush()
    return row


def resolve(session: Session, raw: str) -> tuple[User, ApiToken]:
    """The user a token acts as, or TokenRefused with the reason."""
    raw = (raw or "").strip()
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash(raw))).first() \
        if raw.startswith(PREFIX) else None
    if row is None:
        raise TokenRefused("portal.api.token_unknown")
    if row.revoked_at is not None:
        raise TokenRefused("portal.api.token_revoked")
    now = utcnow()
    if _aware(row.expires_at) <= now:
        raise TokenRefused("portal.api.token_expired")
    user = session.get(User, row.username)
    if user is None or not user.active:
        raise TokenRefused("portal.api.token_account_inactive")
    if user.role != row.role or user.network != row.network:
        raise TokenRefused("portal.api.token_role_changed")
    if row.last_used_at is None or now - _aware(row.last_used_at) >= TOUCH_EVERY:
        row.last_used_at = now
        session.flush()
    return user, row
