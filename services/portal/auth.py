"""Staff users: password hashing, signed session cookies, login checks."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from functools import lru_cache

from sqlalchemy.orm import Session

from netsterk.db import utcnow
from services.portal.models import ROLES, User

SESSION_COOKIE = "netsterk_session"
SESSION_MAX_AGE = 8 * 3600
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1


class UserError(ValueError):
    """Invalid user data, with a message fit for the caller."""


# --- passwords -------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """scrypt with a random 16-byte salt: `scrypt$n$r$p$salt$hash`."""
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(password.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r),
                                   p=int(p), dklen=len(_unb64(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, _unb64(digest))


# --- session cookie --------------------------------------------------------------------------

def _signature(key: str, payload: str) -> str:
    return _b64(hmac.new(key.encode("utf-8"), payload.encode("ascii"), hashlib.sha256).digest())


def sign_session(key: str, username: str, *, now: float | None = None,
                 max_age: int = SESSION_MAX_AGE) -> str:
    """A cookie value `<payload>.<hmac>`; the payload holds the username and the expiry."""
    expires = int((now if now is not None else time.time()) + max_age)
    payload = _b64(json.dumps({"u": username, "exp": expires}, separators=(",", ":")).encode("utf-8"))
    return f"{payload}.{_signature(key, payload)}"


def read_session(key: str, value: str | None, *, now: float | None = None) -> str | None:
    """The username in a valid, unexpired cookie; None for anything else."""
    if not value or value.count(".") != 1:
        return None
    payload, signature = value.split(".")
    try:
        expected = _signature(key, payload)
    except UnicodeEncodeError:
        return None
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        data = json.loads(_unb64(payload))
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("exp", 0) < (now if now is not None else time.time()):
        return None
    username = data.get("u")
    return username if isinstance(username, str) else None


# --- users -----------------------------------------------------------------------------------

def upsert_user(session: Session, username: str, password: str, role: str, network: str,
                organisation_id: str | None = None, lang: str = "nl") -> tuple[User, bool]:
    """Create or update a user (idempotent). Returns (user, created)."""
    username = (username or "").strip()
    if not username or len(username) > 64:
        raise UserError("username must be 1 to 64 characters")
    if not password or len(password) < 8:
        raise UserError("password must have at least 8 characters")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if not network or not isinstance(network, str):
        raise UserError("network is required")
    if role == "partner_staff" and not organisation_id:
        raise UserError("partner_staff needs an organisation_id")
    if lang not in ("nl", "en"):
        raise UserError("lang must be nl or en")
    user = session.get(User, username)
    created = user is None
    if created:
        user = User(username=username, password_hash=hash_password(password))
        session.add(user)
    elif not verify_password(password, user.password_hash):
        user.password_hash = hash_password(password)
    user.role, user.network, user.organisation_id, user.lang = role, network, organisation_id, lang
    user.updated_at = utcnow()
    session.flush()
    return user, created


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("timing-equaliser")


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.get(User, (username or "").strip())
    if user is None:
        # spend the same time as a real check so usernames cannot be probed by timing
        verify_password(password or "", _dummy_hash())
        return None
    return user if verify_password(password or "", user.password_hash) else None


def user_dict(user: User) -> dict:
    return {"username": user.username, "role": user.role, "network": user.network,
            "organisation_id": user.organisation_id, "lang": user.lang}
