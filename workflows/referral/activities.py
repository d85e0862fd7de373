"""Activities of ReferralWorkflow: small, idempotent, synchronous (run in a ThreadPoolExecutor).

They reach the nameko services over RabbitMQ with kombu (netsterk.amqp), never nameko itself.
- rank_offers: RPC `matching.rank_offers`.
- send_email: RPC `notifications.send_email`; idempotency_key = workflow_id + ":" + purpose, so a
  retry or a replay never sends a mail twice. A request that names a `recipient` role gets its
  address from `intake.contact_address` at send time (audited there, purpose "notification");
  none (the school is the reporter, or the data were erased) means no mail.
- publish_state_change: the `referral_workflow.referral_state_changed` event, message_id
  `<workflow_id>:<sequence>`, so consumers dedupe a retried publish.
- publish_workflow_event: any other `referral_workflow.<type>` event (referral_task_updated,
  referral_anonymise) with the deterministic message id the workflow chose.
"""
from __future__ import annotations

from datetime import datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from netsterk.amqp import RemoteError, ThreadConnections
from netsterk.contracts import INTAKE, MATCHING, NOTIFICATIONS, REFERRAL_STATE_CHANGED, WORKFLOW
from netsterk.envelope import make_envelope
from netsterk.logging import get_logger, log_context
from netsterk.settings import get_settings
from netsterk.status_link import status_path
from workflows.referral.shared import EmailRequest, StateChange, WorkflowEvent

log = get_logger(__name__)

# remote exception types that mean "this request is wrong": retrying cannot help
REFUSED_REQUEST_TYPES = frozenset({"ValidationError", "ValueError", "TypeError", "KeyError",
                                   "BadRequest", "InvalidRequest", "UnknownTemplate"})


