"""Erasure on request (GDPR art. 17) across services: intake wipes its own data and announces
`intake.referral_erased` (references only); every service in contracts.ERASURE_CONFIRMERS wipes
its copy and answers with `<service>.erasure_confirmed`, which intake records in the audit chain.

No nameko here: the workflow bridge (asyncio, kombu) publishes its receipt with the same helper."""
from __future__ import annotations

from netsterk import amqp, contracts
from netsterk.envelope import make_envelope


def receipt(service: str, erased: dict, removed: dict) -> dict:
    """The receipt of `service` for the `referral_erased` envelope `erased`: references and the
    number of records removed per store, nothing else. Its message id follows from the erasure's,
    so a repeated confirmation is deduped by intake."""
    payload = erased["payload"]
    counts = {str(store)[:64]: int(count) for store, count in (removed or {}).items()}
    return make_envelope(
        contracts.ERASURE_CONFIRMED,
        {"referral_id": payload.get("referral_id"), "ref": payload.get("ref"),
         "network": payload.get("network"), "service": service, "removed": counts},
        network=erased.get("network"), referral_ref=erased.get("referral_ref"),
        correlation_id=erased.get("correlation_id"),
        message_id=f"{erased['message_id']}:{service}")


def publish_receipt(connection, service: str, erased: dict, removed: dict) -> dict:
    """Publish (broker-confirmed) the receipt of `service`; returns it."""
    body = receipt(service, erased, removed)
    amqp.publish_event(connection, service, contracts.ERASURE_CONFIRMED, body)
    return body
