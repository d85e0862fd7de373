"""reporting: pseudonymous facts from the events, protected dashboards, charts and exports."""
from __future__ import annotations

import base64

from nameko.dependency_providers import Config
from netsterk.nameko_support import event_handler  # quorum-capable
from netsterk.nameko_support import rpc  # quorum-capable
from nameko.web.handlers import http

from netsterk import contracts
from netsterk.db import session_scope
from netsterk.i18n import both
from netsterk.nameko_support import (
    Database, consume_once, erase_and_confirm, health_report, http_health, json_response,
)
from services.reporting import domain, export, reports, views
from services.reporting.models import ProcessedMessage


def _ingest(event_type):
    return lambda session, envelope: domain.ingest(session, event_type, envelope)


class ReportingService:
    name = "reporting"

    db = Database("reporting")
    config = Config()

    @rpc
    def health(self):
        return health_report(self.name, self.db)

    @http("GET", "/health")
    def health_page(self, request):
        return http_health(self.name, self.db)

    # --- events: each is logged, then applied (services/reporting/domain.py) ---
    def _consume(self, consumer, event_type, body):
        consume_once(self, consumer=consumer, body=body, apply=_ingest(event_type),
                     processed_model=ProcessedMessage)

    @event_handler(contracts.INTAKE, contracts.REFERRAL_SUBMITTED)
    def on_referral_submitted(self, body):
        self._consume("reporting.on_referral_submitted", contracts.REFERRAL_SUBMITTED, body)

    @event_handler(contracts.WORKFLOW, contracts.REFERRAL_STATE_CHANGED)
    def on_state_changed(self, body):
        self._consume("reporting.on_state_changed", contracts.REFERRAL_STATE_CHANGED, body)

    @event_handler(contracts.WORKFLOW, domain.ENGAGEMENT_CHANGED)
    def on_engagement_changed(self, body):
        self._consume("reporting.on_engagement_changed", domain.ENGAGEMENT_CHANGED, body)

    @event_handler(contracts.MATCHING, domain.GAP_RECORDED)
    def on_gap_recorded(self, body):
        self._consume("reporting.on_gap_recorded", domain.GAP_RECORDED, body)

    @event_handler(contracts.WORKFLOW, domain.ANONYMISE)
    def on_anonymise(self, body):
        self._consume("reporting.on_anonymise", domain.ANONYMISE, body)

    @event_handler(contracts.INTAKE, contracts.REFERRAL_ERASED)
    def on_referral_erased(self, body):
        """Erasure on request: the referral's facts go (not only its key); intake gets a receipt."""
        erase_and_confirm(self, consumer="reporting.on_referral_erased", body=body,
                          erase=domain.erase, processed_model=ProcessedMessage)

    # --- RPC ---
    @rpc
    def counts(self, network):
        """Raw counts, for staff of the network."""
        with session_scope(self.db) as session:
            return domain.counts(session, network)

    @rpc
    def gap_counts(self, network):
        """Raw gap counts (matching.gap_recorded), for staff of the network."""
        with session_scope(self.db) as session:
            return domain.gap_counts(session, network)

    def _report(self, network, year):
        with session_scope(self.db) as session:
            if year in (None, ""):
                known = views.years(session, network) if isinstance(network, str) else []
                year = known[-1] if known else views.this_year()
            return views.dashboard(session, network, year)

    @rpc
    def dashboard(self, network, year=None):
        """Every protected table of a network's year (small cells suppressed)."""
        return self._report(network, year)

    @rpc
    def chart(self, network, year, name, lang="nl"):
        """One chart of the protected dashboard as SVG text."""
        return export.chart_svg(self._report(network, year), name, lang)

    @rpc
    def export(self, network, year, fmt):
        """The protected figures as CSV text, or Parquet bytes in base64."""
        data = export.export(self._report(network, year), fmt)
        return base64.b64encode(data).decode("ascii") if isinstance(data, bytes) else data

    @rpc
    def periodic_report(self, network, year=None, lang="nl"):
        """A self-contained HTML report of the year (charts and tables)."""
        return export.periodic_report(self._report(network, year), lang)

    @http("GET", "/api/v1/reports/counts")
    def public_counts(self, request):
        """The pseudonymous public view: cells of 1 to 4 show as "<5", totals cannot undo it."""
        network = request.args.get("network", "").strip()
        if not network:
            return json_response({"error": both("reporting.network_required")}, status=400)
        with session_scope(self.db) as session:
            counts = domain.counts(session, network)
        return json_response(reports.public_counts(counts))
