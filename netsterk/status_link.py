"""The reporter's status link: `/status/<referral_id>/<token>`, the token an HMAC of the referral
id (pseudonym key), so it works without an account and only for that one referral. The portal
checks it; whoever mails the reporter builds it with `status_path` (one place for the rule)."""
from __future__ import annotations

import hashlib
import hmac

from netsterk.settings import get_settings


def status_token(referral_id: str) -> str:
    key = get_settings().pseudonym_key.encode("utf-8")
    return hmac.new(key, b"status|" + referral_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def status_path(referral_id: str) -> str:
    return f"/status/{referral_id}/{status_token(referral_id)}"


def valid_status_token(referral_id: str, token: str) -> bool:
    return hmac.compare_digest(status_token(referral_id).encode(), (token or "").encode())
