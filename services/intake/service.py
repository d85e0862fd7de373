"""Intake: the web form and JSON API where reporters submit referrals; RPC for staff entry
(phone) and partners' direct engagements."""
from __future__ import annotations

import json

import eventlet

from nameko.dependency_providers import Config
from netsterk.nameko_support import event_handler  # quorum-capable
from netsterk.nameko_support import rpc  # quorum-capable
from nameko.timer import timer
from nameko.rpc import RpcProxy
from netsterk.web_security import client_address, guarded_http as http
from werkzeug.utils import redirect

from netsterk import contracts
from netsterk import deadlines as deadline_rules
from netsterk.db import session_scope
from netsterk.i18n import both
from netsterk.logging import get_logger, log_context
from netsterk.settings import get_settings
from netsterk.nameko_support import (
    Database, OutboxRelay, consume_once, health_report, html_response, http_health, json_response,
)
from services.intake import conference, domain, openapi, pages, plan, privacy, voice
from services.intake.mail import sanitise
from services.intake.wraparound import Refusal
from services.intake.models import Outbox, ProcessedMessage
from services.intake.mail import bounces as mail_bounces
from services.intake.mail import processing as mail_processing
from services.intake.mail.addresses import own_domains
from services.intake.mail.models import MailMessage
from services.intake.schemas import LIST_FIELDS, MAX_BODY_BYTES, validate_referral

log = get_logger(__name__)


def _form_data(request) -> dict:
    return {key: (request.form.getlist(key) if key in LIST_FIELDS else request.form.get(key))
            for key in request.form.keys() if key not in ("action", "draft_token")}


