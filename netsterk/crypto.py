"""Personal data at rest: field-level encryption (Fernet, with key rotation through MultiFernet)
and keyed pseudonyms (HMAC-SHA256).

Keys live outside the databases, in one of two places (first found wins):
- `NETSTERK_FIELD_KEY`: one Fernet key, or several separated by commas, newest (primary) first;
- the keyring file `NETSTERK_FIELD_KEY_FILE` (default `<var_dir>/field.key`): one key a line,
  newest first, mode 0600. Created with one fresh key when missing (development).

Every value is encrypted with the primary key and decrypts with any key of the ring, so a new key
can be added first, the data re-encrypted (`netsterk keys rotate`), and old keys retired after.
A running service notices a changed keyring file (its mtime) and reloads it.
"""
from __future__ import annotations

import hashlib
import json
import hmac
import os
import threading
import unicodedata
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from netsterk.settings import get_settings

_lock = threading.Lock()
_cache: dict = {"source": None, "fernet": None}


class KeyringError(RuntimeError):
    """The keyring cannot be used (no key, a malformed key)."""


def keyring_path() -> Path:
    settings = get_settings()
    return Path(settings.field_key_file) if settings.field_key_file else settings.var_dir / "field.key"


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    spare = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    spare.write_text(text)
    spare.chmod(0o600)
    os.replace(spare, path)


def create_secret_file(path: Path, content: bytes) -> None:
    """A secret file (0600) created atomically, once: processes starting together on one var_dir
    all end up with the first one's content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    spare = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    spare.write_bytes(content)
    spare.chmod(0o600)
    try:
        os.link(spare, path)
    except FileExistsError:
        pass
    finally:
        spare.unlink()


def _create_keyring(path: Path) -> None:
    """A first key, atomically: replicas starting together on one var_dir end with one key."""
    create_secret_file(path, Fernet.generate_key() + b"\n")


def _parse_keys(text: str) -> list[str]:
    keys = [k.strip() for k in text.replace(",", "\n").splitlines()
            if k.strip() and not k.strip().startswith("#")]
    if not keys:
        raise KeyringError("the field keyring holds no key")
    return keys


def load_keys() -> list[str]:
    """The keys, primary first (from the environment or the keyring file)."""
    settings = get_settings()
    if settings.field_key:
        return _parse_keys(settings.field_key)
    path = keyring_path()
    if not path.exists():
        _create_keyring(path)
    return _parse_keys(path.read_text())


def keys_from_environment() -> bool:
    return bool(get_settings().field_key)


def _source() -> tuple:
    settings = get_settings()
    if settings.field_key:
        return ("env", settings.field_key)
    path = keyring_path()
    try:
        return ("file", str(path), path.stat().st_mtime_ns, path.stat().st_size)
    except FileNotFoundError:
        return ("file", str(path), None, None)


def _fernet() -> MultiFernet:
    source = _source()
    with _lock:
        if _cache["source"] != source or _cache["fernet"] is None:
            try:
                fernets = [Fernet(k.encode()) for k in load_keys()]
            except (ValueError, TypeError) as exc:
                raise KeyringError(f"a field key is not a valid Fernet key: {exc}") from None
            _cache["fernet"] = MultiFernet(fernets)
            _cache["source"] = _source()
        return _cache["fernet"]


def reset_cache() -> None:
    with _lock:
        _cache.update(source=None, fernet=None)


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode("ascii")).decode("utf-8")


def encrypt_bytes(data: bytes) -> bytes:
    return _fernet().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    return _fernet().decrypt(token)


def rotate_token(token: str) -> str:
    """The same value encrypted with the primary key (MultiFernet.rotate)."""
    return _fernet().rotate(token.encode("ascii")).decode("ascii")


def primary_decrypts(token: str) -> bool:
    """True when the primary key alone opens this token (no older key still needed)."""
    primary = Fernet(load_keys()[0].encode())
    try:
        primary.decrypt(token.encode("ascii"))
        return True
    except InvalidToken:
        return False


# --- the keyring: add a key, retire old ones (netsterk_ops/privacy_cli.py) ----------------------

def add_primary_key() -> str:
    """Generate a new key and put it first in the keyring file; returns the key's short id.
    With keys in NETSTERK_FIELD_KEY the operator adds the key there (this refuses)."""
    if keys_from_environment():
        raise KeyringError("the keys come from NETSTERK_FIELD_KEY: put a new key first there "
                        "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'), "
                        "restart, then run `netsterk keys reencrypt`")
    keys = load_keys()
    new = Fernet.generate_key().decode()
    _write_atomically(keyring_path(), "\n".join([new, *keys]) + "\n")
    reset_cache()
    return key_id(new)


def retire_old_keys() -> int:
    """Keep only the primary key in the keyring file; returns how many were removed. Call only
    after every database was re-encrypted (the CLI checks that first)."""
    if keys_from_environment():
        raise KeyringError("the keys come from NETSTERK_FIELD_KEY: remove the old keys there")
    keys = load_keys()
    _write_atomically(keyring_path(), keys[0] + "\n")
    reset_cache()
    return len(keys) - 1


def key_id(key: str) -> str:
    """A short, harmless name for a key (first 8 hex of its SHA-256)."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


class EncryptedText(TypeDecorator):
    """A text column stored encrypted; None stays None."""
    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(str(value))

    def process_result_value(self, value, dialect):
        return None if value is None else decrypt(value)


class EncryptedJSON(EncryptedText):
    """A JSON value (list, dict...) stored as encrypted text; key rotation treats it as text."""
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(decrypt(value))


def normalise(value: str) -> str:
    text = unicodedata.normalize("NFKD", value or "")
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.lower().split())


def pseudonym(*parts: str) -> str:
    """Keyed hash of normalised parts: equal for the same person, meaningless without the key."""
    key = get_settings().pseudonym_key.encode()
    message = "|".join(normalise(p) for p in parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


_fernet.cache_clear = reset_cache   # tests reset the keyring cache as they did the lru_cache
