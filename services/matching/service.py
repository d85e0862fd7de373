"""matching: the offer directory of each network, the capacity picture and the ranking of offers
for a referral. Thin entrypoints; the work is in domain.py, ranking.py, hsds.py, spreadsheet.py."""
from __future__ import annotations

from nameko.dependency_providers import Config
from netsterk.nameko_support import event_handler  # quorum-capable
from netsterk.nameko_support import rpc  # quorum-capable
from nameko.timer import timer
from nameko.rpc import RpcProxy
import eventlet

from netsterk import contracts
from netsterk.db import session_scope
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import Database, OutboxRelay, consume_once, erase_and_confirm, health_report
from netsterk.settings import get_settings
from services.matching import catalogue, domain, hsds, spreadsheet
from netsterk.refusal import answer
from services.matching.models import Outbox, ProcessedMessage

log = get_logger(__name__)

ENGAGEMENT_CHANGED = "engagement_changed"


def _network_of(value) -> str | None:
    return value if isinstance(value, str) else None


class MatchingService:
    name = contracts.MATCHING

    config = Config()
    db = Database(contracts.MATCHING)
    outbox = OutboxRelay(contracts.MATCHING, Outbox)
    notifications = RpcProxy(contracts.NOTIFICATIONS)

    def _relay(self) -> None:
        try:
            self.outbox.flush()
        except Exception:  # stored is stored: the timer relays it when the broker is back
            log.exception("outbox_flush_failed")

    def _schema_dir(self):
        return self.config.get("HSDS_SCHEMA_DIR") or get_settings().hsds_schema_dir

    @rpc
    def health(self):
        return health_report(self.name, self.db)

    # --- directory ---
    @rpc
    def import_directory(self, network, organisations):
        with log_context(network=_network_of(network)):
            with session_scope(self.db) as session:
                result = domain.import_directory(session, network, organisations)
            log.info("directory_imported", **result)
            return result

    @rpc
    def import_hsds(self, network, document):
        with log_context(network=_network_of(network)):
            organisations = hsds.read_document(document, self._schema_dir())
            with session_scope(self.db) as session:
                result = domain.import_directory(session, network, organisations)
            log.info("directory_imported", format="hsds", **result)
            return result

    @rpc
    def import_csv(self, network, text):
        with log_context(network=_network_of(network)):
            organisations = spreadsheet.read_csv(text)
            with session_scope(self.db) as session:
                result = domain.import_directory(session, network, organisations, keep_staff=True)
            log.info("directory_imported", format="csv", **result)
            return result

    @rpc
    def export_hsds(self, network, with_staff=True):
        with session_scope(self.db) as session:
            organisations = domain.export_directory(session, network)
        return hsds.export_document(network, organisations, with_staff=bool(with_staff))

    @rpc
    def export_csv(self, network):
        with session_scope(self.db) as session:
            return spreadsheet.export_csv(domain.export_directory(session, network))

    @rpc
    def get_organisation(self, network, organisation_id):
        with session_scope(self.db) as session:
            return domain.organisation_entry(session, network, organisation_id)

    @rpc
    def list_organisations(self, network):
        """The directory overview without staff: organisations with their offers."""
        with session_scope(self.db) as session:
            return [dict(org, staff=[]) for org in domain.export_directory(session, network)]

    # --- the offer catalogue for reporters and information sessions (issue 13) ---
    def _answer(self, work):
        with session_scope(self.db) as session:
            return answer(lambda: work(session))

    @rpc
    def catalogue_search(self, network, criteria=None):
        criteria = criteria if isinstance(criteria, dict) else {}
        return self._answer(lambda s: dict(catalogue.search(s, network, **{
            k: criteria.get(k) for k in ("concern", "age", "area", "language")}),
            facets=catalogue.facets(s, network)))

    @rpc
    def session_announce(self, network, organisation_id, data, by, categories=None):
        return self._answer(lambda s: catalogue.announce(s, network, organisation_id, data, by, categories))

    @rpc
    def session_list(self, network, theme=None, organisation_id=None):
        return self._answer(lambda s: catalogue.list_sessions(s, network, theme=theme,
                                                              organisation_id=organisation_id))

    @rpc
    def session_register(self, network, session_id, data):
        """Register, then confirm by e-mail with the session as a calendar invitation (.ics). The
        registration stands when the mail cannot go out now (`confirmation: not_sent`)."""
        result = self._answer(lambda s: catalogue.register(s, network, session_id, data))
        if "error" in result:
            return result
        with session_scope(self.db) as session:
            mail = catalogue.registration_mail(session, network, session_id, str(data.get("email")).strip())
        try:
            with eventlet.Timeout(get_settings().rpc_timeout):
                result["result"]["confirmation"] = self.notifications.send_invitation(mail)["status"]
        except (Exception, eventlet.Timeout) as exc:
            log.warning("session_confirmation_not_sent", error=type(exc).__name__)
            result["result"]["confirmation"] = "not_sent"
        return result

    @rpc
    def session_registrations(self, network, organisation_id, session_id):
        return self._answer(lambda s: catalogue.registrations(s, network, organisation_id, session_id))

    @rpc
    def list_offers(self, network):
        with session_scope(self.db) as session:
            return domain.list_offers(session, network)

    # --- partners' changes, approved by the network admin ---
    @rpc
    def propose_change(self, network, organisation_id, entry, by):
        with log_context(network=_network_of(network)):
            with session_scope(self.db) as session:
                result = domain.propose_change(session, network, organisation_id, entry, by)
            log.info("directory_change_proposed", change_id=result["id"])
            return result

    @rpc
    def list_changes(self, network, status="pending"):
        with session_scope(self.db) as session:
            return domain.list_changes(session, network, status)

    @rpc
    def decide_change(self, network, change_id, approve, by, note=""):
        with log_context(network=_network_of(network)):
            with session_scope(self.db) as session:
                result = domain.decide_change(session, network, change_id, approve, by, note)
            log.info("directory_change_decided", change_id=result["id"], status=result["status"])
            return result

    # --- ranking, capacity, gaps ---
    @rpc
    def rank_offers(self, request):
        network = request.get("network") if isinstance(request, dict) else None
        with log_context(network=_network_of(network)):
            with session_scope(self.db) as session:
                candidates = domain.rank_offers(session, request)
            if candidates:
                log.info("offers_ranked", candidates=len(candidates))
            else:
                log.info("gap_recorded")
                self._relay()
            return candidates

    @rpc
    def reserve_place(self, network, offer_id, referral_id):
        with log_context(network=_network_of(network)):
            with session_scope(self.db) as session:
                result = domain.reserve_place(session, network, offer_id, referral_id)
            log.info("place_reserved", free_places=result["free_places"])
            return result

    @rpc
    def capacity(self, network):
        with session_scope(self.db) as session:
            return domain.capacity_picture(session, network)

    @rpc
    def list_gaps(self, network):
        with session_scope(self.db) as session:
            return domain.list_gaps(session, network)

    @event_handler(contracts.WORKFLOW, ENGAGEMENT_CHANGED)
    def on_engagement_changed(self, body):
        consume_once(self, consumer="matching.on_engagement_changed", body=body,
                     apply=domain.apply_engagement, processed_model=ProcessedMessage)

    @event_handler(contracts.WORKFLOW, contracts.REFERRAL_ANONYMISE)
    def on_referral_anonymise(self, body):
        consume_once(self, consumer="matching.on_referral_anonymise", body=body,
                     apply=domain.anonymise_subject, processed_model=ProcessedMessage)

    @event_handler(contracts.INTAKE, contracts.REFERRAL_ERASED)
    def on_referral_erased(self, body):
        erase_and_confirm(self, consumer="matching.on_referral_erased", body=body,
                          erase=domain.erase_referral, processed_model=ProcessedMessage)

    @timer(interval=2)
    def relay_outbox(self):
        self.outbox.flush()

    # --- rules ---
    @rpc
    def get_rules(self, network):
        with session_scope(self.db) as session:
            return domain.get_rules(session, network)

    @rpc
    def set_rules(self, network, rules, by):
        with log_context(network=_network_of(network)):
            with session_scope(self.db) as session:
                result = domain.set_rules(session, network, rules, by)
            log.info("rules_changed")
            return result

    @rpc
    def preview_rules(self, network, rules, limit=20):
        with session_scope(self.db) as session:
            return domain.preview_rules(session, network, rules, limit)

    # --- HSDS read API (served over HTTP by the portal) ---
    @rpc
    def hsds_read(self, network, collection, item_id=None, page=1, per_page=50):
        """`collection`: services | organizations | taxonomies | taxonomy_terms. Public data only
        (no staff). One item (or None) with `item_id`, else a page."""
        with session_scope(self.db) as session:
            document = hsds.export_document(network, domain.export_directory(session, network),
                                            with_staff=False)
        if collection == "taxonomies":
            items = hsds.taxonomies()
        elif collection == "taxonomy_terms":
            items = hsds.taxonomy_terms(document)
        elif collection == "organizations":
            items = document["organizations"]
        elif collection == "services":
            orgs = {o["id"]: o for o in document["organizations"]}
            items = [dict(s, organization=orgs[s["organization_id"]]) for s in document["services"]]
        else:
            raise ValueError(f"unknown collection {collection!r}")
        if item_id is not None:
            return next((item for item in items if item["id"] == item_id), None)
        return hsds.page(items, page, per_page)
