"""Optional outbound webhooks: a network's own system receives the referral events (references
and states only, no personal data), signed so it can trust them.

Each event is stored first (id = network:message_id, so a redelivered event is stored once),
POSTed as JSON with `X-Netsterk-Event`, `X-Netsterk-Delivery` and
`X-Netsterk-Signature: sha256=<hex HMAC-SHA256 of the body with the network's secret>`, and
retried with backoff; after the last attempt it stays `failed`, listed by `webhook_failures`."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from netsterk.db import session_scope, utcnow
from netsterk.logging import get_logger
from services.notifications.models import Webhook, WebhookDelivery

log = get_logger(__name__)
TIMEOUT = 10.0
LEASE = timedelta(seconds=60)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def set_webhook(factory, network: str, url: str | None, secret: str | None, enabled: bool = True) -> dict:
    """Set (or with url None remove) a network's webhook."""
    if not network:
        raise ValueError("network is required")
    with session_scope(factory) as session:
        row = session.get(Webhook, network)
        if not url:
            if row is not None:
                session.delete(row)
            return {"network": network, "enabled": False}
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("webhook url must be an http(s) URL")
        if not secret or len(secret) < 16:
            raise ValueError("webhook secret must have at least 16 characters")
        if row is None:
            row = Webhook(network=network)
            session.add(row)
        row.url, row.secret, row.enabled = url, secret, bool(enabled)
        return {"network": network, "url": url, "enabled": row.enabled}


def enqueue(session: Session, envelope: dict) -> bool:
    """Store one event for its network's webhook (in the consumer's transaction)."""
    network = envelope.get("network") or (envelope.get("payload") or {}).get("network")
    hook = session.get(Webhook, network) if network else None
    if hook is None or not hook.enabled:
        return False
    delivery_id = f"{network}:{envelope['message_id']}"[:200]
    if session.get(WebhookDelivery, delivery_id) is not None:
        return False
    body = json.dumps({"id": envelope["message_id"], "type": envelope.get("type"),
                       "network": network, "referral_ref": envelope.get("referral_ref"),
                       "occurred_at": envelope.get("occurred_at"), "payload": envelope.get("payload")},
                      sort_keys=True, separators=(",", ":"))
    session.add(WebhookDelivery(id=delivery_id, network=network, event_type=str(envelope.get("type")),
                                body=body, status="pending", attempts=0, next_attempt_at=utcnow()))
    return True


def deliver_due(factory, policy, limit: int = 20) -> list[str]:
    """Post what is due; returns the statuses. A lease (next_attempt_at) keeps two workers apart."""
    now = utcnow()
    with session_scope(factory) as session:
        ids = list(session.scalars(select(WebhookDelivery.id).where(
            WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now).limit(limit)))
    statuses = []
    for delivery_id in ids:
        with session_scope(factory) as session:
            claimed = session.execute(update(WebhookDelivery).where(
                WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now).values(
                next_attempt_at=now + LEASE, attempts=WebhookDelivery.attempts + 1)).rowcount
            if claimed != 1:
                continue
            row = session.get(WebhookDelivery, delivery_id)
            hook = session.get(Webhook, row.network)
            body, event_type = row.body.encode("utf-8"), row.event_type
            url, secret = (hook.url, hook.secret) if hook else (None, None)
        error = None
        if url is None:
            error = "webhook removed"
        else:
            try:
                response = requests.post(url, data=body, timeout=TIMEOUT, headers={
                    "Content-Type": "application/json", "X-Netsterk-Event": event_type,
                    "X-Netsterk-Delivery": delivery_id, "X-Netsterk-Signature": signature(secret, body)})
                if response.status_code >= 300:
                    error = f"HTTP {response.status_code}"
            except requests.RequestException as exc:
                error = type(exc).__name__
        with session_scope(factory) as session:
            row = session.get(WebhookDelivery, delivery_id)
            if error is None:
                row.status, row.last_error = "sent", None
            else:
                row.last_error = error
                if url is None or row.attempts >= policy.max_attempts:
                    row.status = "failed"
                else:
                    row.next_attempt_at = utcnow() + policy.delay(row.attempts)
            statuses.append(row.status)
        log.info("webhook_attempt", delivery=delivery_id, error=error)
    return statuses


def failures(factory, network: str | None) -> list[dict]:
    with session_scope(factory) as session:
        query = select(WebhookDelivery).where(WebhookDelivery.status == "failed")
        if network:
            query = query.where(WebhookDelivery.network == network)
        return [{"id": d.id, "network": d.network, "event_type": d.event_type, "attempts": d.attempts,
                 "last_error": d.last_error} for d in session.scalars(query.limit(200))]
