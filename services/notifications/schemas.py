"""Validation of a send_email request (docs/contracts.md)."""
from __future__ import annotations

import re

from netsterk.i18n import LANGUAGES
from services.notifications.templates import TEMPLATES

EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[A-Za-z]{2,}$")
MAX_KEY, MAX_CODE, MAX_EMAIL = 200, 64, 254


class InvalidEmailRequest(ValueError):
    """A send_email request that cannot be accepted; nothing was stored or sent."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("e-mail not accepted: " + "; ".join(problems))


def _text(value, limit: int) -> bool:
    return isinstance(value, str) and value.strip() != "" and len(value) <= limit


def validate_send_request(request) -> dict:
    if not isinstance(request, dict):
        raise InvalidEmailRequest(["request must be an object"])
    problems = []
    if not _text(request.get("idempotency_key"), MAX_KEY):
        problems.append(f"idempotency_key must be a non-empty string of at most {MAX_KEY} characters")
    to = request.get("to")
    if not (isinstance(to, str) and len(to) <= MAX_EMAIL and EMAIL.match(to.strip())):
        problems.append("to is not a valid e-mail address")
    if request.get("template") not in TEMPLATES:
        problems.append(f"template must be one of {', '.join(TEMPLATES)}")
    if request.get("lang") not in LANGUAGES:
        problems.append(f"lang must be one of {', '.join(LANGUAGES)}")
    if not isinstance(request.get("context", {}), dict):
        problems.append("context must be an object")
    if not _text(request.get("network"), MAX_CODE):
        problems.append("network must be a non-empty code")
    if not _text(request.get("referral_ref"), MAX_CODE) or any(c in request["referral_ref"] for c in "\r\n"):
        problems.append("referral_ref must be a non-empty single-line reference")
    correlation_id = request.get("correlation_id")
    if correlation_id is not None and not _text(correlation_id, MAX_CODE):
        problems.append("correlation_id must be a string or null")
    if problems:
        raise InvalidEmailRequest(problems)
    context = {"ref": request["referral_ref"], **request.get("context", {})}
    return {
        "idempotency_key": request["idempotency_key"], "to": to.strip(),
        "template": request["template"], "lang": request["lang"], "context": context,
        "network": request["network"], "referral_ref": request["referral_ref"],
        "correlation_id": correlation_id,
    }
