"""Intake: the web form and JSON API where reporters submit referrals."""
from __future__ import annotations

import json

from nameko.dependency_providers import Config
from nameko.events import event_handler
from nameko.rpc import rpc
from nameko.timer import timer
from nameko.web.handlers import http
from werkzeug.utils import redirect

from netsterk import contracts
from netsterk.db import session_scope
from netsterk.i18n import both
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import (
    Database, OutboxRelay, consume_once, health_report, html_response, http_health, json_response,
)
from services.intake import domain, openapi, pages
from services.intake.models import Outbox, ProcessedMessage
from services.intake.schemas import LIST_FIELDS, MAX_BODY_BYTES, validate_referral

log = get_logger(__name__)


class IntakeService:
    name = contracts.INTAKE

    config = Config()
    db = Database(contracts.INTAKE)
    outbox = OutboxRelay(contracts.INTAKE, Outbox)

    # --- submission (one write path for form and API) ---

    def _submit(self, data: dict):
        """Validate and store; returns (referral status, None) or (None, errors)."""
        with session_scope(self.db) as session:
            categories = domain.network_categories(session, data.get("network") if isinstance(data, dict) else None)
            clean, errors = validate_referral(data, categories=categories)
            if errors:
                return None, errors
            referral = domain.submit_referral(session, clean)
            view = domain.status_view(referral)
        with log_context(network=view["network"], referral_ref=view["ref"]):
            log.info("referral_stored", channel=view["channel"])
            try:
                self.outbox.flush()
            except Exception:  # stored is stored: the timer relays it when the broker is back
                log.exception("outbox_flush_failed")
        return view, None

    @http("POST", "/api/v1/referrals")
    def api_submit(self, request):
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return json_response({"errors": {"_": both("intake.request_too_large")}}, 413)
        try:
            data = json.loads(request.get_data(cache=False) or b"null")
        except (ValueError, UnicodeDecodeError):
            return json_response({"errors": {"_": both("intake.invalid_json")}}, 400)
        if not isinstance(data, dict):
            return json_response({"errors": {"_": both("intake.body_not_object")}}, 400)
        data.setdefault("channel", "api")
        view, errors = self._submit(data)
        if errors:
            return json_response({"errors": errors}, 422)
        return json_response(view, 201)

    @http("GET", "/")
    def index(self, request):
        return redirect("/referrals/new", code=302)

    @http("GET", "/referrals/new")
    def form(self, request):
        with session_scope(self.db) as session:
            networks = domain.list_networks(session)
        return html_response(pages.referral_form(networks, dict(request.args.items()), {}))

    @http("POST", "/referrals/new")
    def form_submit(self, request):
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return html_response(pages.page("413", both("intake.request_too_large")), 413)
        data = {key: (request.form.getlist(key) if key in LIST_FIELDS else request.form.get(key))
                for key in request.form.keys()}
        data["channel"] = "web"
        view, errors = self._submit(data)
        if errors:
            with session_scope(self.db) as session:
                networks = domain.list_networks(session)
            return html_response(pages.referral_form(networks, data, errors), 422)
        return redirect(f"/referrals/submitted/{view['ref']}", code=303)

    @http("GET", "/referrals/submitted/<string:ref>")
    def submitted(self, request, ref):
        return html_response(pages.submitted_page(ref))

    @http("GET", "/api/v1/networks")
    def api_networks(self, request):
        with session_scope(self.db) as session:
            return json_response(domain.list_networks(session))

    @http("GET", "/api/openapi.json")
    def api_document(self, request):
        return json_response(openapi.document())

    # --- RPC ---

    @rpc
    def upsert_network(self, code, name, categories):
        with session_scope(self.db) as session:
            return domain.upsert_network(session, code, name, categories)

    @rpc
    def health(self):
        return health_report(self.name, self.db)

    @http("GET", "/health")
    def health_page(self, request):
        return http_health(self.name, self.db)

    # --- events and timers ---

    @event_handler(contracts.WORKFLOW, contracts.REFERRAL_STATE_CHANGED)
    def on_state_changed(self, body):
        consume_once(self, consumer="intake.on_state_changed", body=body,
                     apply=domain.apply_state_change, processed_model=ProcessedMessage)

    @timer(interval=2)
    def relay_outbox(self):
        self.outbox.flush()
