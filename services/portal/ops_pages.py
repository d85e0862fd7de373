"""The ops area: the health of every part (broker, each service, the bridge, Temporal and the
workflow worker, SMTP), the queues (depth, consumers) and dead letters (inspect, replay), running
and failed workflows (through the bridge; links to the Temporal UI), recent errors of the logs.
No personal data: names, counts, ids, error kinds. The checks reuse netsterk_ops.health and
netsterk_ops.dlq (neither imports temporalio); the workflow layer is asked through the bridge."""
from __future__ import annotations

import json
import re
from collections import deque
from urllib.parse import quote

import eventlet
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from netsterk import contracts
from netsterk.i18n import both
from netsterk.logging import get_logger
from netsterk.nameko_support import health_report, html_response
from netsterk.settings import SERVICES, get_settings
from netsterk_ops import dlq, health
from services.portal import access, pages
from services.portal.web import Refused, html_page, session_user

log = get_logger(__name__)
e = pages.e
CHECK_TIMEOUT = 4.0
QUEUE_NAME = re.compile(r"^[\w.:\-]{1,200}$")
LOG_LINE = re.compile(r"^(?P<at>\d{4}-\d\d-\d\d[ T][\d:.]+Z?)\s+\[(?P<level>error|critical|warning)\s*\]\s+"
                      r"(?P<event>\S+)")


def _ops(service, request, action: str = "ops.view"):
    return access.require(session_user(service, request), action)


# --- health ------------------------------------------------------------------------------------

def workflow_layer(service, limit: int = 20) -> dict | None:
    """The bridge's overview of Temporal (None when the bridge or Temporal does not answer)."""
    try:
        with eventlet.Timeout(CHECK_TIMEOUT * 2):
            return service.bridge.workflows_overview(limit)
    except BaseException as exc:       # eventlet.Timeout is a BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        log.warning("workflows_overview_failed", error=type(exc).__name__)
        return None


def checks(service) -> list[health.Check]:
    """Every part, checked at the same time (a stopped service costs one timeout, not one each)."""
    settings = get_settings()
    pool = eventlet.GreenPool(12)
    broker = health.check_broker(settings)
    others = [name for name in (*SERVICES, contracts.BRIDGE) if name != service.name]
    if broker.ok:
        rpc = list(pool.imap(lambda name: health.check_rpc(settings, name, timeout=CHECK_TIMEOUT), others))
    else:
        rpc = [health.Check(name, False, "broker is down") for name in others]
    own = health_report(service.name, service.db)
    rpc.insert(list(SERVICES).index(service.name),
               health.Check(service.name, own.get("status") == "ok", "this process"))
    overview = workflow_layer(service, 1) if broker.ok else None
    if overview is None:
        layer = [health.Check("temporal", False, "no answer through the bridge"),
                 health.Check("workflow_worker", False, "unknown: Temporal does not answer")]
    else:
        layer = [health.Check("temporal", True, settings.temporal_address),
                 health.Check("workflow_worker", overview["pollers"] > 0,
                              f"{overview['pollers']} poller(s) on {overview['task_queue']!r}")]
    smtp = list(pool.imap(lambda args: health.check_smtp(settings, **args),
                          [{}, {"name": "mail_gateway", "port": settings.intake_smtp_port}]))
    return [broker, *layer, *rpc, *smtp]


@html_page
def health_page(service, request) -> Response:
    user = _ops(service, request)
    results = checks(service)
    rows = [[f'<span class="{"up" if c.ok else "down"}" data-part="{e(c.name)}">'
             f'{e(both("portal.ops.up" if c.ok else "portal.ops.down"))}</span>',
             f'<strong>{e(c.name)}</strong>', e(c.detail)] for c in results]
    down = [c.name for c in results if not c.ok]
    summary = pages.message_box(both("portal.ops.all_up"), "info") if not down else \
        pages.message_box(both("portal.ops.some_down", parts=", ".join(down)))
    body = (summary + pages._table(["portal.ops.status", "portal.ops.part", "portal.ops.detail"], rows)
            + f'<h2>{e(both("portal.ops.errors"))}</h2>' + _errors_html())
    return html_response(pages.layout(both("portal.ops.title"), body, user=user))



# --- recent errors (from the process logs; event names only, never their fields) -------------

def recent_errors(limit: int = 30) -> list[dict]:
    folder = get_settings().var_dir / "log"
    found = []
    for path in sorted(folder.glob("*.log")) if folder.is_dir() else []:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                tail = deque(handle, maxlen=4000)
        except OSError:
            continue
        for line in tail:
            entry = parse_log_line(line)
            if entry is not None:
                found.append(dict(entry, process=path.stem))
    return sorted(found, key=lambda f: f["at"], reverse=True)[:limit]


def parse_log_line(line: str) -> dict | None:
    """{at, level, event} of a warning or error line (console or JSON renderer); the event name
    only, never the fields after it."""
    line = line.strip()
    if line.startswith("{"):
        try:
            data = json.loads(line)
        except ValueError:
            return None
        if isinstance(data, dict) and data.get("level") in ("error", "critical", "warning"):
            return {"at": str(data.get("timestamp", "")), "level": data["level"],
                    "event": str(data.get("event", ""))[:80]}
        return None
    match = LOG_LINE.match(line)
    return {"at": match["at"], "level": match["level"], "event": match["event"][:80]} if match else None


def _errors_html() -> str:
    return pages._table(["portal.column.when", "portal.ops.process", "portal.ops.level", "portal.ops.event"],
                        [[e(f["at"]), e(f["process"]), e(f["level"]), f'<code>{e(f["event"])}</code>']
                         for f in recent_errors()])


# --- queues and dead letters -------------------------------------------------------------------