class ReferralActivities:
    """Bound to one broker and portal address (settings by default; tests pass a test vhost)."""

    def __init__(self, *, amqp_uri: str | None = None, portal_url: str | None = None,
                 coordinator_email: str | None = None, rpc_timeout: float | None = None):
        settings = get_settings()
        self.amqp_uri = amqp_uri or settings.amqp_uri
        self.portal_url = (portal_url or settings.portal_url).rstrip("/")
        self.coordinator_email = coordinator_email or settings.coordinator_email
        self.rpc_timeout = rpc_timeout or settings.rpc_timeout
        self.broker = ThreadConnections(self.amqp_uri, caller="workflow-activities")

    def rpc_call(self, service: str, method: str, *args, **kwargs):
        return self.broker.call(service, method, *args, timeout=self.rpc_timeout, **kwargs)

    def all(self) -> list:
        return [self.rank_offers, self.send_email, self.publish_state_change,
                self.publish_workflow_event, self.describe_offer, self.reserve_place]

    @activity.defn(name="reserve_place")
    def reserve_place(self, request: dict) -> dict:
        """Take one place of the offer in matching before an accept is final (matching's atomic
        update means concurrent accepts never overbook; a retry for the same referral is a no-op).
        An offer the directory does not know (a direct engagement) has no capacity to take."""
        with log_context(network=request.get("network")):
            try:
                result = self.rpc_call(MATCHING, "reserve_place", request["network"],
                                       request["offer_id"], request["referral_id"])
            except RemoteError as exc:
                if exc.exc_type == "NoFreePlace":
                    return {"reserved": False, "reason": exc.value}
                if exc.exc_type == "UnknownOffer":
                    return {"reserved": True, "reason": "offer not in the directory"}
                raise
            return {"reserved": bool(result.get("reserved")), "free_places": result.get("free_places")}

    @activity.defn(name="rank_offers")
    def rank_offers(self, request: dict) -> list[dict]:
        with log_context(network=request.get("network")):
            candidates = self.rpc_call(MATCHING, "rank_offers", request)
            if not isinstance(candidates, list):
                raise ApplicationError("matching.rank_offers did not return a list",
                                       type="BadReply", non_retryable=True)
            log.info("offers ranked", candidates=len(candidates))
            return candidates

    @activity.defn(name="describe_offer")
    def describe_offer(self, request: dict) -> dict | None:
        """Names and contact of an offer (a direct engagement names only ids): from
        `matching.list_offers`; None when the directory does not know it."""
        with log_context(network=request.get("network")):
            offers = self.rpc_call(MATCHING, "list_offers", request["network"]) or []
            wanted = [o for o in offers if o.get("offer_id") == request.get("offer_id")] or \
                     [o for o in offers if o.get("organisation_id") == request.get("organisation_id")]
            if not wanted:
                return None
            offer = wanted[0]
            return {key: offer.get(key) for key in ("offer_id", "offer_name", "organisation_id",
                                                    "organisation_name", "contact_email")}

    @activity.defn(name="send_email")
    def send_email(self, request: EmailRequest) -> dict:
        context = dict(request.context)
        if request.link_field and request.link_path:
            context[request.link_field] = self.portal_url + request.link_path
        if request.template.startswith("reporter_") and request.workflow_id.startswith("referral-"):
            # the reporter follows the referral through a signed status link, without an account
            context["status_url"] = self.portal_url + status_path(request.workflow_id.removeprefix("referral-"))
        if request.to:
            to = request.to
        elif request.recipient:
            to = self.contact_address(request)
            if not to:
                log.info("e-mail without recipient skipped", purpose=request.purpose,
                         recipient=request.recipient)
                return {"status": "no_recipient"}
        else:
            to = self.coordinator_email
        if not to:
            raise ApplicationError(f"no address for e-mail {request.purpose}",
                                   type="InvalidEmailRequest", non_retryable=True)
        body = {"idempotency_key": f"{request.workflow_id}:{request.purpose}", "to": to,
                "template": request.template, "lang": request.lang, "context": context,
                "network": request.network, "referral_ref": request.referral_ref,
                "correlation_id": request.correlation_id}
        with log_context(network=request.network, referral_ref=request.referral_ref,
                         correlation_id=request.correlation_id):
            try:
                result = self.rpc_call(NOTIFICATIONS, "send_email", body)
            except RemoteError as exc:
                if exc.exc_type in REFUSED_REQUEST_TYPES:
                    log.warning("e-mail refused", purpose=request.purpose, template=request.template,
                                exc_type=exc.exc_type)
                    raise ApplicationError(f"notifications refused {request.template}: {exc.value}",
                                           type="InvalidEmailRequest", non_retryable=True) from exc
                raise
            log.info("e-mail handed to notifications", purpose=request.purpose,
                     template=request.template, status=(result or {}).get("status"))
            return result

    def contact_address(self, request: EmailRequest) -> str | None:
        """The address of the request's recipient role, from intake (which audits the read)."""
        referral_id = request.workflow_id.removeprefix("referral-")
        with log_context(network=request.network, referral_ref=request.referral_ref):
            try:
                return self.rpc_call(INTAKE, "contact_address", referral_id, request.recipient,
                                     "notification")
            except RemoteError as exc:
                if exc.exc_type == "LookupError":   # the referral is gone from intake: nobody to mail
                    return None
                if exc.exc_type in REFUSED_REQUEST_TYPES:
                    raise ApplicationError(f"intake refused the recipient {request.recipient}: {exc.value}",
                                           type="InvalidEmailRequest", non_retryable=True) from exc
                raise

    @activity.defn(name="publish_state_change")
    def publish_state_change(self, change: StateChange) -> str:
        envelope = make_envelope(
            REFERRAL_STATE_CHANGED, change.payload, network=change.network,
            referral_ref=change.referral_ref, correlation_id=change.correlation_id,
            message_id=change.message_id, occurred_at=datetime.fromisoformat(change.occurred_at))
        with log_context(network=change.network, referral_ref=change.referral_ref,
                         correlation_id=change.correlation_id):
            self.broker.publish(WORKFLOW, REFERRAL_STATE_CHANGED, envelope)
            log.info("state change published", message_id=change.message_id,
                     from_state=change.payload.get("from_state"), to_state=change.payload.get("to_state"))
        return change.message_id

    @activity.defn(name="publish_workflow_event")
    def publish_workflow_event(self, event: WorkflowEvent) -> str:
        envelope = make_envelope(
            event.event_type, event.payload, network=event.network,
            referral_ref=event.referral_ref, correlation_id=event.correlation_id,
            message_id=event.message_id, occurred_at=datetime.fromisoformat(event.occurred_at))
        with log_context(network=event.network, referral_ref=event.referral_ref,
                         correlation_id=event.correlation_id):
            self.broker.publish(WORKFLOW, event.event_type, envelope)
            log.info("workflow event published", event_type=event.event_type,
                     message_id=event.message_id)
        return event.message_id
