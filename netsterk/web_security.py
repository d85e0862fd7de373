"""Web hardening for the nameko HTTP services: security headers on every response, a body-size
limit that also holds for chunked uploads, and per-client rate limits answered with a clear 429.

Services only (imports nameko). Use `guarded_http` instead of nameko's `http`:

    @guarded_http("POST", "/referrals/new", rate_limit="public")

`rate_limit` names a bucket (a client address has one budget per bucket, shared by every process
and replica of the service: the counters live in its database, netsterk/ratelimit.py); the
budget per minute is settings.intake_rate_limit (0 = off). Behind a reverse proxy, list the
proxy's address in NETSTERK_TRUSTED_PROXIES so the client's address is taken from
X-Forwarded-For (only then: a client cannot choose its own address otherwise).
"""
from __future__ import annotations

import json
import threading

from nameko.web.handlers import HttpRequestHandler
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from netsterk import metrics, ratelimit
from netsterk.i18n import both
from netsterk.logging import get_logger
from netsterk.nameko_support import database_url
from netsterk.settings import get_settings

log = get_logger(__name__)

DEFAULT_MAX_BODY = 1024 * 1024

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                "script-src 'self'; object-src 'none'; base-uri 'none'; "
                                "frame-ancestors 'none'; form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def add_security_headers(response: Response, *, https: bool = False) -> Response:
    for name, value in SECURITY_HEADERS.items():
        if name == "Cache-Control" and name in response.headers:
            continue     # a handler that chose its caching (static files) keeps it
        response.headers.setdefault(name, value)
    if https:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


class RateLimiter:
    """`per_minute` requests per (bucket, client) and minute, counted in the service's own database
    (netsterk/ratelimit.py), so every process and replica of the service shares one budget."""

    PURGE_EVERY = 1000          # hits between two clean-ups of old counters (per process)

    def __init__(self, per_minute_of=None):
        self._per_minute_of = per_minute_of or (lambda: get_settings().intake_rate_limit)
        self._engines: dict[str, object] = {}
        self._lock = threading.Lock()
        self._hits = 0

    def _engine(self, database_url: str):
        with self._lock:
            if database_url not in self._engines:
                from netsterk.db import make_engine
                self._engines[database_url] = make_engine(database_url)
            return self._engines[database_url]

    def allow(self, database_url: str, bucket: str, client: str, *, now: float | None = None) -> tuple[bool, int]:
        """(allowed, seconds to wait when not)."""
        per_minute = self._per_minute_of()
        if not per_minute or per_minute <= 0:
            return True, 0
        table = ratelimit.counter_table()
        try:
            with self._engine(database_url).begin() as connection:
                verdict = ratelimit.hit(connection, table, ratelimit.counter_key(bucket, client),
                                        limit=per_minute, window=60, now=now)
                self._hits += 1
                if self._hits % self.PURGE_EVERY == 0:
                    ratelimit.purge(connection, table, older_than=120, now=now)
        except SQLAlchemyError as exc:
            # the database is away: the request meets it too and answers with its own clear error
            # (the limit protects the database; it does not replace its error handling)
            log.warning("rate_limit_unavailable", error=type(exc).__name__)
            return True, 0
        return verdict.allowed, verdict.retry_after

    def dispose(self) -> None:
        with self._lock:
            engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.dispose()


LIMITER = RateLimiter()


def client_address(request) -> str:
    remote = request.remote_addr or "unknown"
    trusted = {p.strip() for p in (get_settings().trusted_proxies or "").split(",") if p.strip()}
    if remote in trusted:
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",") if p.strip()]
        if forwarded:
            return forwarded[-1]
    return remote


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in (request.headers.get("Accept") or "")


def _refusal(request, status: int, key: str, **params) -> Response:
    message = both(key, **params)
    if _wants_json(request):
        return Response(json.dumps({"errors": {"_": message}}, ensure_ascii=False), status=status,
                        mimetype="application/json")
    from html import escape
    html = (f'<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>{status}</title></head>'
            f'<body><main><h1>{status}</h1><p role="alert">{escape(message)}</p></main></body></html>')
    return Response(html, status=status, mimetype="text/html")


class GuardedHttpRequestHandler(HttpRequestHandler):
    def __init__(self, method, url, rate_limit: str | None = None, max_body: int | None = None,
                 **kwargs):
        self.rate_limit = rate_limit
        self.max_body = max_body or DEFAULT_MAX_BODY
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        request.max_content_length = self.max_body
        if self.rate_limit:
            allowed, wait = LIMITER.allow(database_url(self.container.config, self.container.service_name),
                                          self.rate_limit, client_address(request))
            if not allowed:
                response = _refusal(request, 429, "security.rate_limited", seconds=wait)
                response.headers["Retry-After"] = str(wait)
                metrics.HTTP_REQUESTS.labels(service=self.container.service_name, method=request.method,
                                             route=self.url, status="429").inc()
                return self._secure(response)
        if (request.content_length or 0) > self.max_body:
            return self._secure(_refusal(request, 413, "security.too_large", limit=self.max_body))
        return self._secure(super().handle_request(request))

    def response_from_exception(self, exc):
        if isinstance(exc, RequestEntityTooLarge):
            return _refusal_plain(413, "security.too_large", limit=self.max_body)
        return super().response_from_exception(exc)

    def _secure(self, response):
        return add_security_headers(response, https=get_settings().intake_url.startswith("https://"))


def _refusal_plain(status: int, key: str, **params) -> Response:
    return Response(both(key, **params), status=status, mimetype="text/plain")


guarded_http = GuardedHttpRequestHandler.decorator
