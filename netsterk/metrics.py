"""Prometheus metrics of every Netsterk process (pip package prometheus-client).

Each process serves `GET /metrics` on settings.metrics_port when it is not 0 (9100 in the
containers; off by default locally): `serve(process)` after configure_logging. Imported by the
nameko services and by the Temporal side alike, so it imports neither nameko nor temporalio.

Labels carry names of services, methods, routes (URL *rules*, never the path with its ids or
tokens), event types, templates and outcomes: never personal data, referral ids or addresses.
Every process also exports `netsterk_process_info{process}` so a dashboard can tell them apart.
"""
from __future__ import annotations

import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, Info, make_wsgi_app

PROCESS = Info("netsterk_process", "Which Netsterk process this is")

HTTP_REQUESTS = Counter("netsterk_http_requests_total", "HTTP requests answered",
                        ["service", "method", "route", "status"])
HTTP_SECONDS = Histogram("netsterk_http_request_seconds", "HTTP request duration",
                         ["service", "route"])
RPC_CALLS = Counter("netsterk_rpc_calls_total", "RPC calls served (nameko and the bridge)",
                    ["service", "method", "outcome"])
RPC_SECONDS = Histogram("netsterk_rpc_call_seconds", "Duration of served RPC calls",
                        ["service", "method"])
RPC_CLIENT_CALLS = Counter("netsterk_rpc_client_calls_total",
                           "RPC calls made with netsterk.amqp (activities, CLI)",
                           ["service", "method", "outcome"])
EVENTS_HANDLED = Counter("netsterk_events_handled_total", "Events handled by nameko handlers",
                         ["service", "source", "event_type", "outcome"])
MESSAGES_CONSUMED = Counter("netsterk_messages_consumed_total",
                            "Envelopes by idempotent consumer: applied, duplicate, dead_lettered",
                            ["consumer", "outcome"])
EVENTS_PUBLISHED = Counter("netsterk_events_published_total", "Events published (confirmed)",
                           ["source", "event_type"])
TIMER_RUNS = Counter("netsterk_timer_runs_total", "Timer entrypoint runs",
                     ["service", "timer", "outcome"])
