"""Signed, expiring, single-action links for e-mails (accept, decline, feedback, answer, confirm,
complete a draft).

A link is `<portal>/l/<token>`; the token is `base64url(json claims) + "." + base64url(HMAC-SHA256)`
over the claims with the link key (NETSTERK_LINK_KEY; development: derived from the session key).
Claims: `id` (unique link id; the portal records its use, so it works once), `a` (the one action it
allows), `r` (the referral id), `k` (the workflow's key for that action: the engagement token,
question token...), `e` (expiry, epoch seconds). The link works without a password, but only for
that action on that referral, until it expires or is used.

    token = sign(Link.new("accept", referral_id, engagement_token, days=14), key)
    link = verify(token, key)          # raises LinkInvalid / LinkExpired (with the claims)
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

ACTIONS = ("accept", "decline", "feedback", "answer", "confirm_efforts", "complete_draft")
PREFIX = "/l/"
MAX_TOKEN = 1200


class LinkInvalid(ValueError):
    """Not a link we signed (altered, truncated, or for another key)."""


class LinkExpired(ValueError):
    """A genuine link past its expiry; `.link` tells which action and referral."""

    def __init__(self, link: "Link"):
        self.link = link
        super().__init__(f"link for {link.action} expired")


@dataclass(frozen=True)
class Link:
    id: str
    action: str
    referral_id: str
    key: str
    expires: int

    @classmethod
    def new(cls, action: str, referral_id: str, key: str, *, days: float = 14,
            now: float | None = None, link_id: str | None = None) -> "Link":
        if action not in ACTIONS:
            raise ValueError(f"unknown link action {action!r}; known: {', '.join(ACTIONS)}")
        if not referral_id or not key:
            raise ValueError("a link needs a referral id and a key")
        start = time.time() if now is None else now
        return cls(id=link_id or uuid.uuid4().hex, action=action, referral_id=str(referral_id),
                   key=str(key), expires=int(start + days * 86400))

    def claims(self) -> dict:
        return {"id": self.id, "a": self.action, "r": self.referral_id, "k": self.key, "e": self.expires}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def link_key(settings) -> bytes:
    """The signing key: NETSTERK_LINK_KEY, else derived from the session key (development)."""
    secret = settings.link_key or ("links:" + settings.session_key)
    return hashlib.sha256(secret.encode("utf-8")).digest()


def sign(link: Link, key: bytes) -> str:
    body = _b64(json.dumps(link.claims(), separators=(",", ":"), sort_keys=True).encode("utf-8"))
    mac = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify(token: str, key: bytes, *, now: float | None = None) -> Link:
    if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 1:
        raise LinkInvalid("malformed link")
    body, mac = token.split(".")
    expected = hmac.new(key, body.encode("ascii", "replace"), hashlib.sha256).digest()
    try:
        given = _unb64(mac)
        if not hmac.compare_digest(given, expected):
            raise LinkInvalid("bad signature")
        claims = json.loads(_unb64(body))
        link = Link(id=str(claims["id"]), action=str(claims["a"]), referral_id=str(claims["r"]),
                    key=str(claims["k"]), expires=int(claims["e"]))
    except LinkInvalid:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise LinkInvalid("malformed link") from exc
    if link.action not in ACTIONS:
        raise LinkInvalid("unknown action")
    if (time.time() if now is None else now) >= link.expires:
        raise LinkExpired(link)
    return link


def url(base_url: str, link: Link, key: bytes) -> str:
    return base_url.rstrip("/") + PREFIX + sign(link, key)


# the portal pages whose token a workflow puts in an e-mail: path prefix -> kind. `drafts` is no
# page of its own: `/drafts/<referral>/<draft token>` only ever becomes a signed complete_draft link
PORTAL_PATHS = {"engagements": "engagement", "information": "information",
                "school-efforts": "school_efforts", "drafts": "draft"}


def draft_link_id(referral_id: str) -> str:
    """The one complete_draft link of a referral has a fixed id, so whoever completes the draft
    (the reporter through the link, or a coordinator) marks that link used."""
    return f"draft-{referral_id}"[:64]


def parse_portal_url(value: str) -> tuple[str, str, str, str] | None:
    """(kind, referral_id, token, base URL) of a portal link page URL, else None."""
    split = urlsplit(str(value))
    parts = [p for p in split.path.split("/") if p]
    if len(parts) >= 3 and parts[-3] in PORTAL_PATHS:
        prefix = "/".join(parts[:-3])
        base = f"{split.scheme}://{split.netloc}" + (f"/{prefix}" if prefix else "") if split.netloc else ""
        return PORTAL_PATHS[parts[-3]], parts[-2], parts[-1], base
    return None