def _json_body(request):
    """(data, error response): the request's JSON object, or the precise 400/413."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return None, json_response({"errors": {"_": both("intake.request_too_large")}}, 413)
    try:
        data = json.loads(request.get_data(cache=False) or b"null")
    except (ValueError, UnicodeDecodeError):
        return None, json_response({"errors": {"_": both("intake.invalid_json")}}, 400)
    if not isinstance(data, dict):
        return None, json_response({"errors": {"_": both("intake.body_not_object")}}, 400)
    return data, None


class IntakeService:
    name = contracts.INTAKE

    config = Config()
    db = Database(contracts.INTAKE)
    outbox = OutboxRelay(contracts.INTAKE, Outbox)
    notifications_rpc = RpcProxy(contracts.NOTIFICATIONS)

    # --- submission: one write path for form, API, phone entry and direct engagements ---

    def _submit(self, data: dict, *, channel: str, entered_by: str | None = None,
                direct: dict | None = None, draft_token: str | None = None, origin: str | None = None):
        """Validate and store; returns (referral status, None) or (None, errors)."""
        with session_scope(self.db) as session:
            network = data.get("network") if isinstance(data, dict) else None
            categories = domain.network_categories(session, network if isinstance(network, str) else None)
            clean, errors = validate_referral(data, categories=categories, channel=channel)
            if errors:
                return None, errors
            completes = (domain.load_draft(session, draft_token) or {}).get("mail_referral_id") \
                if draft_token else None
            if completes:    # a draft that came in by e-mail: complete that referral
                try:
                    referral = domain.complete_referral(session, completes, {**clean, "channel": "email"})
                except LookupError:
                    return None, {"_": both("intake.draft_not_found")}
            else:
                referral = domain.submit_referral(session, clean, entered_by=entered_by, direct=direct)
            privacy.log_referral(session, {
                "username": entered_by or "reporter", "origin": origin or channel,
                "role": {"phone": "coordinator", "direct": "partner_staff"}.get(channel, "reporter")},
                "update" if completes else "create", referral,
                "referral completed" if completes else f"referral submitted ({channel})",
                fields=[f for f in privacy.PERSONAL_FIELDS if getattr(referral, f)])
            domain.delete_draft(session, draft_token)
            view = domain.status_view(referral)
        with log_context(network=view["network"], referral_ref=view["ref"]):
            log.info("referral_stored", channel=view["channel"])
            try:
                self.outbox.flush()
            except Exception:  # stored is stored: the timer relays it when the broker is back
                log.exception("outbox_flush_failed")
        return view, None

    def _networks(self):
        with session_scope(self.db) as session:
            return domain.list_networks(session)

    @http("POST", "/api/v1/referrals", rate_limit="public", max_body=MAX_BODY_BYTES)
    def api_submit(self, request):
        data, error = _json_body(request)
        if error:
            return error
        view, errors = self._submit(data, channel="api", origin=client_address(request))
        if errors:
            return json_response({"errors": errors}, 422)
        return json_response(view, 201)

    @http("POST", "/api/v1/drafts", rate_limit="public", max_body=MAX_BODY_BYTES)
    def api_save_draft(self, request):
        data, error = _json_body(request)
        if error:
            return error
        with session_scope(self.db) as session:
            token, expires = domain.save_draft(session, data)
            privacy.log_draft(session, token, "update", client_address(request), data.get("network"))
        return json_response({"token": token, "expires_at": expires.isoformat(),
                              "resume_url": f"/referrals/draft/{token}"}, 201)

    @http("GET", "/api/v1/drafts/<string:token>", rate_limit="token")
    def api_load_draft(self, request, token):
        with session_scope(self.db) as session:
            data = domain.load_draft(session, token)
            if data is not None:
                privacy.log_draft(session, token, "read", client_address(request), data.get("network"))
        if data is None:
            return json_response({"errors": {"token": both("intake.draft_not_found")}}, 404)
        return json_response(data)

    @http("GET", "/")
    def index(self, request):
        return redirect("/referrals/new", code=302)

    @http("GET", "/referrals/new")
    def form(self, request):
        values = dict(request.args.items())
        if "categories" in request.args:   # a referral started from an offer in the catalogue
            values["categories"] = request.args.getlist("categories")
        return html_response(pages.referral_form(self._networks(), values, {}))

    @http("POST", "/referrals/new", rate_limit="public", max_body=MAX_BODY_BYTES)
    def form_submit(self, request):
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return html_response(pages.page("413", both("intake.request_too_large")), 413)
        data, token = _form_data(request), request.form.get("draft_token") or None
        if request.form.get("action") == "save_draft":
            with session_scope(self.db) as session:
                token, expires = domain.save_draft(session, data, token=token)
                privacy.log_draft(session, token, "update", client_address(request), data.get("network"))
            return html_response(pages.draft_saved_page(token, expires))
        view, errors = self._submit(data, channel="web", draft_token=token, origin=client_address(request))
        if errors:
            return html_response(pages.referral_form(self._networks(), data, errors, draft_token=token), 422)
        return redirect(f"/referrals/submitted/{view['ref']}", code=303)

    @http("GET", "/referrals/draft/<string:token>", rate_limit="token")
    def resume_draft(self, request, token):
        with session_scope(self.db) as session:
            data = domain.load_draft(session, token)
            if data is not None:
                privacy.log_draft(session, token, "read", client_address(request), data.get("network"))
        if data is None:
            return html_response(pages.page("404", both("intake.draft_not_found")), 404)
        return html_response(pages.referral_form(self._networks(), data, {}, draft_token=token))

    @http("GET", "/referrals/submitted/<string:ref>")
    def submitted(self, request, ref):
        return html_response(pages.submitted_page(ref))

    @http("GET", "/api/v1/networks")
    def api_networks(self, request):
        return json_response(self._networks())

    @http("GET", "/api/openapi.json")
    def api_document(self, request):
        return json_response(openapi.document())

    # --- RPC ---

    @rpc
    def submit_referral(self, data, channel="phone", entered_by=None):
        """Staff entry (a referral taken by phone): the same validation as the form."""
        if channel not in ("phone", "email"):
            raise ValueError("submit_referral over RPC is for channel phone or email")
        view, errors = self._submit(data, channel=channel, entered_by=entered_by)
        return {"referral": view, "errors": errors or {}}

    @rpc
    def report_direct_engagement(self, data, direct, entered_by=None):
        """A partner reports that a school engaged it directly: the referral enters the overview
        straight in `in_progress` (the workflow starts there). `direct` = {organisation_id,
        organisation_name, contact_email, offer_id, offer_name} from the directory."""
        direct = domain.direct_engagement(direct)
        view, errors = self._submit(data, channel="direct", entered_by=entered_by, direct=direct)
        return {"referral": view, "errors": errors or {}}

    @rpc
    def form_fragment(self, network, values=None, errors=None, action="/referrals/new", choice=None):
        """The referral form (fields only, no page) for staff pages in the portal; `choice` adds
        one select at the top: {"name", "label_key", "options": [[value, text], ...]}."""
        networks = [n for n in self._networks() if n["code"] == network]
        return pages.referral_form_fields(networks, values or {}, errors or {}, action=action,
                                          allow_draft=False, choice=choice)

    @rpc
    def list_networks(self):
        return self._networks()

    @rpc
    def upsert_network(self, code, name, categories):
        with session_scope(self.db) as session:
            return domain.upsert_network(session, code, name, categories)

    # --- issue 9: the network admin's concern categories (portal /admin/categories) ---
    @rpc
    def get_network(self, code):
        """{code, name, categories, deadlines} of one network, or None."""
        with session_scope(self.db) as session:
            return domain.get_network(session, code)

    @rpc
    def set_network_deadlines(self, code, deadlines, actor):
        """The network admin's own deadlines ({urgency: {step: working days}}; {} = defaults),
        audited as `actor` ({username, role, origin}). ValueError with the reason when refused."""
        try:
            with session_scope(self.db) as session:
                return domain.set_network_deadlines(session, code, deadlines, actor)
        except deadline_rules.DeadlineError as error:
            raise ValueError(error.text()) from None

    @rpc
    def health(self):
        return health_report(self.name, self.db)

    @http("GET", "/health")
    def health_page(self, request):
        return http_health(self.name, self.db)

    # --- e-mail gateway (services/intake/mail): hand-over, processing, quarantine, review ---

    @rpc
    def mail_received(self, message):
        """The gateway hands over one stored message; answered after it is stored here (once)."""
        with session_scope(self.db) as session:
            return mail_processing.receive(session, message)

    @timer(interval=1)
    def process_mail(self):
        settings = get_settings()
        with session_scope(self.db) as session:
            ids = mail_processing.pending_ids(session)
        for mail_id in ids:
            try:
                with session_scope(self.db) as session:
                    parsed = mail_processing.parse_stored(session, mail_id, settings)
                if parsed is None:
                    continue
                sent = mail_processing.sent_mail_for(parsed, settings, self._sent_mail)
                if parsed.kind == "bounce":  # issue 7: notifications marks the address failing
                    self._forward_bounce(mail_id, parsed, settings)
                with session_scope(self.db) as session:
                    mail_processing.process(session, mail_id, settings, parsed, sent)
            except Exception as exc:  # kept in the quarantine with the reason, never dropped
                log.exception("mail_processing_failed", mail_id=mail_id)
                with session_scope(self.db) as session:
                    mail_processing.quarantine(session, mail_id, f"{type(exc).__name__}: {exc}")
        if ids:
            self.outbox.flush()

    def _forward_bounce(self, mail_id, parsed, settings):
        """Tell notifications; when it cannot be told now, the message keeps it as a problem
        (visible in mail_status and the quarantine views; `mail_reprocess` tries again)."""
        with session_scope(self.db) as session:
            raw = session.get(MailMessage, mail_id).raw
        try:
            with eventlet.Timeout(settings.rpc_timeout):
                mail_bounces.forward(raw, parsed, own_domains(settings), self.notifications_rpc.record_bounce)
        except (Exception, eventlet.Timeout) as exc:
            log.warning("bounce_not_reported", mail_id=mail_id, error=type(exc).__name__)
            parsed.problems.append(f"bounce not reported to notifications: {type(exc).__name__}")

    def _sent_mail(self, message_ids):
        """Bounded: a notifications that does not answer must not hold up the mail timer (the
        lookup then counts as failed and intake decides on what it knows)."""
        import eventlet

        with eventlet.Timeout(get_settings().rpc_timeout, TimeoutError("notifications.find_sent_mail")):
            return self.notifications_rpc.find_sent_mail(message_ids)

    @rpc
    def mail_status(self, mail_id):
        with session_scope(self.db) as session:
            row = session.get(MailMessage, mail_id)
            if row is None:
                return None
            return {**mail_processing.view(row),
                    "attachments": mail_processing.attachments_of(session, mail_id)}

    @rpc
    def mail_quarantine(self, network=None):
        """Quarantined mail; with a network: that network's and the mail no network was found for."""
        with session_scope(self.db) as session:
            return mail_processing.listing(session, "quarantined", network, include_unassigned=True)

    @rpc
    def mail_review(self, network=None):
        """Mail the coordinator looks at: replies from non-parties or to unknown referrals."""
        with session_scope(self.db) as session:
            return mail_processing.listing(session, "review", network)

    @rpc
    def mail_reprocess(self, mail_id):
        with session_scope(self.db) as session:
            if not mail_processing.reprocess(session, mail_id):
                raise LookupError(f"no mail {mail_id}")
        self.process_mail()
        return self.mail_status(mail_id)

    # --- privacy (issue 10): right of access, erasure, the audit log --------------------------
    # `actor` = {username, role, network, origin, purpose} of the staff member (the portal passes
    # it); a referral outside the actor's network or role is answered as unknown (LookupError)

    @rpc
    def privacy_export(self, actor, referral_id=None, ref=None):
        try:
            with session_scope(self.db) as session:
                return privacy.export_referral(session, actor, referral_id=referral_id, ref=ref)
        except privacy.NotAllowed:
            raise LookupError("not found") from None

    @rpc
    def privacy_erase(self, actor, referral_id=None, ref=None, reason=""):
        """Erasure where allowed; raises ValueError('refused:<state>') while care is ongoing."""
        try:
            with session_scope(self.db) as session:
                result = privacy.erase_referral(session, actor, referral_id=referral_id, ref=ref,
                                                reason=reason)
        except privacy.ErasureRefused as refused:
            raise ValueError(f"refused:{refused.state}") from None
        except privacy.NotAllowed:
            raise LookupError("not found") from None
        self.outbox.flush()
        return result

    @rpc
    def erasure_status(self, actor, referral_id=None, ref=None):
        """Which services confirmed the erasure of the referral (coordinator of its network)."""
        try:
            with session_scope(self.db) as session:
                return privacy.erasure_status(session, actor, referral_id=referral_id, ref=ref)
        except privacy.NotAllowed:
            raise LookupError("not found") from None

    @rpc
    def contact_address(self, referral_id, role, purpose="notification"):
        """The address of `role` (contracts.CONTACT_ROLES) of the referral, or None; for the
        workflow's mails at send time. Audited."""
        with session_scope(self.db) as session:
            return privacy.contact_address(session, referral_id, role, purpose)

    @rpc
    def audit_log(self, actor, limit=200, before=None):
        try:
            with session_scope(self.db) as session:
                return privacy.audit_log(session, actor, limit=min(int(limit), 1000), before=before)
        except privacy.NotAllowed:
            raise LookupError("not found") from None

    @rpc
    def audit_verify(self):
        """The chain's state (no entries, no personal data): for ops and `netsterk audit verify`."""
        from netsterk import audit
        from services.intake.models import AUDIT

        with session_scope(self.db) as session:
            return audit.verify(session, AUDIT)

    @rpc
    def mail_show(self, actor, mail_id):
        """One incoming mail for the coordinator: sender, subject, text and the HTML sanitised,
        with its authentication verdict. Scoped to the actor's network; audited as a read."""
        from netsterk import audit
        from services.intake.mail import authentication

        actor = audit.actor_of(actor)
        with session_scope(self.db) as session:
            row = session.get(MailMessage, mail_id)
            if row is None or actor["role"] != "coordinator" or not actor["network"] \
                    or row.network not in (actor["network"], None):
                raise LookupError("not found")
            import base64
            raw = base64.b64decode(row.raw or "")
            html = sanitise.html_part(raw) if raw else None
            privacy.log(session, actor, "read", record_type="mail", record_id=row.id,
                        fields=["from_addr", "subject", "text"] + (["html"] if html else []),
                        purpose="mail review", network=row.network or actor["network"],
                        record_ref=row.referral_ref)
            checked = authentication.check_raw(raw, {a.strip().lower() for a in get_settings()
                                                      .intake_mail_authserv_ids.split(",") if a.strip()})
            text = row.text
            if text is None and raw:     # quarantined before it was parsed: parse it for the reader
                from services.intake.mail.parse import parse_mail
                text = parse_mail(raw).text
            return {**mail_processing.view(row), "from": row.from_addr, "subject": row.subject,
                    "text": text, "html": sanitise.sanitise_html(html) if html else None,
                    "authentication": checked}

    # --- working together around one young person (issue 13): plan, voice, case conference ---
    # The portal vouches for the viewer ({role, network, by, organisation_id?, can_edit?});
    # every answer is {"result": ...} or {"error": {status, message, field}}.

    def _wrap(self, work):
        try:
            with session_scope(self.db) as session:
                return {"result": work(session)}
        except Refusal as refusal:
            return {"error": refusal.as_dict()}

    @rpc
    def plan_view(self, referral_id, viewer):
        return self._wrap(lambda s: plan.view_plan(s, referral_id, viewer))

    @rpc
    def plan_add_item(self, referral_id, viewer, data):
        return self._wrap(lambda s: plan.add_item(s, referral_id, viewer, data))

    @rpc
    def plan_change_item(self, referral_id, viewer, item_id, data):
        return self._wrap(lambda s: plan.change_item(s, referral_id, viewer, item_id, data))

    @rpc
    def plan_set_contact(self, referral_id, viewer, data):
        return self._wrap(lambda s: plan.set_contact(s, referral_id, viewer, data))

    @rpc
    def voice_record(self, referral_id, viewer, data):
        return self._wrap(lambda s: voice.record_voice(s, referral_id, viewer, data))

    @rpc
    def voice_withdraw_consent(self, referral_id, viewer):
        return self._wrap(lambda s: voice.withdraw_consent(s, referral_id, viewer))

    @rpc
    def conference_create(self, referral_id, viewer, data):
        return self._wrap(lambda s: conference.create(s, referral_id, viewer, data))

    @rpc
    def conference_list(self, referral_id, viewer):
        return self._wrap(lambda s: conference.for_referral(s, referral_id, viewer))

    @rpc
    def conference_get(self, conference_id, viewer):
        return self._wrap(lambda s: conference.get(s, conference_id, viewer))

    @rpc
    def conference_invite(self, conference_id, viewer):
        """Build the invitations and have notifications send each (e-mail + .ics)."""
        settings = get_settings()
        answer = self._wrap(lambda s: conference.invitations(s, conference_id, viewer,
                                                             organizer=settings.mail_from))
        if "error" in answer:
            return answer
        sent = [self.notifications_rpc.send_invitation(mail)["status"] for mail in answer["result"]]
        log.info("conference_invitations_sent", count=len(sent))
        result = self.conference_get(conference_id, viewer)
        if "result" in result:
            result["result"]["mail_status"] = sent
        return result

    @rpc
    def conference_confirm_time(self, conference_id, viewer, data):
        """Settle on one proposed time, then send the confirmed time and cancel the others."""
        answer = self._wrap(lambda s: conference.confirm_time(s, conference_id, viewer, data))
        if "error" in answer:
            return answer
        return self.conference_invite(conference_id, viewer)

    @rpc
    def conference_record(self, conference_id, viewer, data):
        return self._wrap(lambda s: conference.record(s, conference_id, viewer, data))

    @rpc
    def conference_tasks_sent(self, conference_id, viewer):
        return self._wrap(lambda s: conference.tasks_sent(s, conference_id, viewer))

    # --- events and timers ---

    @event_handler(contracts.WORKFLOW, contracts.REFERRAL_STATE_CHANGED)
    def on_state_changed(self, body):
        consume_once(self, consumer="intake.on_state_changed", body=body,
                     apply=domain.apply_state_change, processed_model=ProcessedMessage)

    @event_handler(contracts.PORTAL, contracts.PERSONAL_DATA_ACCESSED)
    def on_personal_data_accessed(self, body):
        consume_once(self, consumer="intake.on_personal_data_accessed", body=body,
                     apply=privacy.apply_access_event, processed_model=ProcessedMessage)

    @event_handler(contracts.WORKFLOW, contracts.REFERRAL_ANONYMISE)
    def on_referral_anonymise(self, body):
        consume_once(self, consumer="intake.on_referral_anonymise", body=body,
                     apply=domain.anonymise_referral, processed_model=ProcessedMessage)

    # every service confirms its part of an erasure (contracts.ERASURE_CONFIRMERS)
    def _erasure_confirmed(self, source, body):
        consume_once(self, consumer=f"intake.on_erasure_confirmed.{source}", body=body,
                     apply=privacy.apply_erasure_receipt, processed_model=ProcessedMessage)

    @event_handler(contracts.NOTIFICATIONS, contracts.ERASURE_CONFIRMED)
    def on_erasure_confirmed_notifications(self, body):
        self._erasure_confirmed(contracts.NOTIFICATIONS, body)

    @event_handler(contracts.PORTAL, contracts.ERASURE_CONFIRMED)
    def on_erasure_confirmed_portal(self, body):
        self._erasure_confirmed(contracts.PORTAL, body)

    @event_handler(contracts.REPORTING, contracts.ERASURE_CONFIRMED)
    def on_erasure_confirmed_reporting(self, body):
        self._erasure_confirmed(contracts.REPORTING, body)

    @event_handler(contracts.MATCHING, contracts.ERASURE_CONFIRMED)
    def on_erasure_confirmed_matching(self, body):
        self._erasure_confirmed(contracts.MATCHING, body)

    @event_handler(contracts.BRIDGE, contracts.ERASURE_CONFIRMED)
    def on_erasure_confirmed_bridge(self, body):
        self._erasure_confirmed(contracts.BRIDGE, body)

    @timer(interval=2)
    def relay_outbox(self):
        self.outbox.flush()
