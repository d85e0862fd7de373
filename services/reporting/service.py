"""reporting: pseudonymous facts per referral from the events, counts for staff and the public."""
from __future__ import annotations

from nameko.dependency_providers import Config
from netsterk.nameko_support import event_handler  # quorum-capable
from netsterk.nameko_support import rpc  # quorum-capable
from nameko.web.handlers import http

from netsterk import contracts
from netsterk.db import session_scope
from netsterk.i18n import both
from netsterk.nameko_support import Database, consume_once, health_report, http_health, json_response
from services.reporting import domain, reports
from services.reporting.models import ProcessedMessage


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

    @event_handler(contracts.INTAKE, contracts.REFERRAL_SUBMITTED)
    def on_referral_submitted(self, body):
        consume_once(self, consumer="reporting.on_referral_submitted", body=body,
                     apply=domain.apply_submitted, processed_model=ProcessedMessage)

    @event_handler(contracts.WORKFLOW, contracts.REFERRAL_STATE_CHANGED)
    def on_state_changed(self, body):
        consume_once(self, consumer="reporting.on_state_changed", body=body,
                     apply=domain.apply_state_changed, processed_model=ProcessedMessage)

    @rpc
    def counts(self, network):
        """Raw counts, for staff of the network."""
        with session_scope(self.db) as session:
            return domain.counts(session, network)

    @http("GET", "/api/v1/reports/counts")
    def public_counts(self, request):
        """The pseudonymous public view: cells of 1 to 4 show as "<5"."""
        network = request.args.get("network", "").strip()
        if not network:
            return json_response({"error": both("reporting.network_required")}, status=400)
        with session_scope(self.db) as session:
            counts = domain.counts(session, network)
        return json_response(reports.public_counts(counts))
