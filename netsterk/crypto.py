"""Personal data at rest: field-level encryption (Fernet) and keyed pseudonyms (HMAC-SHA256)."""
from __future__ import annotations

import hashlib
import hmac
import os
import unicodedata
from functools import lru_cache

from cryptography.fernet import Fernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from netsterk.settings import get_settings


@lru_cache
def _fernet() -> Fernet:
    settings = get_settings()
    key = settings.field_key
    if not key:
        path = settings.var_dir / "field.key"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # atomically: replicas starting together on one var_dir must end with one key
            spare = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            spare.write_bytes(Fernet.generate_key())
            spare.chmod(0o600)
            try:
                os.link(spare, path)
            except FileExistsError:
                pass
            finally:
                spare.unlink()
        key = path.read_text().strip()
    return Fernet(key.encode() if isinstance(key, str) else key)


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode("ascii")).decode("utf-8")


class EncryptedText(TypeDecorator):
    """A text column stored encrypted; None stays None."""
    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(str(value))

    def process_result_value(self, value, dialect):
        return None if value is None else decrypt(value)


def normalise(value: str) -> str:
    text = unicodedata.normalize("NFKD", value or "")
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.lower().split())


def pseudonym(*parts: str) -> str:
    """Keyed hash of normalised parts: equal for the same person, meaningless without the key."""
    key = get_settings().pseudonym_key.encode()
    message = "|".join(normalise(p) for p in parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