def _queue(queue: str) -> str:
    if not QUEUE_NAME.match(queue or ""):
        raise Refused(404, both("portal.error.not_found"))
    return queue


@html_page
def queues(service, request) -> Response:
    user = _ops(service, request)
    try:
        listed = dlq.queues(get_settings().amqp_uri)
    except Exception as exc:
        log.warning("queue_listing_failed", error=type(exc).__name__)
        raise Refused(503, both("portal.ops.no_management_api")) from exc
    rows = []
    for q in sorted(listed, key=lambda q: (not q["name"].endswith(dlq.SUFFIX) or not q.get("messages"), q["name"])):
        dead = q["name"].endswith(dlq.SUFFIX)
        waiting = q["name"].endswith(".retry")          # a delay queue: no consumer by design
        warn = (dead and q.get("messages")) or (not dead and not waiting and not q.get("consumers"))
        link = (f'<a href="/ops/queues/{e(quote(q["name"], safe=""))}">{e(both("portal.ops.inspect"))}</a>'
                if dead and q.get("messages") else "")
        rows.append([f'<span class="{"down" if warn else "up"}">{e(q["name"])}</span>',
                     e(q.get("messages", 0)), e(q.get("consumers", 0)), link])
    body = (f'<p>{e(both("portal.ops.queues_intro"))}</p>'
            + pages._table(["portal.ops.queue", "portal.ops.messages", "portal.ops.consumers", "portal.column.open"], rows))
    return html_response(pages.layout(both("portal.ops.queues_title"), body, user=user))


@html_page
def dead_letters(service, request, queue: str) -> Response:
    user = _ops(service, request)
    queue = _queue(queue)
    if not queue.endswith(dlq.SUFFIX):
        raise Refused(404, both("portal.error.not_found"))
    try:
        parked = dlq.show(get_settings().amqp_uri, queue, limit=50)
    except dlq.DlqError as exc:
        raise Refused(404, both("portal.error.not_found")) from exc
    rows = [[e(p.message_id or "—"), e(p.type or "—"), e(p.consumer or (p.death or {}).get("queue") or "—"),
             e((p.error or (p.death or {}).get("reason") or "")[:300]),
             e(", ".join(sorted(p.body)) if isinstance(p.body, dict) else type(p.body).__name__),
             (f'<form method="post" action="/ops/queues/{e(quote(queue, safe=""))}/replay" class="inline">'
              f'<input type="hidden" name="message_id" value="{e(p.message_id)}">'
              f'<button type="submit">{e(both("portal.ops.replay"))}</button></form>' if p.message_id else "")]
            for p in parked]
    replay_all = (f'<form method="post" action="/ops/queues/{e(quote(queue, safe=""))}/replay" class="card">'
                  f'<button type="submit">{e(both("portal.ops.replay_all"))}</button></form>' if parked else "")
    body = (f'<p>{e(both("portal.ops.dlq_intro"))}</p>'
            + pages._table(["portal.ops.message_id", "portal.ops.type", "portal.ops.consumer", "portal.ops.error",
                            "portal.ops.fields", "portal.column.action"], rows) + replay_all
            + f'<p><a href="/ops/queues">{e(both("portal.back"))}</a></p>')
    return html_response(pages.layout(both("portal.ops.dlq_title", queue=queue), body, user=user))


@html_page
def replay(service, request, queue: str) -> Response:
    user = _ops(service, request, "ops.replay")
    queue = _queue(queue)
    message_id = (request.form.get("message_id") or "").strip() or None
    try:
        done = dlq.replay(get_settings().amqp_uri, queue, message_id=message_id)
    except dlq.DlqError as exc:
        raise Refused(422, str(exc)) from exc
    log.info("dead_letters_replayed", queue=queue, count=len(done), by_role=user.role)
    return redirect(f"/ops/queues/{quote(queue, safe='')}?replayed={len(done)}", code=303)


# --- workflows ---------------------------------------------------------------------------------

def _ui_link(workflow_id: str, run_id: str | None, namespace: str) -> str:
    base = get_settings().temporal_ui_url.rstrip("/")
    path = f"/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"
    if run_id:
        path += f"/{quote(run_id, safe='')}/history"
    return f'<a href="{e(base + path)}" rel="noopener" target="_blank">{e(both("portal.ops.temporal_ui"))}</a>'


@html_page
def workflows(service, request) -> Response:
    user = _ops(service, request)
    overview = workflow_layer(service, 25)
    if overview is None:
        raise Refused(503, both("portal.ops.no_temporal"))

    def table(rows):
        return pages._table(["portal.ops.workflow", "portal.ops.type", "portal.ops.status", "portal.ops.started",
                             "portal.ops.closed", "portal.column.open"],
                            [[f'<code>{e(w["workflow_id"])}</code>', e(w["type"]), e(w["status"]),
                              e(pages.local_time(w["started_at"])) if w.get("started_at") else "",
                              e(pages.local_time(w["closed_at"])) if w.get("closed_at") else "",
                              _ui_link(w["workflow_id"], w.get("run_id"), overview["namespace"])] for w in rows])
    base = get_settings().temporal_ui_url.rstrip("/")
    body = (f'<p>{e(both("portal.ops.workflows_intro", pollers=overview["pollers"], queue=overview["task_queue"]))} '
            f'<a href="{e(base)}/namespaces/{e(overview["namespace"])}/workflows" rel="noopener" target="_blank">'
            f'{e(both("portal.ops.temporal_ui"))}</a></p>'
            f'<h2 id="running">{e(both("portal.ops.running", count=overview["running_total"]))}</h2>{table(overview["running"])}'
            f'<h2 id="failed">{e(both("portal.ops.failed", count=overview["failed_total"]))}</h2>{table(overview["failed"])}')
    return html_response(pages.layout(both("portal.ops.workflows_title"), body, user=user))
