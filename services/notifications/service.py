"""notifications: e-mail out. Stores every e-mail first, sends it over SMTP, retries from a timer."""
from __future__ import annotations

from nameko.dependency_providers import Config
from netsterk.nameko_support import event_handler, rpc  # quorum-capable
from nameko.timer import timer

from netsterk.contracts import INTAKE, REFERRAL_ANONYMISE, REFERRAL_ERASED, WORKFLOW
from netsterk.logging import get_logger, log_context
from netsterk.nameko_support import Database, consume_once, health_report
from netsterk.settings import get_settings
from services.notifications import domain
from services.notifications.models import ProcessedMessage

log = get_logger(__name__)

RETRY_TICK_SECONDS = 5


class NotificationsService:
    name = "notifications"

    db = Database("notifications")
    config = Config()

    def _policy(self) -> domain.RetryPolicy:
        return domain.RetryPolicy(
            base_seconds=float(self.config.get("MAIL_RETRY_SECONDS", 30)),
            max_seconds=float(self.config.get("MAIL_RETRY_MAX_SECONDS", 3600)),
            max_attempts=int(self.config.get("MAIL_MAX_ATTEMPTS", 20)),
        )

    def _attempt(self, mail_id: str) -> str:
        settings = get_settings()
        return domain.attempt(self.db, mail_id, sender=settings.mail_from, host=settings.smtp_host,
                              port=settings.smtp_port, policy=self._policy())

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
        """Erasure on request (issue 10): the same wipe as after retention."""
        consume_once(self, consumer="notifications.on_referral_erased", body=body,
                     apply=domain.anonymise_referral, processed_model=ProcessedMessage)

    @timer(interval=RETRY_TICK_SECONDS)
    def retry_pending(self):
        for mail_id in domain.due_mail_ids(self.db):
            self._attempt(mail_id)
