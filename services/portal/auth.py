"""Staff users: password hashing (argon2id; older scrypt hashes still verify and are upgraded on
login), TOTP second factor (RFC 6238), signed session cookies with an absolute lifetime and an
idle timeout, login throttling, personal API tokens."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
import time
from datetime import timedelta
from functools import lru_cache
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session

from netsterk.db import utcnow
from netsterk import ratelimit
from services.portal.models import RATE_COUNTER, ROLES, User

SESSION_COOKIE = "netsterk_session"
PENDING_COOKIE = "netsterk_pending"      # password checked, second factor still to come
SESSION_MAX_AGE = 8 * 3600               # absolute: sign in again after a working day
SESSION_TOUCH_EVERY = 60                 # the last activity in the cookie moves on at most this often
PENDING_MAX_AGE = 5 * 60
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
# roles that sign in with a second factor (TOTP); analysts see aggregated figures only
TOTP_ROLES = ("coordinator", "partner_staff", "network_admin", "ops")
TOTP_STEP, TOTP_DIGITS, TOTP_WINDOW = 30, 6, 1
TOTP_ISSUER = "Netsterk"
# throttling: after MAX_FAILURES failed attempts of one user from one address within WINDOW,
# that pair is refused for LOCK (no password is checked meanwhile)
MAX_FAILURES, FAILURE_WINDOW, LOCK_TIME = 5, timedelta(minutes=15), timedelta(minutes=15)

PASSWORDS = PasswordHasher()   # argon2id, the library's current recommended parameters


class UserError(ValueError):
    """Invalid user data, with a message fit for the caller."""


# --- passwords -------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """argon2id with a random salt, in the PHC string format (`$argon2id$v=19$...`)."""
    return PASSWORDS.hash(password)


def _scrypt_hash(password: str, *, salt: bytes | None = None) -> str:
    """The portal's first scheme (`scrypt$n$r$p$salt$hash`); kept to verify old hashes (and tests)."""
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(password.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r),
                                   p=int(p), dklen=len(_unb64(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, _unb64(digest))


def verify_password(password: str, stored: str) -> bool:
    if not stored:
        return False
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return PASSWORDS.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError, ValueError, TypeError):
        return False


def needs_rehash(stored: str) -> bool:
    """Old schemes (scrypt) and argon2 hashes with weaker parameters than today's."""
    if not stored.startswith("$argon2"):
        return True
    try:
        return PASSWORDS.check_needs_rehash(stored)
    except (InvalidHashError, ValueError):
        return True


# --- TOTP (RFC 6238 over RFC 4226 HOTP, SHA-1, 6 digits, 30 s: what authenticator apps use) ----

def new_totp_secret() -> str:
    return base64.b32encode(os.urandom(20)).decode("ascii").rstrip("=")


