"""notifications: e-mail out. Stores every e-mail first, sends it over SMTP, retries from a timer.

Also (issue 7): the failed list, bounces intake received, signed links' single use, network
template overrides with preview, the coordinator's daily digest and the partners' weekly
overview (timers that call the same RPCs ops and tests call), and optional signed webhooks."""
from __future__ import annotations

import os
from datetime import datetime

from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy
from netsterk.nameko_support import event_handler, rpc  # quorum-capable
from nameko.timer import timer

from netsterk.contracts import (
    ENGAGEMENT_CHANGED, INTAKE, MATCHING, REFERRAL_ANONYMISE, REFERRAL_ERASED, REFERRAL_STATE_CHANGED,
    REFERRAL_TASK_UPDATED, WORKFLOW,
)
from netsterk.i18n import LANGUAGES
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import Database, consume_once, erase_and_confirm, health_report
from netsterk.coordinators import coordinator_address
from netsterk.settings import get_settings
from services.notifications import digests, domain, invitations, mailer, templates, webhooks
from services.notifications.models import ProcessedMessage, TemplateOverride

log = get_logger(__name__)

RETRY_TICK_SECONDS = 5


def digests_enabled(value) -> bool:
    """Digests run unless switched off (off, false, 0, no)."""
    return str(value).strip().lower() not in ("off", "false", "0", "no")


