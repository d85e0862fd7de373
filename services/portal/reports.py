"""The analyst area of the portal: the network's protected reports, charts and exports.

Everything shown comes from the reporting service's RPCs, already protected (small cells "<5",
complementary "x"); nothing personal. Analysts see only these pages (the referral pages refuse
them); coordinators and network admins of the same network may open them too."""
from __future__ import annotations

import base64
import re

import eventlet
from nameko.exceptions import RemoteError, UnknownService
from werkzeug.wrappers import Response

from netsterk.i18n import both
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import html_response
from netsterk.settings import get_settings
from services.portal import report_pages
from services.portal import access
from services.portal.web import Refused, html_page, session_user

log = get_logger(__name__)

REPORT_ROLES = ("analyst", "coordinator", "network_admin")
CHART_NAME = re.compile(r"^[a-z_]{1,40}$")


def require_report_reader(user):
    return access.require(user, "reports.view")     # the roles: access.POLICY


def call_reporting(service, method: str, *args):
    timeout = get_settings().rpc_timeout
    try:
        with eventlet.Timeout(timeout):
            return getattr(service.reporting, method)(*args)
    except RemoteError as exc:
        if exc.exc_type in ("InvalidReport", "UnknownChart", "InvalidExport", "InvalidQuery"):
            raise Refused(422, exc.value or both("portal.error.remote")) from exc
        log.warning("reporting_error", method=method, exc_type=exc.exc_type)
        raise Refused(502, both("reporting.page.unavailable")) from exc
    except (UnknownService, eventlet.Timeout) as exc:
        log.warning("reporting_unavailable", method=method)
        raise Refused(503, both("reporting.page.unavailable")) from exc


def _year(request):
    value = (request.args.get("year") or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise Refused(422, both("reporting.year_invalid"))
    return int(value)


def _download(body, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@html_page
def reports_page(service, request) -> Response:
    user = require_report_reader(session_user(service, request))
    report = call_reporting(service, "dashboard", user.network, _year(request))
    with log_context(network=user.network):
        log.info("reports_viewed", year=report["year"])
    return html_response(report_pages.reports_page(user, report))


@html_page
def chart(service, request, name: str) -> Response:
    user = require_report_reader(session_user(service, request))
    if not CHART_NAME.match(name):
        raise Refused(404, both("portal.error.page_not_found"))
    svg = call_reporting(service, "chart", user.network, _year(request), name, user.lang or "nl")
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "no-store"
    return response


@html_page
def export_csv(service, request) -> Response:
    user = require_report_reader(session_user(service, request))
    year = _year(request)
    text = call_reporting(service, "export", user.network, year, "csv")
    return _download(text, "text/csv", f"netsterk-{user.network}-{year or 'latest'}.csv")


@html_page
def export_parquet(service, request) -> Response:
    user = require_report_reader(session_user(service, request))
    year = _year(request)
    data = base64.b64decode(call_reporting(service, "export", user.network, year, "parquet"))
    return _download(data, "application/vnd.apache.parquet",
                     f"netsterk-{user.network}-{year or 'latest'}.parquet")


@html_page
def periodic_report(service, request) -> Response:
    user = require_report_reader(session_user(service, request))
    year = _year(request)
    html = call_reporting(service, "periodic_report", user.network, year, user.lang or "nl")
    return _download(html, "text/html", f"netsterk-{user.network}-{year or 'latest'}.html")
