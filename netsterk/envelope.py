"""The message envelope every event carries.

    {"message_id", "correlation_id", "occurred_at", "type", "version",
     "network", "referral_ref", "payload": {...}}

`message_id` is unique per message (consumers dedupe on it); `correlation_id` follows one referral
across services and workflows. Payloads never hold names of young people.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

REQUIRED = ("message_id", "correlation_id", "occurred_at", "type", "version", "payload")


class EnvelopeError(ValueError):
    """A message that is not a valid envelope; it goes to the dead-letter queue."""


def make_envelope(type: str, payload: dict, *, network: str | None = None,
                  referral_ref: str | None = None, correlation_id: str | None = None,
                  version: int = 1, message_id: str | None = None,
                  occurred_at: datetime | None = None) -> dict:
    if not isinstance(payload, dict):
        raise EnvelopeError("payload must be a JSON object")
    return {
        "message_id": message_id or str(uuid.uuid4()),
        "correlation_id": correlation_id or str(uuid.uuid4()),
        "occurred_at": (occurred_at or datetime.now(timezone.utc)).isoformat(),
        "type": type,
        "version": version,
        "network": network,
        "referral_ref": referral_ref,
        "payload": payload,
    }


def validate_envelope(body, *, expected_type: str | None = None) -> dict:
    if not isinstance(body, dict):
        raise EnvelopeError(f"message body must be a JSON object, got {type(body).__name__}")
    missing = [key for key in REQUIRED if key not in body]
    if missing:
        raise EnvelopeError(f"envelope misses {', '.join(missing)}")
    if not isinstance(body["payload"], dict):
        raise EnvelopeError("envelope payload must be a JSON object")
    if not isinstance(body["version"], int):
        raise EnvelopeError("envelope version must be an integer")
    if expected_type and body["type"] != expected_type:
        raise EnvelopeError(f"expected a {expected_type!r} message, got {body['type']!r}")
    return body