def _secret_bytes(secret: str) -> bytes:
    text = secret.strip().replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def hotp(secret: str, counter: int, digits: int = TOTP_DIGITS) -> str:
    digest = hmac.new(_secret_bytes(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10 ** digits).zfill(digits)


def totp(secret: str, *, now: float | None = None) -> str:
    """The current code of `secret` (tests and the demo use this to sign in)."""
    return hotp(secret, int((now if now is not None else time.time()) // TOTP_STEP))


def totp_step(secret: str, code: str, *, now: float | None = None, after: int | None = None) -> int | None:
    """The time step `code` belongs to (one step of clock drift either way), or None. A step at or
    before `after` (the last one used) is refused: a code works once."""
    code = "".join((code or "").split())
    if not secret or len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    current = int((now if now is not None else time.time()) // TOTP_STEP)
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if hmac.compare_digest(hotp(secret, step), code) and (after is None or step > after):
            return step
    return None


def totp_uri(secret: str, username: str) -> str:
    """otpauth:// URI for the QR code an authenticator app scans."""
    label = quote(f"{TOTP_ISSUER}:{username}")
    return f"otpauth://totp/{label}?secret={secret}&issuer={quote(TOTP_ISSUER)}&digits={TOTP_DIGITS}&period={TOTP_STEP}"


def needs_second_factor(user: User) -> bool:
    return user.role in TOTP_ROLES


# --- signed cookies --------------------------------------------------------------------------

def _signature(key: str, payload: str) -> str:
    return _b64(hmac.new(key.encode("utf-8"), payload.encode("ascii"), hashlib.sha256).digest())


def sign_cookie(key: str, data: dict, *, now: float | None = None, max_age: int = SESSION_MAX_AGE,
                expires: int | None = None) -> str:
    """`<payload>.<hmac>`; the payload holds `data` and the expiry (`expires`, else now + max_age)."""
    if expires is None:
        expires = int((now if now is not None else time.time()) + max_age)
    payload = _b64(json.dumps(dict(data, exp=expires), separators=(",", ":")).encode("utf-8"))
    return f"{payload}.{_signature(key, payload)}"


def read_cookie(key: str, value: str | None, *, now: float | None = None) -> dict | None:
    """The data of a valid, unexpired cookie; None for anything else."""
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
    if not isinstance(data, dict) or not isinstance(data.get("exp"), int) \
            or data["exp"] < (now if now is not None else time.time()):
        return None
    return data if isinstance(data.get("u"), str) else None


def sign_session(key: str, username: str, *, now: float | None = None, max_age: int = SESSION_MAX_AGE,
                 epoch: int = 0) -> str:
    """The session cookie: username, the user's session epoch (bumped on logout/password change:
    every older cookie stops working), the last activity and the (absolute) expiry."""
    moment = int(now if now is not None else time.time())
    return sign_cookie(key, {"u": username, "e": epoch, "k": "session", "a": moment}, now=moment,
                       max_age=max_age)


def read_session_data(key: str, value: str | None, *, now: float | None = None) -> dict | None:
    data = read_cookie(key, value, now=now)
    return data if data is not None and data.get("k", "session") == "session" else None


def idle_expired(data: dict, idle_seconds: int, *, now: float | None = None) -> bool:
    """No request for longer than `idle_seconds` since the last activity in the cookie."""
    last = data.get("a")
    if not isinstance(last, int):
        return True      # a cookie without activity time (older format): sign in again
    return (now if now is not None else time.time()) - last > idle_seconds


def touched_session(key: str, data: dict, *, now: float | None = None) -> str | None:
    """The same session with its last activity moved to now (same absolute expiry), or None when
    it was moved less than SESSION_TOUCH_EVERY seconds ago."""
    moment = int(now if now is not None else time.time())
    if moment - int(data.get("a") or 0) < SESSION_TOUCH_EVERY:
        return None
    kept = {k: v for k, v in data.items() if k != "exp"}
    return sign_cookie(key, dict(kept, a=moment), expires=data["exp"])


def read_session(key: str, value: str | None, *, now: float | None = None) -> str | None:
    """The username in a valid, unexpired session cookie; None for anything else."""
    data = read_session_data(key, value, now=now)
    return data["u"] if data else None


def sign_pending(key: str, username: str, stage: str, *, epoch: int = 0, now: float | None = None) -> str:
    """Password checked; `stage` ("totp" or "enrol") still to do. Never accepted as a session."""
    return sign_cookie(key, {"u": username, "e": epoch, "k": "pending", "s": stage}, now=now,
                       max_age=PENDING_MAX_AGE)


def read_pending(key: str, value: str | None, *, now: float | None = None) -> dict | None:
    data = read_cookie(key, value, now=now)
    return data if data is not None and data.get("k") == "pending" else None


# --- users -----------------------------------------------------------------------------------

def upsert_user(session: Session, username: str, password: str, role: str, network: str,
                organisation_id: str | None = None, lang: str = "nl",
                totp_secret: str | None = None) -> tuple[User, bool]:
    """Create or update a user (idempotent). Returns (user, created). `totp_secret` (base32) sets
    a confirmed second factor (seeding, the demo); without it an enrolled factor is kept."""
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
    if totp_secret is not None:
        try:
            if len(_secret_bytes(totp_secret)) < 10:
                raise ValueError
        except (ValueError, TypeError):
            raise UserError("totp_secret must be base32 of at least 80 bits") from None
    user = session.get(User, username)
    created = user is None
    if created:
        user = User(username=username, password_hash=hash_password(password), session_epoch=0)
        session.add(user)
    elif not verify_password(password, user.password_hash):
        user.password_hash = hash_password(password)
        user.session_epoch = (user.session_epoch or 0) + 1     # a new password ends old sessions
    if totp_secret is not None and (user.totp_secret != totp_secret or user.totp_confirmed_at is None):
        user.totp_secret, user.totp_confirmed_at, user.totp_last_step = totp_secret, utcnow(), None
    user.role, user.network, user.organisation_id, user.lang = role, network, organisation_id, lang
    user.active = True
    user.updated_at = utcnow()
    session.flush()
    return user, created


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("timing-equaliser")


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user when the password is right (and the account active). An old-scheme or weaker hash
    is replaced by a current argon2id hash of the same password."""
    user = session.get(User, (username or "").strip())
    if user is None or not user.active:
        # spend the same time as a real check so usernames cannot be probed by timing
        verify_password(password or "", _dummy_hash())
        return None
    if not verify_password(password or "", user.password_hash):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.flush()
    return user


def user_dict(user: User) -> dict:
    return {"username": user.username, "role": user.role, "network": user.network,
            "organisation_id": user.organisation_id, "lang": user.lang,
            "second_factor": bool(user.totp_confirmed_at), "active": bool(user.active)}


# --- throttling of failed sign-ins (per user and address) -------------------------------------

def throttle_key(username: str, address: str | None) -> str:
    return ratelimit.counter_key("login", f"{(username or '').strip().lower()}|{address or '-'}")


def locked_for(session: Session, key: str) -> int:
    """Seconds this user+address still has to wait (0: may try)."""
    return ratelimit.locked_for(session.connection(), RATE_COUNTER, key)


def record_failure(session: Session, key: str) -> int:
    """Count one failure (shared by every portal instance: the counter is in the portal's
    database, netsterk/ratelimit.py); returns the seconds locked now (0 when not yet locked)."""
    verdict = ratelimit.hit(session.connection(), RATE_COUNTER, key, limit=MAX_FAILURES,
                            window=FAILURE_WINDOW.total_seconds(), lock=LOCK_TIME.total_seconds())
    return int(LOCK_TIME.total_seconds()) if verdict.hits >= MAX_FAILURES else 0


def clear_failures(session: Session, key: str) -> None:
    ratelimit.clear(session.connection(), RATE_COUNTER, key)
