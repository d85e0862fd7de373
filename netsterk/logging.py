"""structlog setup: every line carries service, network, referral_ref and correlation_id.

JSON in production (NETSTERK_ENV=production), readable console output in development.
Personal data never goes into a log line: known personal keys are redacted by a processor.
"""
from __future__ import annotations

import logging
import sys
from contextlib import contextmanager

import structlog

CONTEXT_KEYS = ("service", "network", "referral_ref", "correlation_id")
PERSONAL_KEYS = frozenset({
    "first_name", "last_name", "name", "birth_date", "email", "phone", "address",
    "reporter_name", "reporter_email", "reporter_phone", "young_person", "description",
})
REDACTED = "[redacted]"


def _ensure_context_keys(_logger, _method, event_dict):
    for key in CONTEXT_KEYS:
        event_dict.setdefault(key, None)
    return event_dict


def _redact_personal_data(_logger, _method, event_dict):
    for key in list(event_dict):
        if key in PERSONAL_KEYS:
            event_dict[key] = REDACTED
    return event_dict


def configure_logging(service: str, *, env: str | None = None, level: str | None = None) -> None:
    from netsterk.settings import get_settings

    settings = get_settings()
    env = env or settings.env
    level_no = getattr(logging, (level or settings.log_level).upper(), logging.INFO)
    renderer = (structlog.processors.JSONRenderer() if env == "production"
                else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _ensure_context_keys,
            _redact_personal_data,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level_no),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    logging.basicConfig(level=max(level_no, logging.WARNING), stream=sys.stdout,
                        format="%(levelname)s %(name)s %(message)s")


def get_logger(name: str | None = None):
    return structlog.get_logger(name)


@contextmanager
def log_context(**values):
    """Bind network / referral_ref / correlation_id for the duration of one unit of work."""
    values = {k: v for k, v in values.items() if v is not None}
    tokens = structlog.contextvars.bind_contextvars(**values)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def context_from_envelope(envelope: dict) -> dict:
    return {
        "network": envelope.get("network"),
        "referral_ref": envelope.get("referral_ref"),
        "correlation_id": envelope.get("correlation_id"),
    }