OUTBOX_BACKLOG = Gauge("netsterk_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_PUBLISHED = Counter("netsterk_outbox_published_total", "Outbox rows relayed", ["service"])
MAILS = Counter("netsterk_mails_total", "E-mail delivery attempts: sent, retry or failed",
                ["outcome", "template"])
WORKFLOW_STARTS = Counter("netsterk_workflow_starts_total",
                          "Referral workflows started by the bridge (started or duplicate)",
                          ["outcome"])
EVENT_SECONDS = Histogram("netsterk_event_handler_seconds", "Duration of event handlers",
                          ["service", "event_type"])
WORKFLOW_UPDATES = Counter("netsterk_workflow_updates_total",
                           "Coordinator / partner actions sent to workflows (bridge act RPC)",
                           ["outcome"])

# Facts some parts already log: the log event (and its label keys) counted, so the metric and
# the log line can never disagree. name -> (counter, {label: log key}, fixed labels)
_LOG_EVENTS = {
    "mail_sent": (MAILS, {"template": "template"}, {"outcome": "sent"}),
    "mail_not_sent": (MAILS, {"outcome": "status"}, {"template": ""}),
    "referral workflow started": (WORKFLOW_STARTS, {}, {"outcome": "started"}),
    "referral workflow duplicate": (WORKFLOW_STARTS, {}, {"outcome": "duplicate"}),
}
_MAIL_OUTCOMES = {"pending": "retry", "failed": "failed"}

class QueueCollector:
    """`netsterk_queue_messages{queue}` (ready + unacknowledged) and `netsterk_queue_consumers{queue}`
    of every queue of this installation's vhost, asked of RabbitMQ's management API at scrape
    time (`netsterk_queue_scrape_ok` 0 when it does not answer). Registered by the bridge, the
    one process that is always there and is not a nameko service."""

    def __init__(self, amqp_uri: str, *, timeout: float = 5.0):
        from urllib.parse import quote

        from netsterk.amqp import management_api

        base, self.auth, vhost = management_api(amqp_uri)
        self.url = f"{base}/api/queues/{quote(vhost, safe='')}"
        self.timeout = timeout

    def collect(self):
        import requests
        from prometheus_client.core import GaugeMetricFamily

        depth = GaugeMetricFamily("netsterk_queue_messages", "Messages in a queue (ready + unacked)",
                                  labels=["queue"])
        consumers = GaugeMetricFamily("netsterk_queue_consumers", "Consumers of a queue", labels=["queue"])
        ok = GaugeMetricFamily("netsterk_queue_scrape_ok", "1 when RabbitMQ's queue list was read")
        try:
            response = requests.get(self.url, auth=self.auth, timeout=self.timeout)
            response.raise_for_status()
            for queue in response.json():
                if queue["name"].startswith("rpc.reply-"):   # a client's own reply queue
                    continue
                depth.add_metric([queue["name"]], queue.get("messages", 0) or 0)
                consumers.add_metric([queue["name"]], queue.get("consumers", 0) or 0)
            ok.add_metric([], 1)
        except Exception:  # the management API is away: say so, do not fail the scrape
            ok.add_metric([], 0)
        yield from (depth, consumers, ok)


def register_collector(collector) -> None:
    """Add a collector (an object with `collect()`) to this process's /metrics, once."""
    with _lock:
        if id(collector) not in _collectors:
            REGISTRY.register(collector)
            _collectors.add(id(collector))


_collectors: set[int] = set()
_started: dict[str, int] = {}
_lock = threading.Lock()


def count_log_event(_logger, _method, event_dict):
    """structlog processor: count the log events of _LOG_EVENTS. Returns the event unchanged."""
    spec = _LOG_EVENTS.get(event_dict.get("event"))
    if spec:
        counter, from_log, fixed = spec
        labels = dict(fixed)
        for label, key in from_log.items():
            value = str(event_dict.get(key) or "")
            labels[label] = _MAIL_OUTCOMES.get(value, value) if label == "outcome" else value
        counter.labels(**labels).inc()
    return event_dict


def _install_log_counter() -> None:
    import structlog

    processors = list(structlog.get_config()["processors"])
    if count_log_event not in processors:
        structlog.configure(processors=[count_log_event, *processors])


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - scrapes are not worth a log line
        return None


def start_server(host: str, port: int) -> WSGIServer:
    """/metrics on host:port in a daemon thread. Plain wsgiref (not prometheus_client's
    start_http_server, whose getaddrinfo call eventlet's green socket module refuses)."""
    server = make_server(host, port, make_wsgi_app(), _Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


def serve(process: str, port: int | None = None) -> int:
    """Start this process's /metrics endpoint (a daemon thread) and count logged facts.
    Returns the port, or 0 when metrics are off. Call once, after configure_logging."""
    from netsterk.settings import get_settings

    port = get_settings().metrics_port if port is None else port
    with _lock:
        _install_log_counter()
        PROCESS.info({"process": process})
        if port and process not in _started:
            start_server(get_settings().host, port)
            _started[process] = port
    return port


def rpc_served(service: str, method: str, outcome: str, seconds: float | None = None) -> None:
    """One RPC call answered. The bridge's `act` calls are the workflow updates."""
    from netsterk.contracts import BRIDGE

    RPC_CALLS.labels(service=service, method=method, outcome=outcome).inc()
    if seconds is not None:
        RPC_SECONDS.labels(service=service, method=method).observe(seconds)
    if service == BRIDGE and method == "act":
        WORKFLOW_UPDATES.labels(outcome=outcome).inc()


def sample(name: str, labels: dict | None = None) -> float:
    """The current value of one sample in this process (tests, health pages)."""
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def parse(text: str) -> list[tuple[str, dict, float]]:
    """(name, labels, value) of every sample in a /metrics text (the scale-out test reads them)."""
    from prometheus_client.parser import text_string_to_metric_families

    return [(s.name, dict(s.labels), s.value)
            for family in text_string_to_metric_families(text) for s in family.samples]