class NotificationsService:
    name = "notifications"

    db = Database("notifications")
    config = Config()
    matching = RpcProxy(MATCHING)

    def _policy(self) -> domain.RetryPolicy:
        return domain.RetryPolicy(
            base_seconds=float(self.config.get("MAIL_RETRY_SECONDS", 30)),
            max_seconds=float(self.config.get("MAIL_RETRY_MAX_SECONDS", 3600)),
            max_attempts=int(self.config.get("MAIL_MAX_ATTEMPTS", 20)),
        )

    def _attempt(self, mail_id: str) -> str:
        settings = get_settings()
        return domain.attempt(self.db, mail_id, sender=settings.mail_from,
                              host=mailer.Relay.from_settings(settings), policy=self._policy())

    @rpc
    def health(self):
        return health_report(self.name, self.db)

    @rpc
    def send_email(self, request):
        context = request if isinstance(request, dict) else {}
        with log_context(network=context.get("network"), referral_ref=context.get("referral_ref"),
                         correlation_id=context.get("correlation_id")):
            mail_id, created = domain.store(self.db, request)
            if not created:
                log.info("mail_duplicate", mail_id=mail_id)
                return {"status": "duplicate", "mail_id": mail_id}
            status = self._attempt(mail_id)
            return {"status": "sent" if status == "sent" else "queued", "mail_id": mail_id}

    @rpc
    def send_invitation(self, request):
        """An e-mail with an iCalendar invitation (services/notifications/invitations.py)."""
        settings = get_settings()
        return invitations.send_invitation(self.db, request, sender=settings.mail_from,
                                           host=mailer.Relay.from_settings(settings), port=None)

    @rpc
    def mail_status(self, mail_id):
        return domain.mail_status(self.db, mail_id)

    @rpc
    def find_sent_mail(self, message_ids):
        """Which mail of ours a reply answers (In-Reply-To / References ids), or None."""
        return domain.find_sent_mail(self.db, message_ids)

    @event_handler(WORKFLOW, REFERRAL_ANONYMISE)
    def on_referral_anonymise(self, body):
        consume_once(self, consumer="notifications.on_referral_anonymise", body=body,
                     apply=domain.anonymise_referral, processed_model=ProcessedMessage)

    @event_handler(INTAKE, REFERRAL_ERASED)
    def on_referral_erased(self, body):
        """Erasure on request (issue 10): every record of the referral goes; intake gets a receipt."""
        erase_and_confirm(self, consumer="notifications.on_referral_erased", body=body,
                          erase=domain.erase_referral, processed_model=ProcessedMessage)

    @timer(interval=RETRY_TICK_SECONDS)
    def retry_pending(self):
        for mail_id in domain.due_mail_ids(self.db):
            self._attempt(mail_id)

    # --- the failed list (portal shows it) ---------------------------------------------------
    @rpc
    def failed_mails(self, network=None):
        """Mails that were not sent and will not be without someone acting: no address, no body."""
        return domain.failed_mails(self.db, network)

    @rpc
    def retry_mail(self, mail_id, network=None):
        result = domain.retry_failed(self.db, mail_id, network)
        if result and result["status"] == "pending":
            self._attempt(mail_id)
            return domain.mail_status(self.db, mail_id)
        return result

    @rpc
    def failing_addresses(self, network=None):
        return domain.failing_addresses(self.db, network)

    # --- bounces (intake's mail gateway reports them) ----------------------------------------
    @rpc
    def record_bounce(self, report):
        """A bounce of one of our mails: fail it, mark its address failing, tell the coordinator
        (once per bounced mail)."""
        result = domain.record_bounce(self.db, report)
        if result.get("recorded") and result["first"] and result["template"] != "coordinator_bounce":
            settings = get_settings()
            to = coordinator_address(result["network"], settings)
            self.send_email({
                "idempotency_key": f"bounce:{result['mail_id']}", "to": to,
                "template": "coordinator_bounce", "lang": self._language(result["network"], to, "coordinator_bounce"),
                "network": result["network"],
                "referral_ref": result["referral_ref"], "correlation_id": result.get("correlation_id"),
                "context": {"template_name": result["template"], "reason": result["reason"],
                            "failed_url": settings.portal_url + "/notifications/failed"}})
        return result

    # --- signed single-action links ------------------------------------------------------------
    @rpc
    def link_used(self, link_id):
        return domain.link_used(self.db, link_id)

    @rpc
    def use_link(self, link_id, action, referral_id):
        return domain.use_link(self.db, link_id, action, referral_id)

    # --- the language of a staff or partner address's e-mails (network admin) ------------------
    @rpc
    def recipient_languages(self, network):
        return domain.recipient_languages(self.db, network)

    @rpc
    def set_recipient_language(self, network, address, lang, by=""):
        """{problems: []} when saved (lang empty: forgotten), else what is wrong."""
        try:
            return dict(domain.set_recipient_language(self.db, network, address, lang, by), problems=[])
        except ValueError as exc:
            return {"problems": [str(exc)]}

    # --- templates: a network's own wording, with a preview ----------------------------------
    @rpc
    def template_list(self, network):
        with_override = set()
        from netsterk.db import session_scope
        from sqlalchemy import select
        with session_scope(self.db) as session:
            for row in session.scalars(select(TemplateOverride).where(TemplateOverride.network == network)):
                with_override.add((row.template, row.lang))
        return [{"template": name, "lang": lang, "custom": (name, lang) in with_override}
                for name in templates.TEMPLATES for lang in LANGUAGES]

    @rpc
    def template_get(self, network, template, lang):
        if template not in templates.TEMPLATES or lang not in LANGUAGES:
            return None
        override = domain.template_override(self.db, network, template, lang)
        standard = {"subject": templates._text(template, "subject", lang),
                    "body": templates._text(template, "body", lang)}
        return {"template": template, "lang": lang, "custom": override is not None,
                "standard": standard, "current": override or standard,
                "fields": sorted(templates.placeholders(template, "nl"))}

    @rpc
    def template_preview(self, template, lang, subject, body):
        """Render a wording with the sample context: {problems} or {subject, text, html}."""
        problems = templates.check_override(template, subject, body)
        if problems:
            return {"problems": problems}
        override = {"subject": subject, "body": body}
        context = domain.sign_links(dict(templates.SAMPLE_CONTEXT))
        subject_out, text = templates.render(template, lang, context, override)
        return {"problems": [], "subject": subject_out, "text": text,
                "html": templates.render_html(template, lang, context, override)}

    @rpc
    def template_save(self, network, template, lang, subject, body, by=""):
        """Save (or with subject and body None reset) a network's wording; {problems} if refused."""
        from netsterk.db import session_scope, utcnow
        if lang not in LANGUAGES or not network:
            return {"problems": ["unknown language or network"]}
        with session_scope(self.db) as session:
            row = session.get(TemplateOverride, (network, template, lang))
            if subject is None and body is None:
                if row is not None:
                    session.delete(row)
                return {"problems": [], "custom": False}
            problems = templates.check_override(template, subject, body)
            if problems:
                return {"problems": problems}
            if row is None:
                row = TemplateOverride(network=network, template=template, lang=lang)
                session.add(row)
            row.subject, row.body, row.updated_by, row.updated_at = subject, body, str(by)[:64], utcnow()
        return {"problems": [], "custom": True}

    # --- read models for the digests, webhooks -------------------------------------------------
    def _task_and_hook(self, session, envelope):
        digests.apply_task(session, envelope)
        domain.mark_draft_link_used(session, envelope)
        webhooks.enqueue(session, envelope)

    @event_handler(WORKFLOW, REFERRAL_STATE_CHANGED)
    def on_referral_state_changed(self, body):
        consume_once(self, consumer="notifications.on_referral_state_changed", body=body,
                     apply=self._task_and_hook, processed_model=ProcessedMessage)

    @event_handler(WORKFLOW, REFERRAL_TASK_UPDATED)
    def on_referral_task_updated(self, body):
        consume_once(self, consumer="notifications.on_referral_task_updated", body=body,
                     apply=digests.apply_task, processed_model=ProcessedMessage)

    @event_handler(WORKFLOW, ENGAGEMENT_CHANGED)
    def on_engagement_changed(self, body):
        consume_once(self, consumer="notifications.on_engagement_changed", body=body,
                     apply=digests.apply_engagement, processed_model=ProcessedMessage)

    def _language(self, network, to, template):
        return domain.recipient_language(self.db, network, to, template, "nl")

    def _send_quietly(self, request):
        try:
            return self.send_email(request)
        except ValueError as exc:
            log.warning("digest_not_sent", error=str(exc))
            return {"status": "refused"}

    @rpc
    def send_daily_digests(self, now=None):
        """What the daily timer calls: one digest per network with work due today or overdue."""
        settings = get_settings()
        at = datetime.fromisoformat(now) if now else None
        return digests.daily_digests(self.db, self._send_quietly, now=at,
                                     coordinator_address=coordinator_address,
                                     base_url=settings.portal_url, language=self._language)

    @rpc
    def send_weekly_overviews(self, now=None):
        """What the weekly timer calls: one overview per partner organisation with open engagements."""
        at = datetime.fromisoformat(now) if now else None

        def contacts(network):
            offers = self.matching.list_offers(network) or []
            found = {}
            for offer in offers:
                if offer.get("organisation_id") and offer.get("contact_email"):
                    found.setdefault(offer["organisation_id"], offer["contact_email"])
            return found
        return digests.weekly_overviews(self.db, self._send_quietly, contacts, now=at,
                                        language=self._language)

    @timer(interval=60)
    def digest_clock(self):
        """Sends the daily digest after DIGEST_HOUR (Europe/Brussels, default 7) and the weekly
        overview on DIGEST_WEEKDAY (0 = Monday) after that hour; the idempotency keys make a
        second tick the same day send nothing. On by default; NETSTERK_DIGESTS=off (or nameko
        config DIGESTS) turns them off (test stacks whose mail sink holds only what they caused)."""
        if not digests_enabled(self.config.get("DIGESTS", os.environ.get("NETSTERK_DIGESTS", "on"))):
            return
        local = datetime.now(digests.ZONE)
        if local.hour < int(self.config.get("DIGEST_HOUR", os.environ.get("NETSTERK_DIGEST_HOUR", 7))):
            return
        self.send_daily_digests()
        if local.weekday() == int(self.config.get("DIGEST_WEEKDAY", os.environ.get("NETSTERK_DIGEST_WEEKDAY", 0))):
            self.send_weekly_overviews()

    @rpc
    def set_webhook(self, network, url, secret, enabled=True):
        return webhooks.set_webhook(self.db, network, url, secret, enabled)

    @rpc
    def webhook_failures(self, network=None):
        return webhooks.failures(self.db, network)

    @timer(interval=RETRY_TICK_SECONDS)
    def deliver_webhooks(self):
        webhooks.deliver_due(self.db, self._policy())
