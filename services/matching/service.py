"""matching: the offer directory of each network and the ranking of offers for a referral."""
from __future__ import annotations

from netsterk.nameko_support import rpc  # quorum-capable

from netsterk.db import session_scope
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import Database, health_report
from services.matching import domain

log = get_logger(__name__)


class MatchingService:
    name = "matching"

    db = Database("matching")

    @rpc
    def health(self):
        return health_report(self.name, self.db)

    @rpc
    def import_directory(self, network, organisations):
        with log_context(network=network if isinstance(network, str) else None):
            with session_scope(self.db) as session:
                result = domain.import_directory(session, network, organisations)
            log.info("directory_imported", **result)
            return result

    @rpc
    def rank_offers(self, request):
        network = request.get("network") if isinstance(request, dict) else None
        with log_context(network=network if isinstance(network, str) else None):
            with session_scope(self.db) as session:
                candidates = domain.rank_offers(session, request)
            if candidates:
                log.info("offers_ranked", candidates=len(candidates))
            else:
                log.info("gap_recorded")
            return candidates

    @rpc
    def list_offers(self, network):
        with session_scope(self.db) as session:
            return domain.list_offers(session, network)

    @rpc
    def list_gaps(self, network):
        with session_scope(self.db) as session:
            return domain.list_gaps(session, network)
